"""Connections computed by automatic differentiation: Christoffel symbols, transport, geodesics.

See the chapter: ``notebooks/riemann-connection.ipynb`` (Part VII, "Connection and covariant
derivative").

A *metric* here is a Python callable ``metric(x)`` that takes the coordinates ``x`` of one point as a
TensorFlow tensor of shape ``(d,)`` (float64) and returns the metric tensor ``g(x)`` of shape
``(d, d)``, written with TensorFlow ops so that ``tf.GradientTape`` can differentiate it. Everything
else follows from the Levi-Civita formula

    Γ^k_ij = ½ g^kl (∂_i g_lj + ∂_j g_li − ∂_l g_ij),

with the derivatives of ``g`` taken by autodiff (``tf.GradientTape``; a second tape around the
first for ∂Γ; exact up to float64 rounding, no finite differences). Arrays are laid out with the
upper index first: ``gamma[k, i, j]`` is Γ^k_ij and ``riemann[r, s, m, n]`` is R^r_smn.

Integrator: :func:`parallel_transport` and :func:`geodesic` use the classical fourth-order
Runge–Kutta method with a fixed step. Each interval of the requested times ``ts`` is split into
``substeps`` equal steps, so the global error falls like ``h**4`` (measured in the chapter and in
the tests).

Compiled TensorFlow functions are cached per (metric, dimension) with fixed input signatures, so
calling the helpers many times with the same metric traces each graph only once. Define a metric
once and reuse it: a new closure (say, a lambda built inside a loop) is a new metric and is traced
again.
"""

from __future__ import annotations

import numbers

import numpy as np

from kbook.config import require

tf = require("tensorflow", "tf", by="kbook.riemann")  # ImportError naming `pip install "kbook[tf]"`

__all__ = [
    "metric_tensor",
    "christoffel",
    "covariant_derivative",
    "parallel_transport",
    "geodesic",
    "riemann_tensor",
    "scalar_curvature",
    "transform_christoffel",
]

DTYPE = tf.float64
SYMMETRY_RTOL = 1e-10
"""A metric is accepted as symmetric when ``|g - gᵀ| <= SYMMETRY_RTOL * max|g|``."""
CONDITION_LIMIT = 1e12
"""A metric whose condition number exceeds this at some point is treated as singular there."""

# --------------------------------------------------------------------------- validation


def _check_metric_callable(metric) -> None:
    if not callable(metric):
        raise TypeError(
            f"metric must be a callable x -> g(x) written with TensorFlow ops, "
            f"got {type(metric).__name__}"
        )


def _as_points(x, name: str = "x", allow_batch: bool = True) -> tuple[np.ndarray, bool]:
    """Return ``(points of shape (n, d), was_batched)`` for ``x`` of shape ``(d,)`` or ``(n, d)``."""
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real coordinates: {error}") from None
    if array.ndim == 1 and array.size > 0:
        points, batched = array[None, :], False
    elif allow_batch and array.ndim == 2 and array.shape[0] > 0 and array.shape[1] > 0:
        points, batched = array, True
    else:
        expected = "(d,) or (n, d)" if allow_batch else "(d,)"
        raise ValueError(f"{name} must have shape {expected} with d >= 1, got shape {array.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} must be finite, got {array!r}")
    return points, batched


def _eager_metric(metric, x: np.ndarray) -> np.ndarray:
    """Evaluate ``metric`` once, eagerly, and check what it returns (shape, type)."""
    d = x.shape[0]
    value = metric(tf.constant(x, dtype=DTYPE))
    if not tf.is_tensor(value):
        raise TypeError(
            "metric must return a TensorFlow tensor built with TensorFlow ops (so it can be "
            f"differentiated), got {type(value).__name__}"
        )
    g = np.asarray(value, dtype=np.float64)
    if g.shape != (d, d):
        raise ValueError(
            f"metric must return a square (d, d) = ({d}, {d}) matrix for x of shape ({d},), "
            f"got shape {g.shape}"
        )
    return g


def _check_metric_values(g: np.ndarray, points: np.ndarray, where: str = "") -> None:
    """Check a batch ``g`` of shape (n, d, d): finite, symmetric, non-singular."""
    bad = ~np.all(np.isfinite(g), axis=(-2, -1))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"metric is not finite at x={points[index]}{where}")
    scale = np.max(np.abs(g), axis=(-2, -1))
    asym = np.max(np.abs(g - np.swapaxes(g, -1, -2)), axis=(-2, -1))
    bad = asym > SYMMETRY_RTOL * np.maximum(scale, np.finfo(float).tiny)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(
            f"metric must be symmetric, but g - g^T reaches {asym[index]:.3g} at x={points[index]}"
        )
    with np.errstate(all="ignore"):
        condition = np.linalg.cond(g)
    bad = ~(condition < CONDITION_LIMIT)  # catches inf and nan too
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(
            f"metric is singular at x={points[index]}{where} "
            f"(condition number {condition[index]:.3g} >= {CONDITION_LIMIT:.0e})"
        )


def _as_vectors(value, name: str) -> np.ndarray:
    """``value`` as a float64 array, or a TypeError naming ``name`` if it is not numeric."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of real numbers: {error}") from None


def _as_times(ts) -> np.ndarray:
    try:
        times = np.asarray(ts, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"ts must be a 1-D array of real times: {error}") from None
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"ts must be a non-empty 1-D array of times, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ValueError("ts must be finite")
    steps = np.diff(times)
    if steps.size and not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("ts must be strictly increasing or strictly decreasing")
    return times


def _as_substeps(substeps) -> int:
    if isinstance(substeps, bool) or not isinstance(substeps, numbers.Integral):
        raise TypeError(f"substeps must be a positive int, got {type(substeps).__name__}")
    if substeps < 1:
        raise ValueError(f"substeps must be >= 1, got {substeps}")
    return int(substeps)


def _fine_grid(times: np.ndarray, substeps: int) -> np.ndarray:
    """Split each interval of ``times`` into ``substeps`` equal steps; ``times`` stay on the grid."""
    if times.size == 1:
        return times.copy()
    fractions = np.arange(substeps) / substeps
    inner = times[:-1, None] + fractions[None, :] * np.diff(times)[:, None]
    return np.concatenate([inner.ravel(), times[-1:]])


# --------------------------------------------------------------------------- TensorFlow kernels


def _metric_and_jacobian(metric, x):
    """``g`` (d, d) and ``dg`` (d, d, d) with ``dg[a, b, c] = ∂_c g_ab`` at one point ``x`` (d,)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        g = tf.cast(metric(x), DTYPE)
    dg = tape.jacobian(g, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return g, dg


def _levi_civita(g, dg):
    """Γ (..., k, i, j) from ``g`` (..., d, d) and ``dg`` (..., d, d, d), ``dg[.., a, b, c] = ∂_c g_ab``."""
    # T_lij = ∂_i g_lj + ∂_j g_li − ∂_l g_ij, each term rearranged to the index order (l, i, j).
    t = tf.einsum("...lji->...lij", dg) + dg - tf.einsum("...ijl->...lij", dg)
    # Where g is exactly singular (or not finite) TensorFlow's inverse would abort the whole batch;
    # invert the identity there instead and mark Γ as NaN, so the callers can name the bad point.
    regular = tf.math.is_finite(tf.linalg.det(g)) & (tf.linalg.det(g) != 0)
    eye = tf.eye(tf.shape(g)[-1], batch_shape=tf.shape(g)[:-2], dtype=g.dtype)
    safe = tf.where(regular[..., None, None], g, eye)
    gamma = 0.5 * tf.einsum("...kl,...lij->...kij", tf.linalg.inv(safe), t)
    return tf.where(regular[..., None, None, None], gamma, tf.constant(np.nan, dtype=g.dtype))


def _christoffel_point(metric, x):
    g, dg = _metric_and_jacobian(metric, x)
    return _levi_civita(g, dg)


def _riemann_point(metric, x):
    """R^r_smn (d, d, d, d) and g at one point, with ∂Γ by a second tape around the first."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        g, dg = _metric_and_jacobian(metric, x)
        gamma = _levi_civita(g, dg)
    # A while-loop Jacobian (no pfor) traces much faster here and costs little at run time.
    dgamma = tape.jacobian(
        gamma, x, unconnected_gradients=tf.UnconnectedGradients.ZERO, experimental_use_pfor=False
    )
    # dgamma[k, i, j, m] = ∂_m Γ^k_ij.
    # R^r_smn = ∂_m Γ^r_ns − ∂_n Γ^r_ms + Γ^r_ml Γ^l_ns − Γ^r_nl Γ^l_ms
    riemann = (
        tf.einsum("rnsm->rsmn", dgamma)
        - tf.einsum("rmsn->rsmn", dgamma)
        + tf.einsum("rml,lns->rsmn", gamma, gamma)
        - tf.einsum("rnl,lms->rsmn", gamma, gamma)
    )
    return riemann, g


_CACHE: dict = {}
"""metric -> {(kind, d, *extra): tf.function}. The compiled functions refer to their metric, so the
cache keeps every metric it has seen alive for the session (define metrics once, not in a loop)."""


def _compiled(metric, kind: str, d: int, *extra):
    """Return the tf.function of ``kind`` for ``metric`` in dimension ``d``, traced at most once.

    ``extra`` holds further callables the graph depends on (the vector field of
    :func:`covariant_derivative`); they become part of the cache key.
    """
    try:
        per_metric = _CACHE.setdefault(metric, {})
    except TypeError:  # an unhashable callable: compile without caching
        per_metric = {}
    key = (kind, d, *extra)
    try:
        hash(key)
    except TypeError:  # an unhashable extra callable: compile without caching
        return _BUILDERS[kind](metric, d, *extra)
    if key not in per_metric:
        per_metric[key] = _BUILDERS[kind](metric, d, *extra)
    return per_metric[key]


def _build_christoffel_batch(metric, d):
    @tf.function(input_signature=[tf.TensorSpec([None, d], DTYPE)])
    def christoffel_batch(points):
        g, dg = tf.vectorized_map(lambda x: _metric_and_jacobian(metric, x), points)
        return g, _levi_civita(g, dg)

    return christoffel_batch


def _build_riemann_batch(metric, d):
    @tf.function(input_signature=[tf.TensorSpec([None, d], DTYPE)])
    def riemann_batch(points):
        return tf.map_fn(
            lambda x: _riemann_point(metric, x),
            points,
            fn_output_signature=(tf.TensorSpec([d, d, d, d], DTYPE), tf.TensorSpec([d, d], DTYPE)),
        )

    return riemann_batch


def _build_geodesic(metric, d):
    # One traced function for Γ at a point, called by the four RK4 stages: tracing it once instead
    # of four times cut the graph's start-up cost by about a quarter in our measurements.
    gamma_at = tf.function(
        lambda x: _christoffel_point(metric, x), input_signature=[tf.TensorSpec([d], DTYPE)]
    )

    def rhs(state):
        x, v = state[:d], state[d:]
        gamma = gamma_at(x)
        return tf.concat([v, -tf.einsum("kij,i,j->k", gamma, v, v)], axis=0)

    def rk4_step(state, h):
        k1 = rhs(state)
        k2 = rhs(state + 0.5 * h * k1)
        k3 = rhs(state + 0.5 * h * k2)
        k4 = rhs(state + h * k3)
        return state + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    @tf.function(input_signature=[tf.TensorSpec([2 * d], DTYPE), tf.TensorSpec([None], DTYPE)])
    def integrate(state0, steps):
        return tf.scan(rk4_step, steps, initializer=state0)

    return integrate


def _build_covariant(metric, d, field):
    @tf.function(input_signature=[tf.TensorSpec([d], DTYPE)])
    def nabla(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            vector = tf.cast(field(x), DTYPE)
        jacobian = tape.jacobian(vector, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        g, dg = _metric_and_jacobian(metric, x)
        gamma = _levi_civita(g, dg)
        return g, jacobian + tf.einsum("kij,j->ki", gamma, vector)

    return nabla


_BUILDERS = {
    "christoffel": _build_christoffel_batch,
    "riemann": _build_riemann_batch,
    "geodesic": _build_geodesic,
    "covariant": _build_covariant,
}


def _validated_points(metric, x, allow_batch: bool = True):
    """Points (n, d) as float64 plus the batch flag, after checking the metric at the first point."""
    _check_metric_callable(metric)
    points, batched = _as_points(x, "x", allow_batch)
    _eager_metric(metric, points[0])
    return points, batched


# --------------------------------------------------------------------------- public helpers


def metric_tensor(metric, x) -> np.ndarray:
    """The metric ``g(x)`` as a NumPy array, checked (square, symmetric, non-singular).

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        x: coordinates, shape ``(d,)`` or a batch ``(n, d)``.

    Returns:
        ``g`` of shape ``(d, d)``, or ``(n, d, d)`` for a batch.

    Raises:
        TypeError: ``metric`` is not callable or does not return a TensorFlow tensor.
        ValueError: bad shape of ``x``; non-square, non-symmetric or singular metric.

    Example:
        >>> polar = lambda x: tf.linalg.diag(tf.stack([tf.ones_like(x[0]), x[0] ** 2]))
        >>> metric_tensor(polar, [2.0, 0.5])
        array([[1., 0.],
               [0., 4.]])
    """
    points, batched = _validated_points(metric, x)
    # The Christoffel graph returns g as well: reusing it saves tracing a second graph per metric.
    g = _compiled(metric, "christoffel", points.shape[1])(tf.constant(points))[0].numpy()
    _check_metric_values(g, points)
    return g if batched else g[0]


def christoffel(metric, x) -> np.ndarray:
    """Christoffel symbols of the Levi-Civita connection, by automatic differentiation.

    ``gamma[k, i, j] = Γ^k_ij = ½ g^kl (∂_i g_lj + ∂_j g_li − ∂_l g_ij)``, where the derivatives
    ``∂_c g_ab`` are the Jacobian of ``metric`` computed with ``tf.GradientTape``.

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        x: coordinates, shape ``(d,)`` or a batch ``(n, d)`` (vectorised with ``tf.vectorized_map``).

    Returns:
        ``gamma`` of shape ``(d, d, d)``, or ``(n, d, d, d)`` for a batch; symmetric in the last
        two indices.

    Raises:
        TypeError: ``metric`` is not callable or does not return a TensorFlow tensor.
        ValueError: bad shape of ``x``; non-square, non-symmetric or singular metric at ``x``.

    Example (polar coordinates ``(r, θ)``: Γ^r_θθ = −r and Γ^θ_rθ = 1/r):
        >>> polar = lambda x: tf.linalg.diag(tf.stack([tf.ones_like(x[0]), x[0] ** 2]))
        >>> gamma = christoffel(polar, [2.0, 0.3])
        >>> float(gamma[0, 1, 1]), float(gamma[1, 0, 1]), float(gamma[1, 1, 0])
        (-2.0, 0.5, 0.5)
    """
    points, batched = _validated_points(metric, x)
    g, gamma = _compiled(metric, "christoffel", points.shape[1])(tf.constant(points))
    _check_metric_values(g.numpy(), points)
    gamma = gamma.numpy()
    return gamma if batched else gamma[0]


def covariant_derivative(metric, field, x) -> np.ndarray:
    """The covariant derivative ``∇V`` of a vector field at one point.

    ``nabla[k, i] = ∇_i V^k = ∂_i V^k + Γ^k_ij V^j``: column ``i`` is the covariant derivative of
    ``V`` along the coordinate direction ``∂_i``. ``∂_i V^k`` is computed by autodiff, so ``field``
    must be written with TensorFlow ops too.

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        field: callable, ``x`` (tf tensor (d,)) -> the components ``V^k(x)``, shape ``(d,)``.
        x: coordinates of one point, shape ``(d,)``.

    Returns:
        ``nabla`` of shape ``(d, d)``; the derivative along a direction ``u`` is ``nabla @ u``.

    Raises:
        TypeError: ``metric`` or ``field`` is not callable or does not return a tensor.
        ValueError: bad shapes; non-square, non-symmetric or singular metric at ``x``.

    Example (the Cartesian unit vector ``e_x`` written in polar components is parallel: ∇V = 0):
        >>> polar = lambda x: tf.linalg.diag(tf.stack([tf.ones_like(x[0]), x[0] ** 2]))
        >>> e_x = lambda x: tf.stack([tf.cos(x[1]), -tf.sin(x[1]) / x[0]])
        >>> bool(np.abs(covariant_derivative(polar, e_x, [1.5, 0.4])).max() < 1e-12)
        True
    """
    if not callable(field):
        raise TypeError(f"field must be a callable x -> V(x), got {type(field).__name__}")
    points, _ = _validated_points(metric, x, allow_batch=False)
    d = points.shape[1]
    vector = field(tf.constant(points[0]))
    if not tf.is_tensor(vector):
        raise TypeError(
            "field must return a TensorFlow tensor built with TensorFlow ops, "
            f"got {type(vector).__name__}"
        )
    if tuple(vector.shape) != (d,):
        raise ValueError(f"field must return shape ({d},) at x of shape ({d},), got {vector.shape}")
    g, nabla = _compiled(metric, "covariant", d, field)(tf.constant(points[0]))
    _check_metric_values(g.numpy()[None], points)
    return nabla.numpy()


def _numerical_velocity(curve, times: np.ndarray, d: int) -> np.ndarray:
    """dx/dt by the fourth-order central difference, step 1e-3·max(1, |t|) (error ~1e-12)."""
    steps = 1e-3 * np.maximum(1.0, np.abs(times))
    offsets = (-2, -1, 1, 2)
    weights = (1.0, -8.0, 8.0, -1.0)
    total = np.zeros((times.size, d))
    for offset, weight in zip(offsets, weights):
        total += weight * _evaluate_curve(curve, times + offset * steps, d, "curve")
    return total / (12.0 * steps[:, None])


def _evaluate_curve(function, times: np.ndarray, d: int, name: str) -> np.ndarray:
    values = []
    for t in times:
        value = np.asarray(function(float(t)), dtype=np.float64)
        if value.shape != (d,):
            raise ValueError(f"{name} must return shape ({d},) for a float t, got {value.shape}")
        values.append(value)
    values = np.stack(values)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} returned non-finite values")
    return values


def parallel_transport(metric, curve, v0, ts, *, velocity=None, substeps: int = 1) -> np.ndarray:
    """Parallel-transport vector(s) along a curve: solve ``dv^k/dt + Γ^k_ij ẋ^i v^j = 0``.

    Integrator: classical RK4 with a fixed step; each interval of ``ts`` is split into
    ``substeps`` equal steps (global error O(h⁴)). Because the curve is given, the Christoffel
    symbols at every stage point (``t``, ``t + h/2``, ``t + h``) are computed in one vectorised
    TensorFlow call, and the linear ODE is then stepped in NumPy.

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        curve: plain NumPy callable ``t`` (float) -> ``x(t)``, shape ``(d,)``.
        v0: the initial vector ``v(ts[0])``, shape ``(d,)``, or ``m`` vectors at once, ``(m, d)``.
        ts: strictly monotonic times, shape ``(T,)``; ``v`` is returned at these times.
        velocity: optional callable ``t`` -> ``ẋ(t)`` (d,). Without it the velocity is computed
            by a fourth-order central difference of ``curve`` (error around 1e-12; the curve is
            evaluated up to ``2e-3·max(1, |t|)`` beyond the ends of ``ts``).
        substeps: RK4 steps per interval of ``ts`` (int >= 1).

    Returns:
        Components ``v^k(t)``: shape ``(T, d)``, or ``(T, m, d)`` when ``v0`` is ``(m, d)``.

    Raises:
        TypeError: a non-callable ``metric``, ``curve`` or ``velocity``; ``substeps`` not an int.
        ValueError: bad shapes; ``ts`` not monotonic; metric singular/non-symmetric on the curve.

    Example (a vector carried once around the circle ``r = 1`` of the flat plane, in polar
    components, comes back unchanged):
        >>> polar = lambda x: tf.linalg.diag(tf.stack([tf.ones_like(x[0]), x[0] ** 2]))
        >>> circle = lambda t: np.array([1.0, t])
        >>> ts = np.linspace(0.0, 2 * np.pi, 65)
        >>> v = parallel_transport(polar, circle, [1.0, 0.0], ts, substeps=4)
        >>> np.round(v[-1], 6) + 0.0
        array([1., 0.])
    """
    _check_metric_callable(metric)
    if not callable(curve):
        raise TypeError(f"curve must be a callable t -> x(t), got {type(curve).__name__}")
    if velocity is not None and not callable(velocity):
        raise TypeError(f"velocity must be None or a callable t -> dx/dt, got {type(velocity).__name__}")
    vectors = _as_vectors(v0, "v0")
    if vectors.ndim not in (1, 2) or vectors.shape[-1] == 0:
        raise ValueError(f"v0 must have shape (d,) or (m, d), got shape {vectors.shape}")
    if not np.all(np.isfinite(vectors)):
        raise ValueError("v0 must be finite")
    d = vectors.shape[-1]
    times = _as_times(ts)
    substeps = _as_substeps(substeps)
    grid = _fine_grid(times, substeps)
    steps = np.diff(grid)
    # Stage times: the grid points and the midpoints of its steps.
    midpoints = grid[:-1] + 0.5 * steps
    stage_times = np.concatenate([grid, midpoints])
    positions = _evaluate_curve(curve, stage_times, d, "curve")
    if velocity is None:
        velocities = _numerical_velocity(curve, stage_times, d)
    else:
        velocities = _evaluate_curve(velocity, stage_times, d, "velocity")
    gamma = christoffel(metric, positions)
    # dv/dt = A(t) v with A^k_j = −Γ^k_ij ẋ^i.
    a = -np.einsum("nkij,ni->nkj", gamma, velocities)
    a_grid, a_mid = a[: grid.size], a[grid.size :]

    state = vectors.T.copy() if vectors.ndim == 2 else vectors[:, None].copy()  # (d, m)
    out = [state.copy()]
    for n, h in enumerate(steps):
        k1 = a_grid[n] @ state
        k2 = a_mid[n] @ (state + 0.5 * h * k1)
        k3 = a_mid[n] @ (state + 0.5 * h * k2)
        k4 = a_grid[n + 1] @ (state + h * k3)
        state = state + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        out.append(state.copy())
    result = np.stack(out)[::substeps]  # (T, d, m)
    result = np.swapaxes(result, 1, 2)  # (T, m, d)
    return result if vectors.ndim == 2 else result[:, 0, :]


def geodesic(metric, x0, v0, ts, *, substeps: int = 1, return_velocity: bool = False):
    """Integrate the geodesic equation ``ẍ^k + Γ^k_ij ẋ^i ẋ^j = 0`` from ``x0`` with velocity ``v0``.

    Integrator: classical RK4 with a fixed step on the state ``(x, ẋ)``, run inside one
    ``tf.function`` (``tf.scan`` over the steps; Γ by autodiff at every stage). Each interval of
    ``ts`` is split into ``substeps`` equal steps (global error O(h⁴)). The graph is traced once per
    metric and dimension.

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        x0: initial position, shape ``(d,)``.
        v0: initial velocity, shape ``(d,)``.
        ts: strictly monotonic times, shape ``(T,)``, starting at the time of ``x0``.
        substeps: RK4 steps per interval of ``ts`` (int >= 1).
        return_velocity: also return the velocities ``ẋ(t)``.

    Returns:
        Positions of shape ``(T, d)``; with ``return_velocity=True`` a pair (positions, velocities).

    Raises:
        TypeError: ``metric`` not callable or not returning a tensor; ``substeps`` not an int;
            ``return_velocity`` not a bool; non-numeric ``v0``.
        ValueError: bad shapes; ``ts`` not monotonic; metric singular, non-finite or
            non-symmetric at ``x0`` or along the computed path.

    Example (the equator of the unit sphere in coordinates (θ, φ) is a geodesic):
        >>> sphere = lambda x: tf.linalg.diag(tf.stack([tf.ones_like(x[0]), tf.sin(x[0]) ** 2]))
        >>> path = geodesic(sphere, [np.pi / 2, 0.0], [0.0, 1.0], [0.0, 1.0, 2.0], substeps=20)
        >>> np.round(path, 10) + 0.0
        array([[1.57079633, 0.        ],
               [1.57079633, 1.        ],
               [1.57079633, 2.        ]])
    """
    if not isinstance(return_velocity, (bool, np.bool_)):
        raise TypeError(f"return_velocity must be a bool, got {type(return_velocity).__name__}")
    points, _ = _validated_points(metric, x0, allow_batch=False)
    start = points[0]
    d = start.size
    g0 = metric_tensor(metric, start)
    del g0  # checked (square, symmetric, non-singular) at the start
    velocity0 = _as_vectors(v0, "v0")
    if velocity0.shape != (d,):
        raise ValueError(f"v0 must have shape ({d},) like x0, got shape {velocity0.shape}")
    if not np.all(np.isfinite(velocity0)):
        raise ValueError("v0 must be finite")
    times = _as_times(ts)
    substeps = _as_substeps(substeps)
    steps = np.diff(_fine_grid(times, substeps))
    state0 = np.concatenate([start, velocity0])
    if steps.size:
        try:
            states = _compiled(metric, "geodesic", d)(tf.constant(state0), tf.constant(steps))
        except tf.errors.InvalidArgumentError as error:
            raise ValueError(
                f"metric became singular along the geodesic from x0={start}: {error.message}"
            ) from None
        states = np.concatenate([state0[None, :], states.numpy()])[::substeps]
    else:
        states = state0[None, :]
    if not np.all(np.isfinite(states)):
        raise ValueError(f"the geodesic from x0={start} left the region where the metric is regular")
    positions, velocities = states[:, :d], states[:, d:]
    g = _compiled(metric, "christoffel", d)(tf.constant(positions))[0].numpy()
    _check_metric_values(g, positions, " along the geodesic")
    return (positions, velocities) if return_velocity else positions


def riemann_tensor(metric, x) -> np.ndarray:
    """The Riemann curvature tensor ``R^r_smn`` from Γ and its derivatives (nested tapes).

    ``R^r_smn = ∂_m Γ^r_ns − ∂_n Γ^r_ms + Γ^r_ml Γ^l_ns − Γ^r_nl Γ^l_ms``, so that
    ``[∇_m, ∇_n] V^r = R^r_smn V^s``; ∂Γ comes from a second ``tf.GradientTape`` around the
    one that computes Γ.

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        x: coordinates, shape ``(d,)`` or a batch ``(n, d)``.

    Returns:
        ``riemann[r, s, m, n]`` of shape ``(d, d, d, d)``, or ``(n, d, d, d, d)`` for a batch.

    Raises:
        TypeError, ValueError: as :func:`christoffel`.

    Example (unit sphere in (θ, φ): R^θ_φθφ = sin²θ):
        >>> sphere = lambda x: tf.linalg.diag(tf.stack([tf.ones_like(x[0]), tf.sin(x[0]) ** 2]))
        >>> r = riemann_tensor(sphere, [1.0, 0.2])
        >>> bool(np.isclose(r[0, 1, 0, 1], np.sin(1.0) ** 2))
        True
    """
    points, batched = _validated_points(metric, x)
    riemann, g = _compiled(metric, "riemann", points.shape[1])(tf.constant(points))
    _check_metric_values(g.numpy(), points)
    riemann = riemann.numpy()
    return riemann if batched else riemann[0]


def scalar_curvature(metric, x):
    """The scalar curvature ``R = g^sn R^r_srn`` (Ricci tensor contracted with the inverse metric).

    For a surface (d = 2) the Gaussian curvature is ``K = R / 2``; for a sphere of radius ``a`` in
    dimension ``d``, ``R = d (d − 1) / a²``.

    Args:
        metric: callable, ``x`` (tf tensor (d,), float64) -> ``g(x)`` (d, d), TensorFlow ops.
        x: coordinates, shape ``(d,)`` or a batch ``(n, d)``.

    Returns:
        A float, or an array of shape ``(n,)`` for a batch.

    Raises:
        TypeError, ValueError: as :func:`christoffel`.

    Example (sphere of radius 2: R = 2 / 4):
        >>> sphere2 = lambda x: 4.0 * tf.linalg.diag(tf.stack([tf.ones_like(x[0]), tf.sin(x[0]) ** 2]))
        >>> round(scalar_curvature(sphere2, [0.8, 0.0]), 12)
        0.5
    """
    points, batched = _validated_points(metric, x)
    riemann, g = _compiled(metric, "riemann", points.shape[1])(tf.constant(points))
    g = g.numpy()
    _check_metric_values(g, points)
    ricci = np.einsum("nrsrm->nsm", riemann.numpy())
    scalar = np.einsum("nsm,nsm->n", np.linalg.inv(g), ricci)
    return scalar if batched else float(scalar[0])


def transform_christoffel(chart, x, gamma=None) -> np.ndarray:
    """Christoffel symbols in new coordinates, by the transformation law of a connection.

    With old coordinates ``x^a`` given as functions of new ones ``x'^i`` by ``chart``, and
    ``J^a_i = ∂x^a/∂x'^i``,

        Γ'^k_ij = (J⁻¹)^k_a (Γ^a_bc J^b_i J^c_j + ∂_i ∂_j x^a).

    The first term is how a (1, 2) tensor would transform; the second, which depends only on the
    chart, is why Γ is not a tensor: Γ = 0 in one chart (Cartesian coordinates of the plane) need
    not be 0 in another. ``J`` and the second derivatives come from nested ``tf.GradientTape``s.

    Args:
        chart: callable, ``x'`` (tf tensor (d,), float64) -> old coordinates ``x`` (d,),
            TensorFlow ops.
        x: the new coordinates ``x'`` of one point, shape ``(d,)``.
        gamma: the old symbols Γ^a_bc at ``chart(x)``, shape ``(d, d, d)`` (upper index first),
            or None for Γ = 0 (e.g. Cartesian coordinates of flat space).

    Returns:
        ``gamma_new`` of shape ``(d, d, d)``, ``gamma_new[k, i, j] = Γ'^k_ij``.

    Raises:
        TypeError: ``chart`` not callable or not returning a tensor; ``gamma`` or ``x`` not numeric.
        ValueError: bad shapes; ``chart`` singular (J not invertible) at ``x``; non-finite values.

    Example (Cartesian Γ = 0 seen in polar coordinates (r, θ): Γ^r_θθ = −r, Γ^θ_rθ = 1/r):
        >>> to_cartesian = lambda p: tf.stack([p[0] * tf.cos(p[1]), p[0] * tf.sin(p[1])])
        >>> g = transform_christoffel(to_cartesian, [2.0, 0.3])
        >>> np.round([g[0, 1, 1], g[1, 0, 1], g[1, 1, 0]], 12) + 0.0
        array([-2. ,  0.5,  0.5])
    """
    if not callable(chart):
        raise TypeError(f"chart must be a callable x' -> x written with TensorFlow ops, got {type(chart).__name__}")
    points, _ = _as_points(x, "x", allow_batch=False)
    d = points.shape[1]
    point = tf.constant(points[0], dtype=DTYPE)
    with tf.GradientTape() as outer:
        outer.watch(point)
        with tf.GradientTape() as inner:
            inner.watch(point)
            old = chart(point)
            if not tf.is_tensor(old):
                raise TypeError(f"chart must return a TensorFlow tensor, got {type(old).__name__}")
            old = tf.cast(old, DTYPE)
        if tuple(old.shape) != (d,):
            raise ValueError(f"chart must return shape ({d},) for x of shape ({d},), got {tuple(old.shape)}")
        jacobian = inner.jacobian(old, point, unconnected_gradients=tf.UnconnectedGradients.ZERO)  # (a, i)
    second = outer.jacobian(jacobian, point, unconnected_gradients=tf.UnconnectedGradients.ZERO)  # (a, j, i)
    jacobian, second = jacobian.numpy(), second.numpy()
    if not (np.all(np.isfinite(jacobian)) and np.all(np.isfinite(second))):
        raise ValueError(f"chart has non-finite derivatives at x={points[0]}")
    with np.errstate(all="ignore"):
        condition = np.linalg.cond(jacobian)
    if not condition < CONDITION_LIMIT:
        raise ValueError(f"chart is singular at x={points[0]} (condition number of its Jacobian {condition:.3g})")
    if gamma is None:
        old_gamma = np.zeros((d, d, d))
    else:
        old_gamma = _as_vectors(gamma, "gamma")
        if old_gamma.shape != (d, d, d):
            raise ValueError(f"gamma must have shape ({d}, {d}, {d}), got {old_gamma.shape}")
        if not np.all(np.isfinite(old_gamma)):
            raise ValueError("gamma must be finite")
    inside = np.einsum("abc,bi,cj->aij", old_gamma, jacobian, jacobian) + np.einsum("aji->aij", second)
    return np.linalg.solve(jacobian, inside.reshape(d, d * d)).reshape(d, d, d)
