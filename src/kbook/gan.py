"""GANs in Keras 3: the gradient penalty done right, WGAN-GP, and a GAN trained with one loss.

See the chapters: ``notebooks/wgan-gp.ipynb`` and ``notebooks/single-loss-gan.ipynb`` (Part V).

- :func:`gradient_penalty` is the WGAN-GP penalty of Gulrajani et al. (2017): the batch mean of
  ``(||grad_x critic(x_hat)||_2 - 1)**2`` at points ``x_hat`` on the segments between real and
  generated samples, with one interpolation coefficient per sample and a small ``epsilon`` inside
  the square root (so that a vanishing gradient gives a finite penalty *and* a finite gradient).
- :class:`WGANGP` is a ``keras.Model`` whose ``train_step`` runs ``critic_steps`` critic updates
  and one generator update per batch, with the critic loss, generator loss, Wasserstein estimate
  and penalty on the progress line.
- :func:`one_loss` and :class:`GAN` implement the "one loss, one update" construction of Su
  (2019): ``stop_gradient`` arranges that a single scalar has the discriminator's gradient with
  respect to the discriminator and the generator's gradient with respect to the generator.

Backends: the loss functions (:func:`discriminator_loss`, :func:`generator_loss`,
:func:`one_loss`) use ``keras.ops`` only. :func:`gradient_norms` / :func:`gradient_penalty` need a
gradient with respect to the *input*, which Keras 3 has no backend-neutral call for: they use
``tf.GradientTape`` under TensorFlow and ``jax.grad`` under JAX (other backends raise ValueError).
The ``train_step`` of :class:`WGANGP` and :class:`GAN` is written for the TensorFlow backend
(``tf.GradientTape``); under another backend, ``fit`` raises a ValueError that says so.

Imports: Keras (and so the active backend) at module level, because :class:`WGANGP` and
:class:`GAN` subclass ``keras.Model``; TensorFlow or JAX themselves when a gradient is taken.
Importing the module registers both classes with Keras (``kbook>WGANGP``, ``kbook>GAN``).
"""

from __future__ import annotations

import numbers
import os

import keras
import numpy as np
from keras import ops

__all__ = [
    "interpolate",
    "gradient_norms",
    "gradient_penalty",
    "discriminator_loss",
    "generator_loss",
    "one_loss",
    "WGANGP",
    "GAN",
    "MODES",
]

MODES = ("alternating", "simultaneous", "one_loss")
"""The training procedures of :class:`GAN`: discriminator step then generator step (the second
sees the updated discriminator); two gradients at the same point applied by two optimizers; and
one loss, one gradient, one optimizer (:func:`one_loss`)."""


# --------------------------------------------------------------------------- input checks


def _check_real(name, value, *, low=None, high=None, low_open=False, integer=False):
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise TypeError(f"{name} must be {'an int' if integer else 'a real number'}, got {type(value).__name__}")
    if not np.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def _as_float_tensor(name, value):
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a float array or tensor, got {type(value).__name__}")
    if isinstance(value, (list, tuple, np.ndarray, numbers.Number)):
        array = np.asarray(value)
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise TypeError(f"{name} must be numeric, got an array of dtype {array.dtype}")
        if np.issubdtype(array.dtype, np.complexfloating):
            raise TypeError(f"{name} must be real, got dtype {array.dtype}")
        value = array.astype("float32") if not np.issubdtype(array.dtype, np.floating) else array
    tensor = ops.convert_to_tensor(value)
    if "float" not in str(tensor.dtype):
        tensor = ops.cast(tensor, "float32")
    return tensor


def _batch_shape_check(real, fake):
    real_shape, fake_shape = tuple(real.shape), tuple(fake.shape)
    if len(real_shape) < 2:
        raise ValueError(f"real must have shape (batch, ...) with at least one feature axis, got {real_shape}")
    if len(fake_shape) != len(real_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(real_shape, fake_shape)
    ):
        raise ValueError(f"real and fake must have the same shape, got {real_shape} and {fake_shape}")


# --------------------------------------------------------------------------- the gradient penalty


def _input_gradient(critic, x):
    """d sum(critic(x)) / dx, shape of ``x``, differentiable again (for the critic's update)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(critic(x))
        return tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return jax.grad(lambda v: jnp.sum(critic(v)))(x)
    raise ValueError(f"gradient_penalty supports the TensorFlow and JAX backends, not {backend!r}")


def gradient_norms(critic, x, epsilon=1e-12):
    """Per-sample norm of the critic's input gradient, ``sqrt(sum(g**2) + epsilon)``.

    The sum runs over every axis but the batch axis, so an image batch ``(batch, h, w, c)`` gets
    one norm per image. ``epsilon`` is what keeps the square root differentiable at a zero
    gradient: ``d sqrt(u) / du = 1 / (2 sqrt(u))`` is infinite at ``u = 0``, and the chain rule
    then multiplies infinity by zero. With ``epsilon = 0`` this function returns the plain norm.

    Args:
        critic: a callable (a Keras model or a function of ``keras.ops``) mapping ``(batch, ...)``
            to ``(batch,)`` or ``(batch, 1)`` scores, each sample's score depending only on that
            sample (no batch normalisation).
        x: ``(batch, ...)`` float inputs.
        epsilon: a small non-negative number added under the square root.

    Returns:
        ``(batch,)`` tensor of the active backend.

    Example:
        >>> w = np.array([3.0, 4.0], dtype="float32")
        >>> linear = lambda x: ops.sum(x * w, axis=1)  # gradient w everywhere, norm 5
        >>> ops.convert_to_numpy(gradient_norms(linear, np.zeros((2, 2)), epsilon=0.0)).tolist()
        [5.0, 5.0]
    """
    if not callable(critic):
        raise TypeError(f"critic must be callable, got {type(critic).__name__}")
    _check_real("epsilon", epsilon, low=0.0)
    x = _as_float_tensor("x", x)
    if len(x.shape) < 2:
        raise ValueError(f"x must have shape (batch, ...) with at least one feature axis, got {tuple(x.shape)}")
    grad = _input_gradient(critic, x)
    squares = ops.sum(ops.reshape(ops.square(grad), (ops.shape(grad)[0], -1)), axis=1)
    return ops.sqrt(squares + epsilon)


def interpolate(real, fake, alpha=None, seed=None, *, per_sample=True):
    """The points where WGAN-GP evaluates the gradient: ``alpha * real + (1 - alpha) * fake``.

    Args:
        real, fake: ``(batch, ...)`` float tensors or arrays of the same shape.
        alpha: optional ``(batch,)`` coefficients in [0, 1]; None draws them from U(0, 1).
        seed: for the draw: an int, a ``keras.random.SeedGenerator`` (what a training step
            should pass, so that each step draws new values), or None (Keras's global generator).
        per_sample: True draws one ``alpha`` per sample (the paper); False one for the whole
            batch (keras-io's example).

    Returns:
        ``(x_hat, alpha)``: ``x_hat`` shaped like ``real``, ``alpha`` of shape ``(batch,)``.

    Example:
        >>> x_hat, alpha = interpolate(np.ones((2, 3)), np.zeros((2, 3)), alpha=[0.25, 1.0])
        >>> ops.convert_to_numpy(x_hat)[:, 0].tolist()
        [0.25, 1.0]
    """
    if not isinstance(per_sample, bool):
        raise TypeError(f"per_sample must be a bool, got {type(per_sample).__name__}")
    real = _as_float_tensor("real", real)
    fake = ops.cast(_as_float_tensor("fake", fake), real.dtype)
    _batch_shape_check(real, fake)
    batch = ops.shape(real)[0]
    if alpha is None:
        if per_sample:
            alpha = keras.random.uniform((batch,), dtype=real.dtype, seed=seed)
        else:
            alpha = keras.random.uniform((1,), dtype=real.dtype, seed=seed) * ops.ones((batch,), real.dtype)
    else:
        if isinstance(alpha, (list, tuple, np.ndarray, numbers.Number)):
            values = np.asarray(alpha, dtype=float)
            if values.ndim != 1 or (real.shape[0] is not None and values.shape[0] != real.shape[0]):
                raise ValueError(f"alpha must have shape (batch,) = ({real.shape[0]},), got {values.shape}")
            if not np.all((values >= 0) & (values <= 1)):
                raise ValueError("alpha must lie in [0, 1]")
        alpha = ops.cast(_as_float_tensor("alpha", alpha), real.dtype)
        if len(alpha.shape) != 1:
            raise ValueError(f"alpha must have shape (batch,), got {tuple(alpha.shape)}")
    weights = ops.reshape(alpha, (-1,) + (1,) * (len(real.shape) - 1))
    return weights * real + (1.0 - weights) * fake, alpha


def gradient_penalty(critic, real, fake, alpha=None, seed=None, *, epsilon=1e-12, per_sample=True):
    """WGAN-GP's penalty: the batch mean of ``(||grad critic(x_hat)|| - 1)**2``.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one ``alpha`` per sample drawn from
    U(0, 1) (Gulrajani et al. 2017, Algorithm 1), unless ``alpha`` is given
    (:func:`interpolate`). The norm is taken over all non-batch axes, with ``epsilon`` inside the
    square root (:func:`gradient_norms`), so a sample whose input gradient vanishes contributes
    ``(sqrt(epsilon) - 1)**2`` and a zero gradient, not NaN.

    ``critic`` is called as ``critic(x_hat)``, so a Keras model runs with its default
    ``training`` flag. If the critic behaves differently in training (dropout, noise layers),
    pass ``lambda x: critic(x, training=True)`` during training, as :class:`WGANGP` does.

    Args:
        critic: callable ``(batch, ...) -> (batch,)`` or ``(batch, 1)`` (see :func:`gradient_norms`).
        real, fake: ``(batch, ...)`` float tensors or arrays of the same shape.
        alpha: optional ``(batch,)`` coefficients in [0, 1]; None draws them.
        seed: for the draw (see :func:`interpolate`); an int gives the same ``alpha`` as
            ``interpolate`` with that int.
        epsilon: added under the square root; 0 reproduces the unprotected norm.
        per_sample: True draws one alpha per sample; False draws a single alpha for the whole
            batch, a slip seen in circulating implementations (kept to measure the difference).

    Returns:
        A scalar tensor of the active backend, differentiable with respect to the critic's
        weights (a gradient of a gradient).

    Raises:
        TypeError: ``critic`` is not callable, an input is not numeric.
        ValueError: shapes differ or have no feature axis, ``alpha`` has the wrong shape or values
            outside [0, 1], ``epsilon`` is negative, or the backend is neither TensorFlow nor JAX.

    Example:
        >>> w = np.array([3.0, 4.0], dtype="float32")
        >>> linear = lambda x: ops.sum(x * w, axis=1)
        >>> real, fake = np.ones((4, 2), "float32"), np.zeros((4, 2), "float32")
        >>> round(float(gradient_penalty(linear, real, fake, seed=0)), 4)  # (||w|| - 1)**2
        16.0
    """
    if not callable(critic):
        raise TypeError(f"critic must be callable, got {type(critic).__name__}")
    _check_real("epsilon", epsilon, low=0.0)
    x_hat, _ = interpolate(real, fake, alpha, seed, per_sample=per_sample)
    norms = gradient_norms(critic, x_hat, epsilon=epsilon)
    return ops.mean(ops.square(norms - 1.0))


# --------------------------------------------------------------------------- the standard GAN losses


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's cross-entropy from logits: ``mean softplus(-real) + mean softplus(fake)``.

    ``softplus(-l) = -log sigmoid(l)``, so this is ``-E log D(x) - E log(1 - D(G(z)))`` computed
    without ever forming a probability (finite at any logit).

    Args:
        real_logits, fake_logits: ``(batch,)`` or ``(batch, 1)`` discriminator logits.

    Returns:
        A scalar tensor.

    Example:
        >>> round(float(discriminator_loss(np.zeros(3), np.zeros(3))), 4)  # 2 log 2
        1.3863
    """
    real_logits = _as_float_tensor("real_logits", real_logits)
    fake_logits = _as_float_tensor("fake_logits", fake_logits)
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def generator_loss(fake_logits):
    """The non-saturating generator loss from logits: ``mean softplus(-fake) = -E log D(G(z))``.

    Example:
        >>> round(float(generator_loss(np.zeros(2))), 4)  # log 2
        0.6931
    """
    return ops.mean(ops.softplus(-_as_float_tensor("fake_logits", fake_logits)))


def one_loss(discriminator, real, fake):
    """One scalar whose gradient trains both players of a GAN at once (Su 2019).

    With ``f = G(z)`` and ``sg`` = ``stop_gradient``,

        ``loss = L_D(D(real), D(sg(f))) + L_G(D(f)) - L_G(D(sg(f)))``.

    The last two terms have the same value and the same gradient with respect to the
    discriminator's weights, so they cancel there: the discriminator's gradient is that of
    ``L_D`` alone. The generator's weights reach the loss only through ``f`` in ``L_G(D(f))``: its
    gradient is that of ``L_G`` alone. The value equals ``L_D``. The three batches go through the
    discriminator in one call.

    Args:
        discriminator: callable ``(n, ...) -> (n,)`` or ``(n, 1)`` logits; samples independent.
        real: ``(batch, ...)`` real samples.
        fake: ``(batch, ...)`` generator output, still connected to the generator (not detached).

    Returns:
        ``(loss, d_loss, g_loss)``: the scalar to differentiate, and the two players' losses
        (for logging).

    Example:
        >>> d = lambda x: ops.sum(x, axis=1)
        >>> loss, d_loss, g_loss = one_loss(d, np.zeros((2, 3)), np.zeros((2, 3)))
        >>> round(float(loss), 4), round(float(d_loss), 4), round(float(g_loss), 4)
        (1.3863, 1.3863, 0.6931)
    """
    if not callable(discriminator):
        raise TypeError(f"discriminator must be callable, got {type(discriminator).__name__}")
    real = _as_float_tensor("real", real)
    fake = ops.cast(_as_float_tensor("fake", fake), real.dtype)
    _batch_shape_check(real, fake)
    batch = ops.shape(real)[0]
    detached = ops.stop_gradient(fake)
    logits = ops.reshape(discriminator(ops.concatenate([real, detached, fake], axis=0)), (-1,))
    real_logits, detached_logits, fake_logits = logits[:batch], logits[batch : 2 * batch], logits[2 * batch :]
    d_loss = discriminator_loss(real_logits, detached_logits)
    g_loss = generator_loss(fake_logits)
    loss = d_loss + g_loss - generator_loss(detached_logits)
    return loss, d_loss, g_loss


# --------------------------------------------------------------------------- the Keras models


def _require_tensorflow(who):
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            f"{who}.train_step is written for the TensorFlow backend (tf.GradientTape); the Keras "
            f"backend is {backend!r}. Set KERAS_BACKEND=tensorflow, or use gradient_penalty / "
            "one_loss in your own JAX training step."
        )
    import tensorflow as tf

    return tf


def _check_model(name, model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"{name} must be a keras.Model, got {type(model).__name__}")
    return model


def _real_batch(data):
    """``fit`` may pass ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, w)``: the images are ``x``."""
    if isinstance(data, (tuple, list)):
        data = data[0]
    return data


class _TwoPlayerModel(keras.Model):
    """Shared plumbing: the two sub-models, the noise generator, config and saving of the parts."""

    _second = "critic"  # the name of the second player in the constructor and the config
    _optimizers = ()  # the compile arguments that are optimizers (saved with the config)

    def __init__(self, generator, critic, latent_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = _check_model("generator", generator)
        self.critic = _check_model(self._second, critic)
        self.latent_dim = int(_check_real("latent_dim", latent_dim, low=1, integer=True))
        if seed is not None:
            _check_real("seed", seed, low=0, integer=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # both parts arrive built; the wrapper has no weights of its own

    def call(self, z, training=False):
        """Generate: ``(batch, latent_dim)`` noise -> generator output."""
        return self.generator(z, training=training)

    def build(self, input_shape=None):
        # both parts arrive built (their weights exist); nothing of our own to create
        self.built = True

    def noise(self, batch):
        """``(batch, latent_dim)`` standard normal noise from the model's own seed generator."""
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def sample(self, n, seed=0):
        """``n`` generated samples as NumPy, from a fixed noise draw (``seed``), inference mode."""
        _check_real("n", n, low=1, integer=True)
        z = np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)).astype("float32")
        return ops.convert_to_numpy(self.generator(z, training=False))

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            latent_dim=self.latent_dim,
            seed=self.seed,
        )
        config[self._second] = keras.saving.serialize_keras_object(self.critic)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("generator", cls._second):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {name: keras.saving.serialize_keras_object(getattr(self, name, None)) for name in self._optimizers
                if getattr(self, name, None) is not None}

    def compile_from_config(self, config):
        self.compile(**{name: keras.saving.deserialize_keras_object(value) for name, value in config.items()})

    def save_parts(self, directory):
        """Save the two parts as ``generator.keras`` and ``critic.keras`` in ``directory``.

        Returns the two paths. Load them with ``keras.models.load_model`` (and rebuild the
        training wrapper around them with the class's constructor).
        """
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be a path, got {type(directory).__name__}")
        os.makedirs(directory, exist_ok=True)
        paths = (os.path.join(directory, "generator.keras"), os.path.join(directory, "critic.keras"))
        self.generator.save(paths[0])
        self.critic.save(paths[1])
        return paths

    @classmethod
    def load_parts(cls, directory, latent_dim, **kwargs):
        """Rebuild the model from the parts written by :meth:`save_parts` (not compiled)."""
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be a path, got {type(directory).__name__}")
        generator = keras.models.load_model(os.path.join(directory, "generator.keras"))
        critic = keras.models.load_model(os.path.join(directory, "critic.keras"))
        return cls(generator, critic, latent_dim, **kwargs)


def _optimizer(name, value):
    if value is None:
        return None
    optimizer = keras.optimizers.get(value)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"{name} must be a Keras optimizer or its name, got {type(value).__name__}")
    return optimizer


@keras.saving.register_keras_serializable(package="kbook")
class WGANGP(_TwoPlayerModel):
    """WGAN-GP as a ``keras.Model``: ``fit`` on real samples trains critic and generator.

    Each ``train_step`` splits the incoming batch of real samples into ``critic_steps`` slices of
    ``m = batch // critic_steps`` samples and runs one critic update on each (fresh real samples
    per critic update, as in Gulrajani et al.'s Algorithm 1), then one generator update with
    ``m`` noise vectors. So ``fit``'s ``batch_size`` must be ``critic_steps * m`` for the critic
    batch size ``m`` you want (the ``batch % critic_steps`` leftover rows go unused);
    ``fit`` raises ValueError for ``batch_size < critic_steps``. (Only a final partial batch
    smaller than ``critic_steps`` has its slices wrap around.) The critic minimises
    ``mean D(fake) - mean D(real) + gp_weight * GP``, the generator ``-mean D(G(z))``.

    Args:
        generator: a ``keras.Model`` mapping ``(batch, latent_dim)`` noise to samples.
        critic: a ``keras.Model`` mapping samples to ``(batch, 1)`` or ``(batch,)`` scores (no
            batch normalisation: the penalty is per sample; layer normalisation is fine).
        latent_dim: the noise dimension.
        critic_steps: critic updates per generator update (5 in the paper).
        gp_weight: the penalty weight lambda (10 in the paper).
        per_sample_alpha: one interpolation coefficient per sample (True, the paper) or one per
            batch (False, a circulating slip; kept to measure it).
        epsilon: under the square root of the gradient norm; 0 is the unprotected norm.
        seed: seeds the model's noise and alpha draws.

    Metrics (on the progress line and in ``History``): ``critic_loss``, ``generator_loss``,
    ``wasserstein`` (``mean D(real) - mean D(fake)`` of the last critic step, before the update)
    and ``penalty`` (the unweighted GP), averaged over the epoch.

    Compile with ``compile(d_optimizer=..., g_optimizer=...)``. ``train_step`` needs the TensorFlow
    backend. ``model.save`` / ``keras.models.load_model`` round-trip the configuration and both
    parts' weights; :meth:`save_parts` writes the two parts separately.

    Example:
        >>> g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        >>> c = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model = WGANGP(g, c, latent_dim=2, critic_steps=2, seed=0)
        >>> model.sample(4).shape
        (4, 3)
    """

    def __init__(self, generator, critic, latent_dim, critic_steps=5, gp_weight=10.0, *,
                 per_sample_alpha=True, epsilon=1e-12, seed=None, **kwargs):
        super().__init__(generator, critic, latent_dim, seed=seed, **kwargs)
        self.critic_steps = int(_check_real("critic_steps", critic_steps, low=1, integer=True))
        self.gp_weight = float(_check_real("gp_weight", gp_weight, low=0.0))
        if not isinstance(per_sample_alpha, bool):
            raise TypeError(f"per_sample_alpha must be a bool, got {type(per_sample_alpha).__name__}")
        self.per_sample_alpha = per_sample_alpha
        self.epsilon = float(_check_real("epsilon", epsilon, low=0.0))
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        self.penalty_tracker = keras.metrics.Mean(name="penalty")

    _optimizers = ("d_optimizer", "g_optimizer")

    def compile(self, d_optimizer="adam", g_optimizer="adam", **kwargs):
        """Set the critic's and the generator's optimizers (Keras optimizers or names)."""
        super().compile(**kwargs)
        self.d_optimizer = _optimizer("d_optimizer", d_optimizer)
        self.g_optimizer = _optimizer("g_optimizer", g_optimizer)
        # built now, so that a saved model's optimizer state has slots to load into
        self.d_optimizer.build(self.critic.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.critic_loss_tracker, self.generator_loss_tracker, self.wasserstein_tracker,
                self.penalty_tracker]

    def critic_loss(self, real, fake):
        """``(loss, wasserstein, penalty)`` for one critic update on ``real`` and ``fake``."""
        real_scores = ops.reshape(self.critic(real, training=True), (-1,))
        fake_scores = ops.reshape(self.critic(fake, training=True), (-1,))
        wasserstein = ops.mean(real_scores) - ops.mean(fake_scores)
        penalty = gradient_penalty(
            lambda x: self.critic(x, training=True), real, fake, seed=self.seed_generator,
            epsilon=self.epsilon, per_sample=self.per_sample_alpha,
        )
        return -wasserstein + self.gp_weight * penalty, wasserstein, penalty

    def fit(self, x=None, y=None, batch_size=None, **kwargs):
        """``keras.Model.fit``; ``batch_size`` is ``critic_steps * m`` (see the class docstring)."""
        if batch_size is not None and int(batch_size) < self.critic_steps:
            raise ValueError(
                f"batch_size must be at least critic_steps = {self.critic_steps} (each train_step splits "
                f"the batch into critic_steps slices of m = batch_size // critic_steps real samples), "
                f"got {batch_size}")
        return super().fit(x, y, batch_size=batch_size, **kwargs)

    def train_step(self, *args):
        tf = _require_tensorflow("WGANGP")  # (JAX would call train_step(state, data))
        (data,) = args
        real = ops.convert_to_tensor(_real_batch(data))
        batch = ops.shape(real)[0]
        m = ops.maximum(batch // self.critic_steps, 1)
        for step in range(self.critic_steps):
            rows = (ops.arange(m) + step * m) % batch
            real_slice = ops.take(real, rows, axis=0)
            fake = ops.stop_gradient(self.generator(self.noise(m), training=True))
            with tf.GradientTape() as tape:
                loss, wasserstein, penalty = self.critic_loss(real_slice, fake)
            grads = tape.gradient(loss, self.critic.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.critic.trainable_weights))
        z = self.noise(m)
        with tf.GradientTape() as tape:
            g_loss = -ops.mean(self.critic(self.generator(z, training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.critic_loss_tracker.update_state(loss)
        self.generator_loss_tracker.update_state(g_loss)
        self.wasserstein_tracker.update_state(wasserstein)
        self.penalty_tracker.update_state(penalty)
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(critic_steps=self.critic_steps, gp_weight=self.gp_weight,
                      per_sample_alpha=self.per_sample_alpha, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="kbook")
class GAN(_TwoPlayerModel):
    """A standard (non-saturating, cross-entropy) GAN trained in one of three ways (:data:`MODES`).

    - ``"alternating"``: a discriminator update on ``L_D``, then a generator update on ``L_G``
      computed with the *updated* discriminator (the usual procedure; two optimizers).
    - ``"simultaneous"``: both gradients taken at the same parameters, each applied by its own
      optimizer.
    - ``"one_loss"``: one gradient of :func:`one_loss` and one optimizer update over all weights.

    With plain SGD at one learning rate, ``"one_loss"`` and ``"simultaneous"`` give the same
    update up to float error; ``"alternating"`` differs in the generator's update by a term of
    order ``learning_rate**2`` (its generator gradient is taken after the discriminator moved).

    Args:
        generator, discriminator: ``keras.Model``s (noise -> samples, samples -> logits); the
            discriminator's samples must be independent (no batch normalisation), since the three
            batches of :func:`one_loss` share one call.
        latent_dim: the noise dimension.
        mode: one of :data:`MODES`.
        seed: seeds the noise draws.

    ``fit`` accepts real samples ``x``, or ``(x, z)`` pairs of real samples and the noise to use
    (so that two models can be given exactly the same batch). Compile with
    ``compile(optimizer=...)`` for ``"one_loss"`` and ``compile(d_optimizer=..., g_optimizer=...)``
    for the others. Metrics: ``d_loss``, ``g_loss`` (each player's loss when its gradient was
    taken: for ``"alternating"``, ``g_loss`` is measured after the discriminator's update). ``train_step`` needs the TensorFlow backend.

    Example:
        >>> g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        >>> d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> GAN(g, d, latent_dim=2, mode="one_loss").mode
        'one_loss'
    """

    _second = "discriminator"
    _optimizers = ("optimizer", "d_optimizer", "g_optimizer")

    def __init__(self, generator, discriminator, latent_dim, mode="one_loss", *, seed=None, **kwargs):
        super().__init__(generator, discriminator, latent_dim, seed=seed, **kwargs)
        if not isinstance(mode, str):
            raise TypeError(f"mode must be a str, one of {MODES}, got {type(mode).__name__}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def discriminator(self):
        return self.critic

    def compile(self, optimizer=None, d_optimizer=None, g_optimizer=None, **kwargs):
        """``optimizer`` for ``"one_loss"``; ``d_optimizer`` and ``g_optimizer`` for the others."""
        if self.mode == "one_loss":
            if optimizer is None or d_optimizer is not None or g_optimizer is not None:
                raise ValueError("mode 'one_loss' trains with one optimizer: compile(optimizer=...) only")
        elif optimizer is not None or d_optimizer is None or g_optimizer is None:
            raise ValueError(f"mode {self.mode!r} needs compile(d_optimizer=..., g_optimizer=...)")
        super().compile(optimizer=_optimizer("optimizer", optimizer) or "sgd", **kwargs)
        self.d_optimizer = _optimizer("d_optimizer", d_optimizer)
        self.g_optimizer = _optimizer("g_optimizer", g_optimizer)
        if self.mode == "one_loss":
            self.optimizer.build(self.critic.trainable_variables + self.generator.trainable_variables)
        else:
            self.d_optimizer.build(self.critic.trainable_variables)
            self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _batch(self, data):
        if isinstance(data, (tuple, list)) and len(data) >= 2 and data[1] is not None:
            real, z = ops.convert_to_tensor(data[0]), ops.convert_to_tensor(data[1])
        else:
            real = ops.convert_to_tensor(_real_batch(data))
            z = self.noise(ops.shape(real)[0])
        return real, z

    def _d_loss(self, real, z):
        fake = ops.stop_gradient(self.generator(z, training=True))
        logits = ops.reshape(self.critic(ops.concatenate([real, fake], axis=0), training=True), (-1,))
        batch = ops.shape(real)[0]
        return discriminator_loss(logits[:batch], logits[batch:])

    def _g_loss(self, z):
        return generator_loss(ops.reshape(self.critic(self.generator(z, training=True), training=True), (-1,)))

    def train_step(self, *args):
        tf = _require_tensorflow("GAN")  # (JAX would call train_step(state, data))
        (data,) = args
        real, z = self._batch(data)
        d_vars, g_vars = self.critic.trainable_weights, self.generator.trainable_weights
        if self.mode == "one_loss":
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                loss, d_loss, g_loss = one_loss(lambda x: self.critic(x, training=True), real, fake)
            variables = d_vars + g_vars
            grads = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
        elif self.mode == "simultaneous":
            with tf.GradientTape() as d_tape:
                d_loss = self._d_loss(real, z)
            with tf.GradientTape() as g_tape:
                g_loss = self._g_loss(z)
            d_grads = d_tape.gradient(d_loss, d_vars)
            g_grads = g_tape.gradient(g_loss, g_vars)
            self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
            self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        else:
            with tf.GradientTape() as d_tape:
                d_loss = self._d_loss(real, z)
            self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
            with tf.GradientTape() as g_tape:
                g_loss = self._g_loss(z)
            self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {metric.name: metric.result() for metric in self.metrics}

    def get_compile_config(self):
        config = super().get_compile_config()
        if self.mode != "one_loss":
            config.pop("optimizer", None)  # the placeholder Keras's own compile needs
        return config

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
