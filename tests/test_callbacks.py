"""kbook.callbacks: PiecewiseLinear against np.interp, inside fit; Evaluator reaching other callbacks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import keras

from kbook.callbacks import Evaluator, PiecewiseLinear


def _interp(points, steps, scale=1.0):
    xs, ys = zip(*sorted(points.items()))
    return scale * np.interp(steps, xs, ys)  # constant outside the knots, like the schedule


@st.composite
def knot_sets(draw):
    n = draw(st.integers(1, 6))
    steps = sorted(draw(st.sets(st.integers(0, 5_000), min_size=n, max_size=n)))
    values = draw(st.lists(st.floats(-2, 2, allow_nan=False), min_size=n, max_size=n))
    return dict(zip(steps, values))


@given(knot_sets(), st.floats(0.01, 10))
@settings(max_examples=40)
def test_piecewise_linear_matches_interp(points, scale):
    schedule = PiecewiseLinear(points, scale=scale)
    steps = np.concatenate([np.linspace(0, 6_000, 97), np.array(sorted(points)) + 0.5, [0.0, 7_000.0]])
    got = np.array([float(keras.ops.convert_to_numpy(schedule(s))) for s in steps])
    np.testing.assert_allclose(got, _interp(points, steps, scale), rtol=2e-5, atol=2e-5 * scale)


def test_pairs_and_dict_are_the_same_schedule():
    a = PiecewiseLinear({0: 0.0, 100: 1.0})
    b = PiecewiseLinear([(100, 1.0), (0, 0.0)])
    assert a.points == b.points


def test_learning_rate_inside_compiled_fit_follows_the_points():
    points = {0: 0.0, 6: 1.0, 12: 0.25}
    schedule = PiecewiseLinear(points, scale=0.1)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    x = np.random.default_rng(0).normal(size=(20 * 4, 3)).astype("float32")
    model.fit(x, x[:, :1], batch_size=4, epochs=1, verbose=0, callbacks=[Record()])
    np.testing.assert_allclose(seen, _interp(points, np.arange(len(seen)), 0.1), atol=1e-6)


def test_schedule_survives_saving(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(PiecewiseLinear({0: 0.0, 10: 1.0}, scale=1e-3)), loss="mse")
    model.fit(np.ones((8, 2)), np.ones(8), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    restored = loaded.optimizer.learning_rate
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, PiecewiseLinear)
    assert schedule.points == [(0, 0.0), (10, 1.0)] and schedule.scale == 1e-3
    steps_done = int(keras.ops.convert_to_numpy(loaded.optimizer.iterations))
    assert steps_done == 1  # one batch of 8: the step counter was saved with the optimizer
    assert float(keras.ops.convert_to_numpy(restored)) == pytest.approx(1e-3 * steps_done / 10, rel=1e-5)


@pytest.mark.parametrize("points, kwargs, error, match", [
    ({}, {}, ValueError, "empty"),
    ("0:1", {}, TypeError, "points"),
    ([(0, 1.0, 2)], {}, TypeError, "pairs"),
    ({0.5: 1.0}, {}, TypeError, "integer"),
    ({-1: 1.0}, {}, ValueError, ">= 0"),
    ({0: float("nan")}, {}, ValueError, "finite"),
    ({0: "1"}, {}, TypeError, "number"),
    ([(3, 1.0), (3, 2.0)], {}, ValueError, "strictly increasing"),
    ({0: 1.0}, {"scale": 0.0}, ValueError, "scale"),
    ({0: 1.0}, {"scale": True}, TypeError, "scale"),
])
def test_piecewise_linear_rejects_bad_arguments(points, kwargs, error, match):
    with pytest.raises(error, match=match):
        PiecewiseLinear(points, **kwargs)


# --------------------------------------------------------------------------- Evaluator


def _tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_evaluator_value_reaches_history_and_checkpoint(tmp_path):
    # A scripted metric: best at the second epoch. The checkpoint must keep that epoch's weights.
    scripted = iter([0.2, 0.9, 0.4, 0.1])
    snapshots = []

    def metric(model):
        snapshots.append([np.array(w) for w in model.get_weights()])
        return next(scripted)

    model = _tiny_model()
    path = tmp_path / "best.weights.h5"
    evaluator = Evaluator(metric, "val_custom")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_custom", mode="max", save_best_only=True,
                                                 save_weights_only=True)
    x = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    history = model.fit(x, x.sum(1), epochs=4, verbose=0, callbacks=[evaluator, checkpoint])
    assert history.history["val_custom"] == [0.2, 0.9, 0.4, 0.1]
    assert evaluator.best == 0.9 and evaluator.best_epoch == 1
    model.load_weights(path)
    for saved, expected in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(saved, expected)


def test_evaluator_restores_best_weights_and_drives_early_stopping():
    scripted = iter([3.0, 1.0, 2.0, 2.5, 2.7, 2.9])
    snapshots = []

    def loss_like(model):
        snapshots.append([np.array(w) for w in model.get_weights()])
        return next(scripted)

    model = _tiny_model()
    evaluator = Evaluator(loss_like, "val_loss_custom", mode="min", restore_best_weights=True)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss_custom", mode="min", patience=2)
    x = np.random.default_rng(2).normal(size=(16, 2)).astype("float32")
    history = model.fit(x, x.sum(1), epochs=6, verbose=0, callbacks=[evaluator, stopper])
    assert len(history.history["loss"]) == 4  # epochs 3 and 4 did not improve on epoch 2
    for now, expected in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(now, expected)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(fn=None, name="x"), TypeError, "fn"),
    (dict(fn=lambda m: 0.0, name=""), TypeError, "name"),
    (dict(fn=lambda m: 0.0, name="x", mode="best"), ValueError, "mode"),
    (dict(fn=lambda m: 0.0, name="x", restore_best_weights=1), TypeError, "restore_best_weights"),
])
def test_evaluator_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Evaluator(**kwargs)


@pytest.mark.parametrize("bad, error", [("high", TypeError), (float("nan"), ValueError)])
def test_evaluator_rejects_bad_values(bad, error):
    model = _tiny_model()
    with pytest.raises(error, match="val_bad"):
        model.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0, callbacks=[Evaluator(lambda m: bad, "val_bad")])
