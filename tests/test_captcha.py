"""Captcha generation (kbook.data) and the captcha reader (kbook.captcha)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras

from kbook.captcha import CaptchaStream, captcha_accuracy, captcha_model, char_accuracy, decode
from kbook.data import CAPTCHA_ALPHANUMERIC, CAPTCHA_DIGITS, captcha_seed, captchas, render_captcha

pytest.importorskip("captcha")


# --------------------------------------------------------------------------- generation


def test_same_seed_same_captchas_and_different_seeds_differ():
    a_images, a_labels = captchas(6, seed=3, width=100, height=40)
    b_images, b_labels = captchas(6, seed=3, width=100, height=40)
    c_images, c_labels = captchas(6, seed=4, width=100, height=40)
    np.testing.assert_array_equal(a_images, b_images)
    np.testing.assert_array_equal(a_labels, b_labels)
    assert not np.array_equal(a_labels, c_labels)
    assert not np.array_equal(a_images, c_images)


def test_each_image_is_its_label_rendered_with_its_seed():
    images, labels = captchas(5, length=5, alphabet=CAPTCHA_ALPHANUMERIC, seed=11)
    for i, row in enumerate(labels):
        text = "".join(CAPTCHA_ALPHANUMERIC[k] for k in row)
        np.testing.assert_array_equal(images[i], render_captcha(text, seed=captcha_seed(11, i)))
        other = "".join(CAPTCHA_ALPHANUMERIC[(k + 1) % 36] for k in row)
        assert not np.array_equal(images[i], render_captcha(other, seed=captcha_seed(11, i)))


def test_generation_leaves_the_secrets_module_alone():
    import captcha.image
    import secrets

    captchas(2, seed=0)
    assert captcha.image.secrets is secrets


def test_labels_are_uniform_over_the_alphabet():
    _, labels = captchas(400, length=4, alphabet="abcd", width=64, height=32, seed=5)
    counts = np.bincount(labels.ravel(), minlength=4)
    # 1,600 draws, expected 400 each: a chi-square with 3 degrees of freedom below 16.3 (p = 0.001)
    assert ((counts - 400) ** 2 / 400).sum() < 16.3


def test_image_contents_look_like_text_on_a_light_background():
    images, _ = captchas(3, seed=2)
    assert images.dtype == np.uint8 and images.shape == (3, 60, 160, 3)
    assert np.median(images) > 180  # light background
    assert (images.min(axis=(1, 2, 3)) < 150).all()  # dark strokes


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), ValueError, "n must"),
    (dict(n=2.0), TypeError, "n must"),
    (dict(n=True), TypeError, "n must"),
    (dict(n=2, length=0), ValueError, "length"),
    (dict(n=2, alphabet=""), ValueError, "alphabet"),
    (dict(n=2, alphabet="aab"), ValueError, "repeat"),
    (dict(n=2, alphabet=["a", "b"]), TypeError, "alphabet"),
    (dict(n=2, seed=-1), ValueError, "seed"),
    (dict(n=2, width=4), ValueError, "width"),
])
def test_bad_generation_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        captchas(**kwargs)


def test_render_rejects_bad_text():
    with pytest.raises(ValueError, match="empty"):
        render_captcha("", seed=0)
    with pytest.raises(TypeError, match="text"):
        render_captcha(1234, seed=0)


# --------------------------------------------------------------------------- decoding and metrics


@given(st.lists(st.text(alphabet=CAPTCHA_DIGITS, min_size=4, max_size=4), min_size=1, max_size=8))
def test_decode_round_trips_one_hot_probabilities(texts):
    indices = np.array([[CAPTCHA_DIGITS.index(ch) for ch in t] for t in texts])
    probabilities = np.eye(10)[indices] * 0.9 + 0.01
    assert decode(probabilities, CAPTCHA_DIGITS) == texts


@given(st.integers(1, 6), st.integers(2, 7), st.integers(1, 20), st.integers(0, 10_000))
@settings(max_examples=25)
def test_metrics_match_numpy(length, classes, batch, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, classes, size=(batch, length))
    y_pred = rng.dirichlet(np.ones(classes), size=(batch, length)).astype("float32")
    hits = y_pred.argmax(-1) == y_true
    np.testing.assert_allclose(keras.ops.convert_to_numpy(char_accuracy(y_true, y_pred)), hits.mean(-1), atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(captcha_accuracy(y_true, y_pred)), hits.all(-1))


def test_decode_rejects_mismatched_alphabet():
    with pytest.raises(ValueError, match="alphabet has 3"):
        decode(np.ones((1, 4, 10)), "abc")
    with pytest.raises(ValueError, match="batch, length"):
        decode(np.ones((4, 10)), CAPTCHA_DIGITS)


# --------------------------------------------------------------------------- the model


def test_model_shapes_and_one_head_per_position():
    model = captcha_model(5, 36, input_shape=(40, 100, 3), width=8, blocks=2)
    assert model.output_shape == (None, 5, 36)
    heads = [layer for layer in model.layers if layer.name.startswith("char_") and layer.name[5:].isdigit()]
    assert len(heads) == 5
    out = keras.ops.convert_to_numpy(model(np.zeros((3, 40, 100, 3), "uint8")))
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_a_short_training_run_lowers_the_loss_and_survives_saving(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = captchas(64, length=2, alphabet="0123", width=64, height=32, seed=1)
    model = captcha_model(2, 4, input_shape=(32, 64, 3), width=8, blocks=1, dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=[char_accuracy, captcha_accuracy])
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "captcha.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.predict(x[:4], verbose=0)),
                               keras.ops.convert_to_numpy(model.predict(x[:4], verbose=0)), atol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(length=0, n_classes=10), ValueError, "length"),
    (dict(length=4, n_classes=1), ValueError, "n_classes"),
    (dict(length=4, n_classes=10, backbone="resnet"), ValueError, "backbone"),
    (dict(length=4, n_classes=10, input_shape=(60, 160)), ValueError, "input_shape"),
    (dict(length=4, n_classes=10, dropout=1.0), ValueError, "dropout"),
    (dict(length="4", n_classes=10), TypeError, "length"),
])
def test_bad_model_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        captcha_model(**kwargs)


def test_stream_gives_fresh_reproducible_batches():
    stream = CaptchaStream(batch_size=4, steps=2, width=64, height=32, seed=9)
    x0, y0 = stream[0]
    x1, y1 = stream[1]
    assert x0.shape == (4, 32, 64, 3) and y0.shape == (4, 4)
    assert not np.array_equal(y0, y1)
    again = CaptchaStream(batch_size=4, steps=2, width=64, height=32, seed=9)
    np.testing.assert_array_equal(again[0][0], x0)
    stream.on_epoch_end()
    assert not np.array_equal(stream[0][1], y0)  # a new epoch draws new captchas
    with pytest.raises(IndexError):
        stream[2]
