"""Tests of kbook.riemann against hand-derived closed forms, finite differences and identities.

None of the references shares code with the module: Christoffel symbols are compared with the
textbook formulas for polar, spherical, hyperbolic and graph-surface metrics (the last one is
non-diagonal, in any dimension) and with central differences of the metric values; transport and
geodesics with their exact solutions; the integrator's order with the measured error ratios.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from kbook import riemann
from kbook.riemann import (
    christoffel,
    covariant_derivative,
    geodesic,
    metric_tensor,
    parallel_transport,
    riemann_tensor,
    scalar_curvature,
)

SETTINGS = settings(max_examples=10, deadline=None)
RADIUS = 2.0

# --------------------------------------------------------------------------- metrics (TF ops)


def polar(x):
    """The flat plane in polar coordinates (r, θ): ds² = dr² + r² dθ²."""
    return tf.linalg.diag(tf.stack([tf.ones_like(x[0]), x[0] ** 2]))


def sphere(x):
    """Sphere of radius RADIUS in (θ, φ): ds² = R² (dθ² + sin²θ dφ²)."""
    return RADIUS**2 * tf.linalg.diag(tf.stack([tf.ones_like(x[0]), tf.sin(x[0]) ** 2]))


def unit_sphere(x):
    return tf.linalg.diag(tf.stack([tf.ones_like(x[0]), tf.sin(x[0]) ** 2]))


def half_plane(x):
    """Poincaré half-plane (x, y), y > 0: ds² = (dx² + dy²) / y²."""
    w = 1.0 / x[1] ** 2
    return tf.linalg.diag(tf.stack([w, w]))


def spherical3(x):
    """Flat R³ in spherical coordinates (r, θ, φ)."""
    r, theta = x[0], x[1]
    return tf.linalg.diag(tf.stack([tf.ones_like(r), r**2, (r * tf.sin(theta)) ** 2]))


def three_sphere(x):
    """The 3-sphere of radius 1.5 in hyperspherical coordinates (χ, θ, φ)."""
    a2 = 1.5**2
    s = tf.sin(x[0]) ** 2
    return a2 * tf.linalg.diag(tf.stack([tf.ones_like(x[0]), s, s * tf.sin(x[1]) ** 2]))


# Graph surface z = f(x) in R^{d+1}: g = I + ∇f ∇fᵀ (non-diagonal), with
# f(x) = ½ xᵀAx + bᵀx + Σ c_i x_i³ / 6, so ∇f = Ax + b + c∘x²/2 and Hess f = A + diag(c∘x).
GRAPH_A = np.array([[0.8, 0.3, -0.2], [0.3, -0.5, 0.4], [-0.2, 0.4, 0.6]])
GRAPH_B = np.array([0.1, -0.3, 0.2])
GRAPH_C = np.array([0.5, -0.4, 0.3])


def _graph_gradient_np(x, dims):
    a, b, c = GRAPH_A[:dims, :dims], GRAPH_B[:dims], GRAPH_C[:dims]
    return a @ x + b + 0.5 * c * x**2


def _graph_hessian_np(x, dims):
    return GRAPH_A[:dims, :dims] + np.diag(GRAPH_C[:dims] * x)


def _graph_metric(dims):
    a = tf.constant(GRAPH_A[:dims, :dims])
    b = tf.constant(GRAPH_B[:dims])
    c = tf.constant(GRAPH_C[:dims])

    def metric(x):
        grad = tf.linalg.matvec(a, x) + b + 0.5 * c * x**2
        return tf.eye(dims, dtype=tf.float64) + grad[:, None] * grad[None, :]

    return metric


graph3 = _graph_metric(3)
graph2 = _graph_metric(2)


def graph_christoffel_closed_form(x):
    """Γ^k_ij = f_k f_ij / (1 + |∇f|²) (derived by hand: T_lij = 2 f_l f_ij, Sherman–Morrison)."""
    dims = x.size
    grad, hess = _graph_gradient_np(x, dims), _graph_hessian_np(x, dims)
    return grad[:, None, None] * hess[None, :, :] / (1.0 + grad @ grad)


def finite_difference_christoffel(metric, x, step=1e-5):
    """Γ from central differences of the metric values (no autodiff), O(step²) accurate."""
    d = x.size

    def g_at(point):
        return metric(tf.constant(point, dtype=tf.float64)).numpy()

    dg = np.zeros((d, d, d))  # dg[a, b, c] = ∂_c g_ab
    for c in range(d):
        e = np.zeros(d)
        e[c] = step
        dg[:, :, c] = (g_at(x + e) - g_at(x - e)) / (2 * step)
    ginv = np.linalg.inv(g_at(x))
    gamma = np.zeros((d, d, d))
    for k in range(d):
        for i in range(d):
            for j in range(d):
                gamma[k, i, j] = 0.5 * sum(
                    ginv[k, l] * (dg[l, j, i] + dg[l, i, j] - dg[i, j, l]) for l in range(d)
                )
    return gamma


# --------------------------------------------------------------------------- Christoffel symbols


def test_polar_closed_form():
    for r, theta in [(0.5, 0.0), (2.0, 1.0), (3.7, -2.5)]:
        expected = np.zeros((2, 2, 2))
        expected[0, 1, 1] = -r
        expected[1, 0, 1] = expected[1, 1, 0] = 1.0 / r
        np.testing.assert_allclose(christoffel(polar, [r, theta]), expected, atol=1e-14)


def test_sphere_closed_form_batch():
    points = np.array([[0.3, 0.0], [1.0, 2.0], [2.5, -1.0], [np.pi / 2, 0.7]])
    gamma = christoffel(sphere, points)
    assert gamma.shape == (4, 2, 2, 2)
    for point, value in zip(points, gamma):
        theta = point[0]
        expected = np.zeros((2, 2, 2))
        expected[0, 1, 1] = -np.sin(theta) * np.cos(theta)  # independent of the radius
        expected[1, 0, 1] = expected[1, 1, 0] = np.cos(theta) / np.sin(theta)
        np.testing.assert_allclose(value, expected, atol=1e-14)


def test_half_plane_closed_form():
    x, y = 0.4, 1.7
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 1] = expected[0, 1, 0] = -1.0 / y
    expected[1, 0, 0] = 1.0 / y
    expected[1, 1, 1] = -1.0 / y
    np.testing.assert_allclose(christoffel(half_plane, [x, y]), expected, atol=1e-14)


def test_spherical_coordinates_closed_form():
    r, theta = 1.3, 0.9
    s, c = np.sin(theta), np.cos(theta)
    expected = np.zeros((3, 3, 3))
    expected[0, 1, 1] = -r
    expected[0, 2, 2] = -r * s**2
    expected[1, 0, 1] = expected[1, 1, 0] = 1.0 / r
    expected[1, 2, 2] = -s * c
    expected[2, 0, 2] = expected[2, 2, 0] = 1.0 / r
    expected[2, 1, 2] = expected[2, 2, 1] = c / s
    np.testing.assert_allclose(christoffel(spherical3, [r, theta, 0.4]), expected, atol=1e-14)


def test_constant_metric_has_zero_christoffel():
    def constant(x):
        return tf.constant([[2.0, 0.5], [0.5, 1.0]], dtype=tf.float64)

    np.testing.assert_array_equal(christoffel(constant, [0.3, 0.1]), np.zeros((2, 2, 2)))


coordinates3 = st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3).map(np.array)


@SETTINGS
@given(coordinates3)
def test_non_diagonal_graph_metric_matches_closed_form(x):
    np.testing.assert_allclose(christoffel(graph3, x), graph_christoffel_closed_form(x), atol=1e-12)


@SETTINGS
@given(coordinates3)
def test_matches_finite_differences_and_is_symmetric(x):
    gamma = christoffel(graph3, x)
    np.testing.assert_allclose(gamma, np.swapaxes(gamma, 1, 2), atol=1e-14)
    np.testing.assert_allclose(gamma, finite_difference_christoffel(graph3, x), atol=1e-7)


def test_batch_equals_pointwise_and_traces_once():
    points = np.random.default_rng(0).uniform(-1, 1, size=(7, 3))
    batch = christoffel(graph3, points)
    for point, value in zip(points, batch):
        np.testing.assert_allclose(christoffel(graph3, point), value, atol=1e-15)
    christoffel(graph3, points[:3])
    compiled = riemann._compiled(graph3, "christoffel", 3)
    assert compiled.experimental_get_tracing_count() == 1


def test_metric_tensor_values():
    np.testing.assert_allclose(metric_tensor(sphere, [np.pi / 6, 1.0]), np.diag([4.0, 1.0]))
    assert metric_tensor(polar, np.ones((5, 2))).shape == (5, 2, 2)


# --------------------------------------------------------------------------- covariant derivative


def test_covariant_derivative_of_cartesian_fields_vanishes_in_polar():
    def e_x(x):
        return tf.stack([tf.cos(x[1]), -tf.sin(x[1]) / x[0]])

    def e_y(x):
        return tf.stack([tf.sin(x[1]), tf.cos(x[1]) / x[0]])

    for field in (e_x, e_y):
        np.testing.assert_allclose(covariant_derivative(polar, field, [1.3, 0.8]), 0, atol=1e-14)


def test_covariant_derivative_of_radial_field():
    # V = ∂_r: ∇_r V = 0 and ∇_θ V = Γ^k_θr = (0, 1/r) (the unit radial field turns with θ).
    def radial(x):
        return tf.stack([tf.ones_like(x[0]), tf.zeros_like(x[0])])

    r = 2.5
    np.testing.assert_allclose(
        covariant_derivative(polar, radial, [r, 0.3]), [[0.0, 0.0], [0.0, 1.0 / r]], atol=1e-15
    )


def _field_u(x):
    return tf.stack([tf.sin(x[1]) + x[2], x[0] * x[2], tf.cos(x[0] - x[1])])


def _field_v(x):
    return tf.stack([x[1] ** 2, tf.exp(-x[0]) * x[2], 1.0 + x[0] * x[1]])


def _values(field, x):
    return field(tf.constant(x, dtype=tf.float64)).numpy()


def _directional(function, x, direction, step=1e-5):
    return (function(x + step * direction) - function(x - step * direction)) / (2 * step)


@SETTINGS
@given(coordinates3)
def test_metric_compatibility(x):
    """∂_i g(U, V) = g(∇_i U, V) + g(U, ∇_i V), the left side by finite differences."""
    grad_u = covariant_derivative(graph3, _field_u, x)  # [k, i]
    grad_v = covariant_derivative(graph3, _field_v, x)
    g = metric_tensor(graph3, x)
    u, v = _values(_field_u, x), _values(_field_v, x)

    def inner(point):
        g_point = graph3(tf.constant(point, dtype=tf.float64)).numpy()
        return _values(_field_u, point) @ g_point @ _values(_field_v, point)

    for i in range(3):
        e = np.eye(3)[i]
        lhs = _directional(inner, x, e)
        rhs = grad_u[:, i] @ g @ v + u @ g @ grad_v[:, i]
        assert lhs == pytest.approx(rhs, abs=1e-7)


@SETTINGS
@given(coordinates3)
def test_torsion_free(x):
    """∇_U V − ∇_V U = [U, V], the Lie bracket by finite differences of the components."""
    u, v = _values(_field_u, x), _values(_field_v, x)
    lhs = covariant_derivative(graph3, _field_v, x) @ u - covariant_derivative(graph3, _field_u, x) @ v
    bracket = _directional(lambda p: _values(_field_v, p), x, u) - _directional(
        lambda p: _values(_field_u, p), x, v
    )
    np.testing.assert_allclose(lhs, bracket, atol=1e-7)


# --------------------------------------------------------------------------- parallel transport


def _latitude_exact(theta0, v0, t):
    """Exact transport along θ = θ0, φ = t on a sphere: (v^θ, sinθ0 v^φ) rotates at rate cos θ0."""
    c = np.cos(theta0)
    a, b = v0[0], np.sin(theta0) * v0[1]
    return np.array([a * np.cos(c * t) + b * np.sin(c * t), (-a * np.sin(c * t) + b * np.cos(c * t)) / np.sin(theta0)])


@pytest.mark.parametrize("theta0", [0.3, np.pi / 4, 1.2, np.pi / 2])
def test_latitude_transport_matches_exact_solution(theta0):
    ts = np.linspace(0, 2 * np.pi, 33)
    v0 = np.array([0.7, -0.4])
    v = parallel_transport(sphere, lambda t: np.array([theta0, t]), v0, ts, substeps=16)
    exact = np.stack([_latitude_exact(theta0, v0, t) for t in ts])
    np.testing.assert_allclose(v, exact, atol=1e-8)


def test_transport_is_fourth_order_and_exact_velocity_agrees():
    theta0 = 0.6
    v0 = np.array([1.0, 0.0])
    exact = _latitude_exact(theta0, v0, 2 * np.pi)
    errors = []
    for n in (8, 16, 32, 64):
        ts = np.linspace(0, 2 * np.pi, n + 1)
        v = parallel_transport(unit_sphere, lambda t: np.array([theta0, t]), v0, ts)
        errors.append(np.abs(v[-1] - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.8) & (orders < 4.2)), orders
    ts = np.linspace(0, 2 * np.pi, 17)
    numeric = parallel_transport(unit_sphere, lambda t: np.array([theta0, t]), v0, ts)
    given_velocity = parallel_transport(
        unit_sphere, lambda t: np.array([theta0, t]), v0, ts, velocity=lambda t: np.array([0.0, 1.0])
    )
    np.testing.assert_allclose(numeric, given_velocity, atol=1e-10)


@SETTINGS
@given(
    st.lists(st.floats(-0.8, 0.8), min_size=6, max_size=6),
    st.lists(st.floats(-2, 2), min_size=6, max_size=6),
)
def test_transport_preserves_inner_products(coefficients, vectors):
    """A random curve on the non-diagonal graph metric; the Gram matrix of two vectors stays fixed."""
    a = np.array(coefficients).reshape(3, 2)

    def curve(t):
        return a[:, 0] * np.sin(t) + a[:, 1] * t**2

    frame = np.array(vectors).reshape(2, 3)
    ts = np.linspace(0.0, 1.5, 31)
    v = parallel_transport(graph3, curve, frame, ts, substeps=4)
    assert v.shape == (31, 2, 3)
    g = metric_tensor(graph3, np.stack([curve(t) for t in ts]))
    gram = np.einsum("tai,tij,tbj->tab", v, g, v)
    scale = 1.0 + np.abs(gram[0]).max()
    np.testing.assert_allclose(gram, np.broadcast_to(gram[0], gram.shape), atol=1e-7 * scale)


def test_flat_plane_transport_keeps_cartesian_components():
    """In polar coordinates Γ ≠ 0, yet transported vectors are constant in Cartesian terms."""

    def curve(t):
        return np.array([1.5 + 0.5 * np.sin(3 * t), 2 * t + 0.3 * np.cos(t)])

    ts = np.linspace(0, 2.0, 41)
    v = parallel_transport(polar, curve, [0.3, -0.8], ts, substeps=8)
    positions = np.stack([curve(t) for t in ts])
    r, theta = positions[:, 0], positions[:, 1]
    vx = np.cos(theta) * v[:, 0] - r * np.sin(theta) * v[:, 1]
    vy = np.sin(theta) * v[:, 0] + r * np.cos(theta) * v[:, 1]
    np.testing.assert_allclose(vx, vx[0], atol=1e-8)
    np.testing.assert_allclose(vy, vy[0], atol=1e-8)
    assert np.ptp(v[:, 1]) > 0.1  # the polar components themselves do change


def test_transport_backwards_undoes_forwards():
    curve = lambda t: np.array([1.0 + 0.2 * t, np.cos(t)])  # noqa: E731
    ts = np.linspace(0, 1, 21)
    forward = parallel_transport(sphere, curve, [0.5, 1.0], ts, substeps=4)
    back = parallel_transport(sphere, curve, forward[-1], ts[::-1], substeps=4)
    np.testing.assert_allclose(back[-1], [0.5, 1.0], atol=1e-9)


# --------------------------------------------------------------------------- geodesics


def _to_cartesian(points):
    theta, phi = points[:, 0], points[:, 1]
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], 1)


def test_sphere_geodesic_is_a_great_circle():
    x0 = np.array([0.9, 0.4])
    v0 = np.array([0.3, 0.8])
    ts = np.linspace(0, 5, 51)
    path = geodesic(sphere, x0, v0, ts, substeps=10)
    # Exact: p(t) = p0 cos(ωt) + u sin(ωt), u the unit tangent, ω the angular speed (= |v|_g / R).
    p0 = _to_cartesian(x0[None])[0]
    theta, phi = x0
    e_theta = np.array([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)])
    e_phi = np.array([-np.sin(theta) * np.sin(phi), np.sin(theta) * np.cos(phi), 0.0])
    tangent = v0[0] * e_theta + v0[1] * e_phi  # on the unit sphere
    omega = np.linalg.norm(tangent)
    u = tangent / omega
    exact = p0[None] * np.cos(omega * ts)[:, None] + u[None] * np.sin(omega * ts)[:, None]
    np.testing.assert_allclose(_to_cartesian(path), exact, atol=1e-8)


def test_half_plane_geodesic_is_a_semicircle():
    ts = np.linspace(0, 2, 21)
    path = geodesic(half_plane, [0.0, 1.0], [1.0, 0.0], ts, substeps=20)
    np.testing.assert_allclose(path[:, 0], np.tanh(ts), atol=1e-9)
    np.testing.assert_allclose(path[:, 1], 1.0 / np.cosh(ts), atol=1e-9)


def test_polar_geodesic_is_a_straight_line():
    ts = np.linspace(0, 3, 31)
    path = geodesic(polar, [1.0, 0.0], [0.2, 0.7], ts, substeps=10)
    x = path[:, 0] * np.cos(path[:, 1])
    y = path[:, 0] * np.sin(path[:, 1])
    np.testing.assert_allclose(x, 1.0 + 0.2 * ts, atol=1e-9)
    np.testing.assert_allclose(y, 0.7 * ts, atol=1e-9)


@SETTINGS
@given(coordinates3, st.lists(st.floats(-1, 1), min_size=3, max_size=3).map(np.array))
def test_geodesic_conserves_speed(x0, v0):
    ts = np.linspace(0, 1, 11)
    path, velocity = geodesic(graph3, x0, v0, ts, substeps=10, return_velocity=True)
    g = metric_tensor(graph3, path)
    speed2 = np.einsum("ti,tij,tj->t", velocity, g, velocity)
    np.testing.assert_allclose(speed2, speed2[0], atol=1e-7 * (1 + speed2[0]))


def test_geodesic_integrator_is_fourth_order():
    exact = np.array([np.tanh(2.0), 1.0 / np.cosh(2.0)])
    errors = []
    for substeps in (10, 20, 40, 80):
        path = geodesic(half_plane, [0.0, 1.0], [1.0, 0.0], [0.0, 2.0], substeps=substeps)
        errors.append(np.abs(path[-1] - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.7) & (orders < 4.3)), orders
    assert riemann._compiled(half_plane, "geodesic", 2).experimental_get_tracing_count() == 1


# --------------------------------------------------------------------------- curvature


def test_scalar_curvature_closed_forms():
    assert scalar_curvature(sphere, [0.7, 0.1]) == pytest.approx(2 / RADIUS**2, abs=1e-12)
    assert scalar_curvature(half_plane, [0.3, 0.8]) == pytest.approx(-2.0, abs=1e-12)
    assert scalar_curvature(polar, [1.7, 0.1]) == pytest.approx(0.0, abs=1e-12)
    assert scalar_curvature(spherical3, [1.2, 0.8, 0.3]) == pytest.approx(0.0, abs=1e-12)
    assert scalar_curvature(three_sphere, [0.9, 1.1, 0.0]) == pytest.approx(6 / 1.5**2, abs=1e-12)


@SETTINGS
@given(st.lists(st.floats(-1.5, 1.5), min_size=2, max_size=2).map(np.array))
def test_graph_surface_gaussian_curvature(x):
    """K = det(Hess f) / (1 + |∇f|²)² for z = f(x, y); scalar curvature = 2K."""
    grad, hess = _graph_gradient_np(x, 2), _graph_hessian_np(x, 2)
    gauss = np.linalg.det(hess) / (1 + grad @ grad) ** 2
    assert scalar_curvature(graph2, x) == pytest.approx(2 * gauss, abs=1e-11)


def test_riemann_tensor_sphere_and_symmetries():
    theta = 1.1
    r = riemann_tensor(sphere, np.array([[theta, 0.0], [0.5, 0.2]]))
    assert r.shape == (2, 2, 2, 2, 2)
    assert r[0, 0, 1, 0, 1] == pytest.approx(np.sin(theta) ** 2, abs=1e-12)
    # R^φ_θφθ = g^φφ R_φθφθ = g^φφ R_θφθφ = 1, and R^φ_θθφ = −1 by antisymmetry.
    assert r[0, 1, 0, 1, 0] == pytest.approx(1.0, abs=1e-12)
    assert r[0, 1, 0, 0, 1] == pytest.approx(-1.0, abs=1e-12)
    np.testing.assert_allclose(r, -np.swapaxes(r, 3, 4), atol=1e-13)
    flat = riemann_tensor(spherical3, [1.0, 0.7, 0.2])
    np.testing.assert_allclose(flat, 0.0, atol=1e-12)


# --------------------------------------------------------------------------- bad input


def test_bad_metrics_raise():
    with pytest.raises(TypeError, match="metric"):
        christoffel("not a metric", [1.0, 2.0])
    with pytest.raises(ValueError, match="square"):
        christoffel(lambda x: tf.ones((2, 3), dtype=tf.float64) * x[0], [1.0, 2.0])
    with pytest.raises(ValueError, match="symmetric"):
        christoffel(lambda x: tf.stack([[1.0 + 0 * x[0], x[0]], [0 * x[0], 1.0 + 0 * x[0]]]), [1.0, 2.0])
    with pytest.raises(ValueError, match="singular"):
        christoffel(polar, [0.0, 1.0])
    with pytest.raises(ValueError, match="singular"):
        christoffel(polar, [[1.0, 1.0], [0.0, 2.0]])  # singular at the second point of a batch
    with pytest.raises(TypeError, match="TensorFlow"):
        christoffel(lambda x: np.eye(2), [1.0, 2.0])


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="x must have shape"):
        christoffel(polar, np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="x must have shape"):
        christoffel(polar, [])
    with pytest.raises(ValueError, match="finite"):
        christoffel(polar, [np.nan, 1.0])
    with pytest.raises(ValueError, match="square"):
        christoffel(polar, [1.0, 2.0, 3.0])  # a 2-D metric given a 3-D point
    with pytest.raises(ValueError, match="x must have shape"):
        covariant_derivative(polar, lambda x: x, np.ones((3, 2)))
    with pytest.raises(ValueError, match="field must return shape"):
        covariant_derivative(polar, lambda x: tf.stack([x[0], x[1], x[0]]), [1.0, 2.0])
    with pytest.raises(TypeError, match="field"):
        covariant_derivative(polar, None, [1.0, 2.0])


def test_bad_transport_arguments_raise():
    circle = lambda t: np.array([1.0, t])  # noqa: E731
    with pytest.raises(ValueError, match="ts must be strictly"):
        parallel_transport(polar, circle, [1.0, 0.0], [0.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="ts must be a non-empty"):
        parallel_transport(polar, circle, [1.0, 0.0], [])
    with pytest.raises(ValueError, match="v0"):
        parallel_transport(polar, circle, np.ones((2, 2, 2)), [0.0, 1.0])
    with pytest.raises(ValueError, match="curve must return shape"):
        parallel_transport(polar, circle, [1.0, 0.0, 0.0], [0.0, 1.0])
    with pytest.raises(TypeError, match="substeps"):
        parallel_transport(polar, circle, [1.0, 0.0], [0.0, 1.0], substeps=1.5)
    with pytest.raises(ValueError, match="substeps"):
        parallel_transport(polar, circle, [1.0, 0.0], [0.0, 1.0], substeps=0)
    with pytest.raises(TypeError, match="curve"):
        parallel_transport(polar, 3, [1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="singular"):
        parallel_transport(polar, lambda t: np.array([t, 0.0]), [1.0, 0.0], [-1.0, 1.0])


def test_bad_geodesic_arguments_raise():
    with pytest.raises(ValueError, match="v0 must have shape"):
        geodesic(polar, [1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="singular"):
        geodesic(polar, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0])
    # Heading straight through the origin of polar coordinates: the metric degenerates en route.
    with pytest.raises(ValueError):
        geodesic(polar, [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0, 2.0], substeps=4)
    single = geodesic(polar, [1.0, 0.0], [0.0, 1.0], [0.0])
    np.testing.assert_array_equal(single, [[1.0, 0.0]])


def test_unhashable_metric_still_works():
    class Metric:  # defines __eq__ without __hash__, so it cannot key the cache
        def __eq__(self, other):
            return isinstance(other, Metric)

        def __call__(self, x):
            return polar(x)

    metric = Metric()
    with pytest.raises(TypeError):
        hash(metric)
    np.testing.assert_allclose(christoffel(metric, [2.0, 0.1]), christoffel(polar, [2.0, 0.1]), atol=1e-15)


# --------------------------------------------------------------------------- transformation law


def cartesian_from_polar(p):
    return tf.stack([p[0] * tf.cos(p[1]), p[0] * tf.sin(p[1])])


def cartesian_from_spherical(p):
    r, theta, phi = p[0], p[1], p[2]
    return tf.stack([r * tf.sin(theta) * tf.cos(phi), r * tf.sin(theta) * tf.sin(phi), r * tf.cos(theta)])


@SETTINGS
@given(st.floats(0.2, 4.0), st.floats(-3.0, 3.0))
def test_transformation_law_from_cartesian_zero_gives_polar_closed_form(r, theta):
    got = riemann.transform_christoffel(cartesian_from_polar, [r, theta])
    expected = np.zeros((2, 2, 2))
    expected[0, 1, 1] = -r
    expected[1, 0, 1] = expected[1, 1, 0] = 1 / r
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_transformation_law_from_cartesian_zero_matches_levi_civita_in_spherical_coordinates():
    rng = np.random.default_rng(3)
    for point in rng.uniform([0.3, 0.3, -3.0], [3.0, 2.8, 3.0], size=(5, 3)):
        np.testing.assert_allclose(
            riemann.transform_christoffel(cartesian_from_spherical, point), christoffel(spherical3, point), atol=1e-11
        )


def sheared(p):
    """New coordinates (u, v) on the unit sphere with θ = u, φ = u + v."""
    return tf.stack([p[0], p[0] + p[1]])


def sheared_sphere(p):
    """The unit sphere's metric pulled back by ``sheared`` (J = [[1, 0], [1, 1]]), written out."""
    s2 = tf.sin(p[0]) ** 2
    return tf.stack([tf.stack([1.0 + s2, s2]), tf.stack([s2, s2])])


def test_transformation_law_with_nonzero_gamma_matches_levi_civita_of_pulled_back_metric():
    for point in ([0.7, 0.2], [1.9, -1.0], [0.4, 2.5]):
        old = christoffel(unit_sphere, [point[0], point[0] + point[1]])
        got = riemann.transform_christoffel(sheared, point, gamma=old)
        np.testing.assert_allclose(got, christoffel(sheared_sphere, point), atol=1e-12)


def test_transformation_law_is_not_tensorial():
    """A tensor that vanishes in one chart vanishes in all; Γ does not."""
    tensor_part = np.zeros((2, 2, 2))  # Γ = 0 in Cartesian coordinates
    got = riemann.transform_christoffel(cartesian_from_polar, [1.5, 0.4], gamma=tensor_part)
    assert np.abs(got).max() > 0.5


def test_bad_transformation_arguments_raise():
    with pytest.raises(TypeError, match="chart"):
        riemann.transform_christoffel("polar", [1.0, 0.0])
    with pytest.raises(ValueError, match="chart must return shape"):
        riemann.transform_christoffel(lambda p: tf.stack([p[0], p[1], p[0]]), [1.0, 0.0])
    with pytest.raises(TypeError, match="chart must return a TensorFlow tensor"):
        riemann.transform_christoffel(lambda p: [1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="singular"):
        riemann.transform_christoffel(cartesian_from_polar, [0.0, 0.3])
    with pytest.raises(ValueError, match="gamma must have shape"):
        riemann.transform_christoffel(cartesian_from_polar, [1.0, 0.3], gamma=np.zeros((2, 2)))
    with pytest.raises(TypeError, match="gamma"):
        riemann.transform_christoffel(cartesian_from_polar, [1.0, 0.3], gamma="zero")
    with pytest.raises(ValueError, match="x must have shape"):
        riemann.transform_christoffel(cartesian_from_polar, [[1.0, 0.3]])


def test_non_numeric_vectors_raise_type_error():
    with pytest.raises(TypeError, match="v0"):
        parallel_transport(polar, lambda t: np.array([1.0, t]), "ab", [0.0, 1.0])
    with pytest.raises(TypeError, match="v0"):
        geodesic(polar, [1.0, 0.0], ["a", "b"], [0.0, 1.0])
    with pytest.raises(TypeError, match="return_velocity"):
        geodesic(polar, [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], return_velocity="yes")
