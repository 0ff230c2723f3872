"""Keras 3 optimizer wrappers: Lookahead, a lazy (sparse-row) optimizer, learning-rate multipliers
and per-variable gradient transforms.

See the chapters: ``notebooks/lookahead-lazy.ipynb``, ``notebooks/layerwise-lr.ipynb`` and
``notebooks/custom-optimizers.ipynb`` (Part III).

Heavy imports: this module imports ``keras`` (and so the configured backend, TensorFlow or JAX)
when it is imported. It touches TensorFlow itself only when Keras already runs on TensorFlow
(to densify ``IndexedSlices`` gradients).

Every class here wraps another ``keras.optimizers.Optimizer`` (SGD, Adam, AdamW, another wrapper,
...) in the way Keras's own ``LossScaleOptimizer`` does:

* the inner optimizer is built on the same variables and its ``apply`` runs unchanged inside the
  wrapper's ``apply``;
* ``variables`` is the wrapper's own variables followed by the inner optimizer's, and every piece
  of state (slow weights included) is such a variable. So the JAX trainer, which calls
  ``stateless_apply`` with a list of values instead of variables, sees all of it, and
  ``model.save`` / ``keras.models.load_model`` restore it: resumed training continues the same
  trajectory;
* ``learning_rate``, ``iterations``, ``scale_loss`` and ``finalize_variable_values`` are the inner
  optimizer's, so learning-rate schedules, callbacks and loss scaling keep working.

Wrappers compose: ``Lookahead(LRMultiplier(keras.optimizers.Adam(), {...}))`` is fine.
"""

from __future__ import annotations

import math
import numbers
import re

import keras
from keras import ops

__all__ = ["Lookahead", "LazyOptimizer", "LRMultiplier", "GradientTransform", "ScratchAdam", "softmax_regression_gradients", "transform_gradient"]


# --------------------------------------------------------------------------- argument checks


def _check_optimizer(optimizer, argument="optimizer"):
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{argument} must be a keras.optimizers.Optimizer instance (e.g. keras.optimizers.Adam()), "
            f"got {type(optimizer).__name__}"
        )
    if optimizer.built:
        raise ValueError(
            f"{argument} is already built (it has been used on some variables); wrap a fresh "
            "optimizer, e.g. Lookahead(keras.optimizers.Adam())"
        )
    return optimizer


def _check_real(value, argument, low=None, high=None, low_open=False, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{argument} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = "(" if low_open else "["
        raise ValueError(f"{argument} must be in {bound}{low}, {high if high is not None else 'inf'}), got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{argument} must be at most {high}{' (excluded)' if high_open else ''}, got {value}")
    return value


def _compile_patterns(mapping, argument):
    """``{regex: value}`` → list of ``(pattern string, compiled regex, value)`` in the dict's order."""
    if not isinstance(mapping, dict):
        raise TypeError(f"{argument} must be a dict mapping regular expressions to values, got {type(mapping).__name__}")
    compiled = []
    for pattern, value in mapping.items():
        if not isinstance(pattern, str):
            raise TypeError(f"{argument}: keys must be strings (regular expressions), got {pattern!r}")
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{argument}: {pattern!r} is not a valid regular expression ({error})") from None
        compiled.append((pattern, regex, value))
    return compiled


def _first_match(compiled, path):
    """Index of the first pattern that ``re.search``-es ``path``, or None."""
    for index, (_, regex, _) in enumerate(compiled):
        if regex.search(path):
            return index
    return None


def _path(variable):
    return getattr(variable, "path", None) or str(variable.name)


# --------------------------------------------------------------------------- the wrapper base


class _Wrapper(keras.optimizers.Optimizer):
    """Shared machinery: own variables + the inner optimizer's, delegation, the apply protocol.

    Subclasses implement ``_build_own(var_list)`` (create own variables with ``add_variable*``)
    and ``_wrapped_apply(grads, variables)``, which must call ``self.inner_optimizer.apply`` once
    and may only use ``keras.ops`` and ``Variable.assign`` (no Python branching on tensor values:
    the same code runs traced under ``tf.function``, ``jax.jit`` and the JAX trainer's
    ``StatelessScope``).
    """

    def __init__(self, optimizer, name=None, **kwargs):
        # Base-optimizer options (clipnorm, weight_decay, ...) belong on the inner optimizer.
        if kwargs:
            raise ValueError(
                f"{type(self).__name__} does not take {sorted(kwargs)}: set such options on the inner optimizer"
            )
        _check_optimizer(optimizer)
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer

    # -- building
    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        self._build_own(var_list)
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    def _build_own(self, var_list):
        pass

    @property
    def variables(self):
        return self._variables[:] + list(self.inner_optimizer.variables)

    # -- delegation
    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    # -- applying
    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{type(self).__name__}.apply was given no variables and is not built yet: pass "
                    "trainable_variables or call build(variables) first"
                )
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                with keras.name_scope(self.name, caller=self):
                    self.build(trainable_variables)
            self._check_variables_are_known(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(
                f"grads and trainable_variables must have the same length, got {len(grads)} and "
                f"{len(trainable_variables)}"
            )
        self._wrapped_apply(grads, trainable_variables)
        self._iterations.assign_add(1)

    def _wrapped_apply(self, grads, variables):
        raise NotImplementedError

    # -- serialization
    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(config.pop("optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)


def _snapshot(variable):
    """The variable's current value as a tensor (not a live reference to the variable).

    Under TensorFlow ``ops.convert_to_tensor`` hands back the resource variable itself, which
    would read the *new* value after an assignment; ``ops.copy`` (``tf.identity``) reads it now.
    Under JAX a value is immutable, so no copy is made.
    """
    if keras.backend.backend() == "tensorflow":
        return ops.copy(variable)
    return ops.convert_to_tensor(variable)


def _dense(gradient):
    """A gradient as a dense tensor (TensorFlow gives embedding gradients as ``IndexedSlices``)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # already imported by Keras under this backend

        if isinstance(gradient, tf.IndexedSlices):
            return tf.convert_to_tensor(gradient)
    return ops.convert_to_tensor(gradient)


# --------------------------------------------------------------------------- Lookahead


@keras.saving.register_keras_serializable(package="kbook")
class Lookahead(_Wrapper):
    """Lookahead (Zhang et al., 2019) around any Keras optimizer: k steps forward, one step back.

    The slow weights start equal to the model's weights when the optimizer is built. The inner
    optimizer moves the model's ("fast") weights as usual; after every ``sync_period`` updates of
    the inner optimizer, ``slow ← slow + slow_step_size · (fast − slow)`` and then ``fast ← slow``.
    (With inner ``gradient_accumulation_steps`` an "update" is one real step of the inner
    optimizer, not one call.)

    Args:
        optimizer: the inner ``keras.optimizers.Optimizer`` (not yet built).
        sync_period: k ≥ 1, inner updates between synchronisations.
        slow_step_size: α in (0, 1]. ``sync_period=1, slow_step_size=1`` is the inner optimizer.
        name: optional name.

    State: one slow copy per trainable variable (shape of the variable).

    Example:
        >>> import numpy as np
        >>> w = keras.Variable(np.zeros(2, "float32"))
        >>> opt = Lookahead(keras.optimizers.SGD(1.0), sync_period=2, slow_step_size=0.5)
        >>> for _ in range(2):
        ...     _ = opt.apply_gradients([(np.array([1.0, -1.0], "float32"), w)])
        >>> keras.ops.convert_to_numpy(w)  # two SGD steps reach (-2, 2); halfway back from there
        array([-1.,  1.], dtype=float32)
    """

    def __init__(self, optimizer, sync_period=5, slow_step_size=0.5, name=None, **kwargs):
        if isinstance(sync_period, bool) or not isinstance(sync_period, numbers.Integral):
            raise TypeError(f"sync_period must be an integer >= 1, got {type(sync_period).__name__}")
        if sync_period < 1:
            raise ValueError(f"sync_period must be an integer >= 1, got {sync_period}")
        slow_step_size = _check_real(slow_step_size, "slow_step_size", 0.0, 1.0, low_open=True)
        super().__init__(optimizer, name=name, **kwargs)
        self.sync_period = int(sync_period)
        self.slow_step_size = slow_step_size

    def _build_own(self, var_list):
        self._slow_weights = []
        for variable in var_list:
            slow = self.add_variable_from_reference(variable, name="slow")
            # A real copy: under JAX an assigned array would share its buffer with the model's
            # weight, and the JAX trainer donates both buffers to the compiled step.
            slow.assign(ops.copy(variable))
            self._slow_weights.append(slow)

    @property
    def slow_weights(self):
        """The slow weights, in the order of the variables the optimizer was built with."""
        return list(self._slow_weights)

    def _wrapped_apply(self, grads, variables):
        before = _snapshot(self.inner_optimizer.iterations)
        self.inner_optimizer.apply(grads, variables)
        after = _snapshot(self.inner_optimizer.iterations)
        sync = ops.logical_and(ops.not_equal(after, before), ops.equal(ops.mod(after, self.sync_period), 0))
        slows = [self._slow_weights[self._get_variable_index(v)] for v in variables]

        def synchronise():
            new = []
            for fast, slow in zip(variables, slows):
                slow_value = _snapshot(slow)
                alpha = ops.cast(self.slow_step_size, slow_value.dtype)
                new.append(slow_value + alpha * (_snapshot(fast) - slow_value))
            return new, new

        def keep():
            return [_snapshot(s) for s in slows], [_snapshot(v) for v in variables]

        new_slows, new_fasts = ops.cond(sync, synchronise, keep)
        for slow, value in zip(slows, new_slows):
            slow.assign(value)
        for fast, value in zip(variables, new_fasts):
            fast.assign(value)

    def get_config(self):
        config = super().get_config()
        config.update(sync_period=self.sync_period, slow_step_size=self.slow_step_size)
        return config


# --------------------------------------------------------------------------- lazy optimizer


@keras.saving.register_keras_serializable(package="kbook")
class LazyOptimizer(_Wrapper):
    """Rows whose gradient is entirely zero are not moved (Su's LazyOptimizer, 2019).

    The inner optimizer computes its update for every variable as usual; afterwards, for every
    *lazy* variable, each row (slice ``[i, ...]`` along axis 0; each element of a 1-D variable)
    whose gradient is zero everywhere is put back to its value before the step. Rows that did get
    gradient move exactly as under the inner optimizer; other variables are updated as usual.

    With ``freeze_moments=False`` (the post's semantics) the inner optimizer's state (Adam's
    moments) still sees the zero gradients of absent rows, so their moments decay. With
    ``freeze_moments=True`` the inner optimizer's per-variable state of absent rows is restored
    too, which is the semantics of ``torch.optim.SparseAdam`` and TF-Addons ``LazyAdam`` (moments of
    absent rows frozen, bias correction with the global step). The state of a variable is found by
    the names Keras gives it (``add_variable_from_reference``), which all built-in optimizers use.

    Args:
        optimizer: the inner ``keras.optimizers.Optimizer`` (not built, no
            ``gradient_accumulation_steps``: the row mask would have to see the accumulated sum).
        pattern: a regular expression searched in ``variable.path``; only matching variables are
            lazy. ``None`` (default): every variable.
        freeze_moments: also restore absent rows of the inner optimizer's state (see above).
        name: optional name.

    Example:
        >>> import numpy as np
        >>> table = keras.Variable(np.ones((3, 2), "float32"))
        >>> opt = LazyOptimizer(keras.optimizers.Adam(0.1))
        >>> grad = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], "float32")  # only row 0 is used
        >>> _ = opt.apply_gradients([(grad, table)])
        >>> keras.ops.convert_to_numpy(table).round(3)
        array([[0.9, 0.9],
               [1. , 1. ],
               [1. , 1. ]], dtype=float32)
    """

    def __init__(self, optimizer, pattern=None, freeze_moments=False, name=None, **kwargs):
        if pattern is not None:
            if not isinstance(pattern, str):
                raise TypeError(f"pattern must be a regular expression string or None, got {type(pattern).__name__}")
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression ({error})") from None
        if not isinstance(freeze_moments, bool):
            raise TypeError(f"freeze_moments must be True or False, got {type(freeze_moments).__name__}")
        super().__init__(optimizer, name=name, **kwargs)
        if optimizer.gradient_accumulation_steps:
            raise ValueError(
                "optimizer has gradient_accumulation_steps set; LazyOptimizer masks rows by the "
                "gradient of each call and cannot see the accumulated sum: accumulate outside or "
                "use a plain inner optimizer"
            )
        self.pattern = pattern
        self.freeze_moments = freeze_moments

    def _is_lazy(self, variable):
        return self.pattern is None or re.search(self.pattern, _path(variable)) is not None

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # The inner optimizer's state of each lazy variable: same shape, name prefixed by the
        # variable's path (Keras's add_variable_from_reference naming).
        self._lazy_state = {}
        inner_state = [v for v in self.inner_optimizer.variables if len(v.shape) > 0]
        for variable in self._trainable_variables:
            if not self._is_lazy(variable):
                continue
            prefix = _path(variable).replace("/", "_") + "_"
            self._lazy_state[self._var_key(variable)] = [
                s for s in inner_state if s.name.startswith(prefix) and tuple(s.shape) == tuple(variable.shape)
            ]

    @staticmethod
    def _row_mask(gradient, ndim):
        """Boolean tensor broadcastable to the variable: True on rows with any nonzero gradient."""
        nonzero = ops.not_equal(gradient, 0)
        if ndim <= 1:
            return nonzero
        touched = ops.any(nonzero, axis=tuple(range(1, ndim)))
        return ops.reshape(touched, (-1,) + (1,) * (ndim - 1))

    def _wrapped_apply(self, grads, variables):
        lazy = [i for i, (g, v) in enumerate(zip(grads, variables)) if g is not None and self._is_lazy(v)]
        saved = {}
        for i in lazy:
            state = self._lazy_state.get(self._var_key(variables[i]), []) if self.freeze_moments else []
            saved[i] = [(variables[i], _snapshot(variables[i]))] + [(s, _snapshot(s)) for s in state]
        self.inner_optimizer.apply(grads, variables)
        for i in lazy:
            variable = variables[i]
            gradient = _dense(grads[i])
            mask = self._row_mask(gradient, len(variable.shape))
            for target, old in saved[i]:
                target.assign(ops.where(mask, _snapshot(target), old))

    def get_config(self):
        config = super().get_config()
        config.update(pattern=self.pattern, freeze_moments=self.freeze_moments)
        return config


# --------------------------------------------------------------------------- LR multipliers


@keras.saving.register_keras_serializable(package="kbook")
class LRMultiplier(_Wrapper):
    """Per-variable learning-rate multipliers: the step of a matched variable is scaled by a factor.

    ``multipliers`` maps regular expressions (searched in ``variable.path``, in the dict's order,
    first match wins) to factors ≥ 0. The wrapper lets the inner optimizer take its step and then
    sets ``w ← w_old + factor · (w_new − w_old)``: the step taken is exactly the factor times the
    inner optimizer's step (for SGD and Adam, the same as multiplying the learning rate). Factor 0
    freezes a variable (its inner state, e.g. Adam's moments, still sees the gradients); factor 1
    and unmatched variables are left exactly as the inner optimizer made them.

    Args:
        optimizer: the inner ``keras.optimizers.Optimizer`` (not yet built).
        multipliers: ``{regex: factor}``.
        strict: if True, building raises ValueError when a pattern matches no variable (typos in
            layer names otherwise pass silently).
        name: optional name.

    Example:
        >>> import numpy as np
        >>> w = keras.Variable(np.zeros(2, "float32"), name="w")
        >>> b = keras.Variable(np.zeros(2, "float32"), name="b")
        >>> opt = LRMultiplier(keras.optimizers.SGD(0.1), {"^b$": 0.5})
        >>> g = np.ones(2, "float32")
        >>> _ = opt.apply_gradients([(g, w), (g, b)])
        >>> [keras.ops.convert_to_numpy(v).tolist() for v in (w, b)]
        [[-0.10000000149011612, -0.10000000149011612], [-0.05000000074505806, -0.05000000074505806]]
    """

    def __init__(self, optimizer, multipliers, strict=False, name=None, **kwargs):
        compiled = _compile_patterns(multipliers, "multipliers")
        checked = {}
        for pattern, _, factor in compiled:
            checked[pattern] = _check_real(factor, f"multipliers[{pattern!r}]", 0.0)
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {type(strict).__name__}")
        super().__init__(optimizer, name=name, **kwargs)
        self.multipliers = checked
        self.strict = strict
        self._compiled = compiled

    def factor_for(self, variable):
        """The factor applied to ``variable`` (1.0 if no pattern matches its path)."""
        index = _first_match(self._compiled, _path(variable))
        return 1.0 if index is None else self.multipliers[self._compiled[index][0]]

    def _build_own(self, var_list):
        if self.strict:
            used = {_first_match(self._compiled, _path(v)) for v in var_list}
            unused = [p for i, (p, _, _) in enumerate(self._compiled) if i not in used]
            if unused:
                paths = [_path(v) for v in var_list]
                raise ValueError(
                    f"multipliers: pattern(s) {unused} match no variable (strict=True); variable paths are {paths}"
                )

    def _wrapped_apply(self, grads, variables):
        scaled = []
        for g, v in zip(grads, variables):
            factor = self.factor_for(v)
            if g is not None and factor != 1.0:
                scaled.append((v, factor, _snapshot(v)))
        self.inner_optimizer.apply(grads, variables)
        for variable, factor, old in scaled:
            if factor == 0.0:
                variable.assign(old)
            else:
                f = ops.cast(factor, old.dtype)
                variable.assign(old + f * (_snapshot(variable) - old))

    def get_config(self):
        config = super().get_config()
        config.update(multipliers=dict(self.multipliers), strict=self.strict)
        return config


# --------------------------------------------------------------------------- gradient transforms

_TRANSFORMS = {"scale": 1, "clip_value": 1, "clip_norm": 1, "stop": 0}


def _check_transform(spec, argument):
    if isinstance(spec, str):
        spec = (spec,)
    if not isinstance(spec, (tuple, list)) or not spec or not isinstance(spec[0], str):
        raise TypeError(
            f"{argument} must be a transform like ('scale', 0.1), ('clip_value', 1.0), ('clip_norm', 1.0) "
            f"or 'stop', got {spec!r}"
        )
    kind = spec[0]
    if kind not in _TRANSFORMS:
        raise ValueError(f"{argument}: unknown transform {kind!r}; expected one of {sorted(_TRANSFORMS)}")
    if len(spec) - 1 != _TRANSFORMS[kind]:
        raise ValueError(f"{argument}: {kind!r} takes {_TRANSFORMS[kind]} argument(s), got {len(spec) - 1}")
    if kind == "scale":
        return (kind, _check_real(spec[1], f"{argument} scale factor"))
    if kind in ("clip_value", "clip_norm"):
        return (kind, _check_real(spec[1], f"{argument} {kind} threshold", 0.0, low_open=True))
    return (kind,)


def transform_gradient(gradient, spec):
    """Apply one transform to one gradient tensor (any shape; returns the same shape).

    ``("scale", c)``: ``c·g``; ``("clip_value", c)``: each element clipped to [−c, c];
    ``("clip_norm", c)``: ``g·min(1, c/‖g‖)`` with this variable's own L2 norm; ``("stop",)``: zeros.

    Example:
        >>> import numpy as np
        >>> keras.ops.convert_to_numpy(transform_gradient(np.array([3.0, 4.0], "float32"), ("clip_norm", 1.0)))
        array([0.6, 0.8], dtype=float32)
    """
    spec = _check_transform(spec, "spec")
    g = _dense(gradient)
    kind = spec[0]
    if kind == "stop":
        return ops.zeros_like(g)
    c = ops.cast(spec[1], g.dtype)
    if kind == "scale":
        return g * c
    if kind == "clip_value":
        return ops.clip(g, -c, c)
    norm = ops.sqrt(ops.sum(ops.square(g)))
    return g * ops.minimum(ops.cast(1.0, g.dtype), c / ops.maximum(norm, ops.cast(1e-30, g.dtype)))


@keras.saving.register_keras_serializable(package="kbook")
class GradientTransform(_Wrapper):
    """Per-variable gradient transforms before the inner optimizer sees the gradients.

    ``transforms`` maps regular expressions (searched in ``variable.path``, first match wins) to
    one of ``("scale", c)``, ``("clip_value", c)``, ``("clip_norm", c)`` (this variable's own
    norm) or ``"stop"`` (gradient replaced by zeros). Unmatched variables get their gradient
    unchanged. Note that ``"stop"`` is not freezing: an optimizer with momentum keeps moving a
    variable whose gradient is zero; use ``LRMultiplier(..., {pattern: 0.0})`` to freeze.

    Args:
        optimizer: the inner ``keras.optimizers.Optimizer`` (not yet built).
        transforms: ``{regex: transform}``.
        strict: if True, building raises ValueError when a pattern matches no variable.
        name: optional name.

    Example:
        >>> import numpy as np
        >>> w = keras.Variable(np.zeros(2, "float32"), name="w")
        >>> opt = GradientTransform(keras.optimizers.SGD(1.0), {"w": ("clip_value", 0.5)})
        >>> _ = opt.apply_gradients([(np.array([2.0, -0.25], "float32"), w)])
        >>> keras.ops.convert_to_numpy(w)
        array([-0.5 ,  0.25], dtype=float32)
    """

    def __init__(self, optimizer, transforms, strict=False, name=None, **kwargs):
        compiled = _compile_patterns(transforms, "transforms")
        checked = {p: _check_transform(spec, f"transforms[{p!r}]") for p, _, spec in compiled}
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {type(strict).__name__}")
        super().__init__(optimizer, name=name, **kwargs)
        self.transforms = checked
        self.strict = strict
        self._compiled = compiled

    def transform_for(self, variable):
        """The transform applied to ``variable``'s gradient, or None."""
        index = _first_match(self._compiled, _path(variable))
        return None if index is None else self.transforms[self._compiled[index][0]]

    def _build_own(self, var_list):
        if self.strict:
            used = {_first_match(self._compiled, _path(v)) for v in var_list}
            unused = [p for i, (p, _, _) in enumerate(self._compiled) if i not in used]
            if unused:
                raise ValueError(
                    f"transforms: pattern(s) {unused} match no variable (strict=True); variable paths are "
                    f"{[_path(v) for v in var_list]}"
                )

    def _wrapped_apply(self, grads, variables):
        new_grads = []
        for g, v in zip(grads, variables):
            spec = self.transform_for(v)
            new_grads.append(g if g is None or spec is None else transform_gradient(g, spec))
        self.inner_optimizer.apply(new_grads, variables)

    def get_config(self):
        config = super().get_config()
        config.update(transforms={p: list(spec) for p, spec in self.transforms.items()}, strict=self.strict)
        return config


# --------------------------------------------------------------------------- an optimizer from scratch


@keras.saving.register_keras_serializable(package="kbook")
class ScratchAdam(keras.optimizers.Optimizer):
    """Adam written from scratch as a Keras 3 optimizer: ``build`` creates the state, ``update_step``
    updates one variable (the custom-optimizers chapter's worked example).

    With bias-corrected moments ``m̂ = m/(1−β1^t)``, ``v̂ = v/(1−β2^t)`` the step is

    * ``epsilon_placement="keras"`` (default): ``lr · m̂ / (sqrt(v̂) + ε/sqrt(1−β2^t))``, which is
      algebraically Keras's ``lr·sqrt(1−β2^t)/(1−β1^t) · m/(sqrt(v)+ε)``;
    * ``epsilon_placement="paper"``: ``lr · m̂ / (sqrt(v̂) + ε)``, the form of Kingma & Ba and of
      PyTorch.

    The two differ only while ``sqrt(v̂)`` is not large next to ε.

    Args:
        learning_rate: float or schedule, as for any Keras optimizer.
        beta_1, beta_2: moment decay rates in [0, 1).
        epsilon: > 0.
        epsilon_placement: ``"keras"`` or ``"paper"``.
        **kwargs: the base optimizer's options (``clipnorm``, ``gradient_accumulation_steps``, ...).

    Example:
        >>> import numpy as np
        >>> w = keras.Variable(np.array([1.0], "float32"))
        >>> _ = ScratchAdam(0.1).apply_gradients([(np.array([5.0], "float32"), w)])
        >>> keras.ops.convert_to_numpy(w).round(4)  # Adam's first step is lr · sign(g)
        array([0.9], dtype=float32)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 epsilon_placement="keras", name="scratch_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = _check_real(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = _check_real(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = _check_real(epsilon, "epsilon", 0.0, low_open=True)
        if epsilon_placement not in ("keras", "paper"):
            raise ValueError(f"epsilon_placement must be 'keras' or 'paper', got {epsilon_placement!r}")
        self.epsilon_placement = epsilon_placement

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._m = self.add_optimizer_variables(variables, "m")
        self._v = self.add_optimizer_variables(variables, "v")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = ops.cast(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        b1, b2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._m[index], self._v[index]
        self.assign(m, b1 * m + (1 - b1) * g)
        self.assign(v, b2 * v + (1 - b2) * ops.square(g))
        correction_2 = 1 - ops.power(b2, t)
        m_hat = m / (1 - ops.power(b1, t))
        v_hat = v / correction_2
        eps = ops.cast(self.epsilon, dtype)
        if self.epsilon_placement == "keras":
            eps = eps / ops.sqrt(correction_2)
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + eps))

    def get_config(self):
        config = super().get_config()
        config.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                      epsilon_placement=self.epsilon_placement)
        return config


def softmax_regression_gradients(x, labels, kernel, bias):
    """Hand-written gradients of the mean softmax cross-entropy of ``x @ kernel + bias``.

    With ``p = softmax(x W + b)`` and one-hot targets ``Y``, the loss ``−mean log p[label]`` has
    ``∂L/∂logits = (p − Y)/n``, hence ``∂L/∂W = xᵀ(p − Y)/n`` and ``∂L/∂b = Σ_rows (p − Y)/n``:
    no autodiff needed (the custom-optimizers chapter times this against autodiff).

    Args:
        x: (n, d) float. labels: (n,) int in [0, k). kernel: (d, k). bias: (k,).

    Returns:
        ``(d_kernel (d, k), d_bias (k,))`` as backend tensors (``keras.ops``).

    Example:
        >>> import numpy as np
        >>> dk, db = softmax_regression_gradients(np.ones((2, 1), "float32"), np.array([0, 1]),
        ...                                       np.zeros((1, 2), "float32"), np.zeros(2, "float32"))
        >>> keras.ops.convert_to_numpy(db)  # p = (1/2, 1/2) for both rows; targets cancel on average
        array([0., 0.], dtype=float32)
    """
    x = ops.convert_to_tensor(x)
    logits = ops.matmul(x, kernel) + bias
    n = ops.cast(ops.shape(x)[0], logits.dtype)
    delta = (ops.softmax(logits, axis=-1) - ops.one_hot(labels, ops.shape(kernel)[-1], dtype=logits.dtype)) / n
    return ops.matmul(ops.transpose(x), delta), ops.sum(delta, axis=0)
