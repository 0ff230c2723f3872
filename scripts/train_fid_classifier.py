"""Train the small Fashion-MNIST classifier whose features ``kbook.fid`` uses, and save its weights.

    KERAS_BACKEND=tensorflow .venv/bin/python scripts/train_fid_classifier.py

Writes ``src/kbook/results/fid_classifier.npz`` (package data, about 0.4 MB): the weights of the
network below as plain NumPy arrays, plus a JSON string ``meta`` with the training recipe and the
accuracy measured on the 10,000 Fashion-MNIST test images. ``kbook.fid`` runs the network in
NumPy from these arrays (no Keras needed to compute a feature); ``tests/test_fid.py`` checks that
NumPy forward pass against a Keras model built from the same arrays.

The network (inputs 28x28x1 in [-1, 1], the value range of a tanh generator):

    conv 3x3, 16 channels, "same", ReLU -> max-pool 2x2 -> conv 3x3, 32 channels, "same", ReLU
    -> max-pool 2x2 -> flatten (7*7*32 = 1568) -> dense 64, ReLU  (the features)
    -> dropout 0.3 (training only) -> dense 10 (logits)

Recipe: the first 55,000 training images for training, the last 5,000 for validation (the epoch
with the best validation accuracy is kept), Adam (learning rate 1e-3), batch 128, 8 epochs, seed 0
(``keras.utils.set_random_seed``). The test set is used once, at the end, for the stated accuracy.
Runs on CPU in a few minutes; the result depends a little on the backend and the machine (float
reductions), so the accuracy is stored with the weights, not assumed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "kbook" / "results" / "fid_classifier.npz"


def build(keras):
    """The classifier as a Keras model; layer names match the keys of the saved arrays."""
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(64, activation="relu", name="dense1")(x)
    x = keras.layers.Dropout(0.3)(features)
    logits = keras.layers.Dense(10, name="dense2")(x)
    return keras.Model(inputs, logits)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO / "src"))
    import kbook.config
    import kbook.data

    kbook.config.quiet()
    import keras

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = kbook.data.fashion_mnist()
    scale = lambda images: (images.astype("float32") / 127.5 - 1.0)[..., None]  # noqa: E731  [0, 255] -> [-1, 1]
    x_fit, y_fit = scale(x_train[:55_000]), y_train[:55_000].astype("int64")
    x_val, y_val = scale(x_train[55_000:]), y_train[55_000:].astype("int64")

    model = build(keras)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    best = keras.callbacks.ModelCheckpoint(
        str(Path(os.environ.get("TMPDIR", "/tmp")) / f"fid_classifier_best_{os.getpid()}.weights.h5"),
        monitor="val_accuracy", save_best_only=True, save_weights_only=True,
    )
    start = time.perf_counter()
    history = model.fit(x_fit, y_fit, validation_data=(x_val, y_val), epochs=args.epochs, batch_size=128,
                        callbacks=[best], verbose=2)
    seconds = time.perf_counter() - start
    model.load_weights(best.filepath)
    os.remove(best.filepath)

    logits = model.predict(scale(x_test), batch_size=1000, verbose=0)
    test_accuracy = float(np.mean(np.argmax(logits, axis=1) == y_test))
    val_accuracy = float(max(history.history["val_accuracy"]))
    print(f"validation accuracy (best epoch) {val_accuracy:.4f}, test accuracy {test_accuracy:.4f}")

    arrays = {}
    for name in ("conv1", "conv2", "dense1", "dense2"):
        kernel, bias = (keras.ops.convert_to_numpy(w).astype("float32") for w in model.get_layer(name).weights)
        arrays[f"{name}_kernel"], arrays[f"{name}_bias"] = kernel, bias
    meta = {
        "test_accuracy": test_accuracy,
        "n_test": int(len(y_test)),
        "val_accuracy": val_accuracy,
        "best_epoch": int(np.argmax(history.history["val_accuracy"]) + 1),
        "epochs": args.epochs,
        "seed": args.seed,
        "input_range": [-1.0, 1.0],
        "feature_layer": "dense1",
        "train_seconds": round(seconds, 1),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "script": "scripts/train_fid_classifier.py",
        "weights_sha256": hashlib.sha256(b"".join(a.tobytes() for a in arrays.values())).hexdigest(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} kB): {json.dumps(meta)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
