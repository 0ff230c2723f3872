"""Tests of kbook.layers.CenterLoss against NumPy formulas (run under TensorFlow and JAX)."""

import keras
import numpy as np
import pytest
from keras import ops

from kbook.layers import CenterLoss


def _np_loss(f, y, c, weight):
    return weight * np.mean(0.5 * np.sum((f - c[y]) ** 2, axis=1))


def _np_alpha_step(c, f, y, alpha):
    c = c.copy()
    for j in range(c.shape[0]):
        idx = y == j
        delta = (idx.sum() * c[j] - f[idx].sum(axis=0)) / (1.0 + idx.sum())
        c[j] = c[j] - alpha * delta
    return c


@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_added_loss_matches_numpy(label_shape):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(7, 3)).astype("float32")
    y = rng.integers(0, 4, size=7)
    c = rng.normal(size=(4, 3)).astype("float32")
    layer = CenterLoss(4, weight=0.3)
    labels = y if label_shape == "flat" else y[:, None]
    layer.build([f.shape, labels.shape])
    layer.centers.assign(c)
    out = layer([f, labels], training=True)
    np.testing.assert_array_equal(ops.convert_to_numpy(out), f)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(ops.convert_to_numpy(layer.losses[0])), _np_loss(f, y, c, 0.3), rtol=1e-5)


def test_no_loss_outside_training():
    layer = CenterLoss(3)
    f = np.ones((2, 2), "float32")
    layer([f, np.array([0, 1])], training=False)
    assert layer.losses == []


def test_alpha_rule_matches_numpy_over_steps():
    rng = np.random.default_rng(1)
    layer = CenterLoss(3, alpha=0.5)
    c = np.zeros((3, 2), "float32")
    layer.build([(8, 2), (8,)])
    assert layer.centers.trainable is False
    for _ in range(4):
        f = rng.normal(size=(8, 2)).astype("float32")
        y = rng.integers(0, 3, size=8)
        layer([f, y], training=True)
        c = _np_alpha_step(c, f, y, 0.5)
        np.testing.assert_allclose(ops.convert_to_numpy(layer.centers), c, rtol=1e-5, atol=1e-6)


def _model(alpha=None, weight=1.0):
    x = keras.Input((4,))
    y = keras.Input((1,), dtype="int32")
    h = keras.layers.Dense(2, name="feat")(x)
    h = CenterLoss(3, weight=weight, alpha=alpha, name="center")([h, y])
    out = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model([x, y], out)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, size=(n, 1))


def test_alpha_rule_inside_fit_matches_numpy():
    """One full-batch step of fit: the centres move by the α rule computed from the step's features."""
    x, y = _data()
    model = _model(alpha=0.5)
    model.compile("sgd", "sparse_categorical_crossentropy")
    feat = keras.Model(model.inputs, model.get_layer("feat").output)
    f0 = ops.convert_to_numpy(feat.predict([x, y], verbose=0))  # features before the step
    model.fit([x, y], y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    expected = _np_alpha_step(np.zeros((3, 2), "float32"), f0, y[:, 0], 0.5)
    np.testing.assert_allclose(ops.convert_to_numpy(model.get_layer("center").centers), expected,
                               rtol=1e-4, atol=1e-5)


def test_gradient_centres_learn_and_loss_in_fit():
    x, y = _data()
    model = _model(alpha=None, weight=1.0)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    before = ops.convert_to_numpy(model.get_layer("center").centers).copy()
    model.fit([x, y], y, batch_size=32, epochs=2, verbose=0)
    after = ops.convert_to_numpy(model.get_layer("center").centers)
    assert not np.allclose(before, after)
    # evaluate's loss (no centre term: not training) is below fit's total on the same weights
    feat = keras.Model(model.inputs, model.get_layer("feat").output)
    f = ops.convert_to_numpy(feat.predict([x, y], verbose=0))
    layer = model.get_layer("center")
    layer([f, y], training=True)
    np.testing.assert_allclose(float(ops.convert_to_numpy(layer.losses[-1])),
                               _np_loss(f, y[:, 0], after, 1.0), rtol=1e-4)


@pytest.mark.parametrize("alpha", [None, 0.3])
def test_save_load_round_trip(tmp_path, alpha):
    x, y = _data()
    model = _model(alpha=alpha, weight=0.7)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit([x, y], y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.get_layer("center")
    assert isinstance(layer, CenterLoss)
    assert (layer.num_classes, layer.weight, layer.alpha) == (3, 0.7, alpha)
    np.testing.assert_allclose(ops.convert_to_numpy(layer.centers),
                               ops.convert_to_numpy(model.get_layer("center").centers))
    np.testing.assert_allclose(loaded.predict([x, y], verbose=0), model.predict([x, y], verbose=0), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"num_classes": 2.0}, TypeError),
        ({"num_classes": True}, TypeError),
        ({"num_classes": 0}, ValueError),
        ({"num_classes": 3, "weight": "1"}, TypeError),
        ({"num_classes": 3, "weight": -1.0}, ValueError),
        ({"num_classes": 3, "weight": float("nan")}, ValueError),
        ({"num_classes": 3, "alpha": 0.0}, ValueError),
        ({"num_classes": 3, "alpha": 1.5}, ValueError),
        ({"num_classes": 3, "alpha": "x"}, TypeError),
    ],
)
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        CenterLoss(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="two inputs"):
        CenterLoss(3)(np.ones((2, 2), "float32"))
    with pytest.raises(ValueError, match="features"):
        CenterLoss(3)([np.ones((2, 2, 2), "float32"), np.array([0, 1])])
