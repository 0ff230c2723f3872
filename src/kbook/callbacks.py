"""Schedules and callbacks that Keras 3 lacks: a piecewise-linear learning rate and an evaluator.

- :class:`PiecewiseLinear` — a ``keras.optimizers.schedules.LearningRateSchedule`` through given
  (step, value) points: warm-up, plateaus and decays in one line, as in the post;
- :class:`Evaluator` — a callback that computes, at the end of every epoch, a metric that does
  not fit in Keras's compiled metric step (a scikit-learn score, exact match after beam search,
  corpus BLEU: any function of the model and a whole validation set) and writes it into ``logs``
  so that ``ModelCheckpoint``, ``EarlyStopping`` and ``History`` can use it like any other metric.

Weight averaging is not here: Keras 3 has it (``use_ema=True`` on any optimizer, and the
``keras.callbacks.SwapEMAWeights`` callback); the chapter uses and measures that.

Imports Keras at module level (it defines Keras objects); no TensorFlow import of its own.

See the chapter: notebooks/custom-layers-callbacks.ipynb
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

__all__ = ["Evaluator", "PiecewiseLinear"]


@keras.saving.register_keras_serializable(package="kbook")
class PiecewiseLinear(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that is linear between given (step, value) points and constant outside them.

    ``PiecewiseLinear({0: 0.0, 1000: 1.0, 2000: 0.1}, scale=1e-3)`` warms up from 0 to 1e-3 over
    the first 1,000 steps, then decays to 1e-4 at step 2,000 and stays there. Written as one sum,
    with knots :math:`s_0 < s_1 < \\dots` and values :math:`v_0, v_1, \\dots`,

    .. math:: \\eta(t) = \\text{scale} \\cdot \\Big(v_0 + \\sum_i \\frac{v_{i+1} - v_i}{s_{i+1} - s_i}
              \\operatorname{clip}(t - s_i,\\ 0,\\ s_{i+1} - s_i)\\Big),

    which needs no branching, so it compiles under every backend.

    Args:
        points: a dict ``{step: value}`` or a sequence of ``(step, value)`` pairs; steps are
            integers >= 0, strictly increasing once sorted; values are finite numbers.
        scale: multiplies every value (the post's "multiplier of a base rate"); finite, > 0.
        name: optional name.

    Example:
        >>> schedule = PiecewiseLinear({0: 0.0, 10: 1.0, 20: 0.1}, scale=0.01)
        >>> [round(float(schedule(s)), 5) for s in (0, 5, 10, 15, 20, 100)]
        [0.0, 0.005, 0.01, 0.0055, 0.001, 0.001]

    See the chapter: notebooks/custom-layers-callbacks.ipynb
    """

    def __init__(self, points, scale: float = 1.0, name: str | None = None):
        super().__init__()
        if isinstance(points, dict):
            pairs = list(points.items())
        elif isinstance(points, (list, tuple)):
            pairs = list(points)
        else:
            raise TypeError(f"points must be a dict {{step: value}} or a list of (step, value) pairs, "
                            f"got {type(points).__name__}")
        if not pairs:
            raise ValueError("points must not be empty")
        checked = []
        for pair in pairs:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise TypeError(f"points must hold (step, value) pairs, got {pair!r}")
            step, value = pair
            if isinstance(step, bool) or not isinstance(step, numbers.Integral):
                raise TypeError(f"every step in points must be an integer, got {step!r}")
            if step < 0:
                raise ValueError(f"steps in points must be >= 0, got {step}")
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"every value in points must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"values in points must be finite, got {value}")
            checked.append((int(step), float(value)))
        checked.sort()
        steps = [s for s, _ in checked]
        if len(set(steps)) != len(steps):
            raise ValueError(f"steps in points must be strictly increasing, got a repeated step in {steps}")
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            raise TypeError(f"scale must be a number, got {type(scale).__name__}")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be finite and > 0, got {scale}")
        self.points = checked
        self.scale = float(scale)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        value = ops.convert_to_tensor(self.points[0][1], dtype="float32")
        for (s0, v0), (s1, v1) in zip(self.points[:-1], self.points[1:]):
            slope = (v1 - v0) / (s1 - s0)
            value = value + slope * ops.clip(step - float(s0), 0.0, float(s1 - s0))
        return value * self.scale

    def get_config(self):
        return {"points": [list(p) for p in self.points], "scale": self.scale, "name": self.name}


class Evaluator(keras.callbacks.Callback):
    """At the end of each epoch, compute ``fn(model)`` and write it into ``logs[name]``.

    Put it *before* the callbacks that should see the value: Keras hands every callback the same
    ``logs`` dict in list order (``History`` comes last), so ``ModelCheckpoint(monitor=name)``,
    ``EarlyStopping(monitor=name)`` and ``model.history`` all read it.

    Args:
        fn: ``fn(model) -> float``; it closes over its own validation data and may run any code
            (scikit-learn metrics, decoding, BLEU) on the whole set, outside the compiled step.
        name: the key to write, e.g. ``"val_macro_f1"``.
        mode: ``"max"`` if larger is better, ``"min"`` otherwise (for :attr:`best` and
            ``restore_best_weights``).
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        verbose: 1 prints the value each epoch.

    Attributes:
        values: the value after each epoch. best, best_epoch: the best value and its epoch (0-based).

    Example:
        >>> import numpy as np, keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> ev = Evaluator(lambda m: float(-m.evaluate(np.ones((4, 2)), np.zeros(4), verbose=0)), "val_neg_mse")
        >>> history = model.fit(np.ones((4, 2)), np.zeros(4), epochs=2, verbose=0, callbacks=[ev])
        >>> len(history.history["val_neg_mse"]), ev.best_epoch in (0, 1)
        (2, True)

    See the chapter: notebooks/custom-layers-callbacks.ipynb
    """

    def __init__(self, fn, name: str, *, mode: str = "max", restore_best_weights: bool = False, verbose: int = 0):
        super().__init__()
        if not callable(fn):
            raise TypeError(f"fn must be callable as fn(model) -> float, got {type(fn).__name__}")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"restore_best_weights must be a bool, got {type(restore_best_weights).__name__}")
        self.fn, self.name, self.mode = fn, name, mode
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self.values: list[float] = []
        self.best, self.best_epoch, self._best_weights = None, None, None

    def _better(self, value):
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_train_begin(self, logs=None):
        self.values, self.best, self.best_epoch, self._best_weights = [], None, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = self.fn(self.model)
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
            if hasattr(value, "shape") and np.ndim(value) == 0:
                value = float(np.asarray(value))
            else:
                raise TypeError(f"{self.name}: fn(model) must return a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{self.name}: fn(model) returned {value} at epoch {epoch}")
        self.values.append(value)
        if logs is not None:
            logs[self.name] = value
        if self._better(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self._best_weights = [np.array(w) for w in self.model.get_weights()]
        if self.verbose:
            print(f"epoch {epoch + 1}: {self.name} = {value:.4f}")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_weights is not None:
            self.model.set_weights(self._best_weights)
