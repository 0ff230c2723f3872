"""The optimizer wrappers against NumPy re-implementations, optax, identities, and Keras itself.

The NumPy references below share no code with kbook.optimizers: each rule is written from its
definition (Keras Adam puts ε outside the bias correction:
``w -= lr·sqrt(1−β2^t)/(1−β1^t) · m/(sqrt(v)+ε)``).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import keras
from kbook.optimizers import GradientTransform, LazyOptimizer, Lookahead, LRMultiplier, ScratchAdam, softmax_regression_gradients, transform_gradient

RTOL, ATOL = 2e-5, 1e-5  # float32 Keras vs float64 NumPy over ~20 steps of size ~0.05


# --------------------------------------------------------------------------- NumPy references


class NpSGD:
    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum, self.m = lr, momentum, None

    def step(self, w, g):
        if self.m is None:
            self.m = np.zeros_like(w)
        self.m = self.momentum * self.m - self.lr * g
        return w + self.m


class NpAdam:
    def __init__(self, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = self.v = None
        self.t = 0

    def delta(self, g, rows=None):
        """Advance the moments (all rows, or only ``rows`` when given) and return the step."""
        if self.m is None:
            self.m, self.v = np.zeros_like(g), np.zeros_like(g)
        self.t += 1
        sel = slice(None) if rows is None else rows
        self.m[sel] = self.b1 * self.m[sel] + (1 - self.b1) * g[sel]
        self.v[sel] = self.b2 * self.v[sel] + (1 - self.b2) * g[sel] ** 2
        alpha = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        return -alpha * self.m / (np.sqrt(self.v) + self.eps)

    def step(self, w, g):
        return w + self.delta(g)


def np_lookahead(inner, w0, grads, k, alpha):
    w, slow = w0.astype(np.float64), w0.astype(np.float64)
    for t, g in enumerate(grads, start=1):
        w = inner.step(w, g)
        if t % k == 0:
            slow = slow + alpha * (w - slow)
            w = slow.copy()
    return w, slow


def run(opt, w0, grads, name="w"):
    w = keras.Variable(w0.astype("float32"), name=name)
    for g in grads:
        opt.apply([g.astype("float32")], [w])
    return keras.ops.convert_to_numpy(w)


def random_grads(shape, n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in range(n)]


# --------------------------------------------------------------------------- Lookahead


@pytest.mark.parametrize("inner", ["sgd", "adam"])
@pytest.mark.parametrize("k,alpha", [(1, 0.5), (3, 0.5), (5, 0.8), (4, 1.0)])
def test_lookahead_matches_numpy(inner, k, alpha):
    w0 = np.random.default_rng(1).normal(size=(4, 3))
    grads = random_grads((4, 3), 13)
    if inner == "sgd":
        keras_inner, np_inner = keras.optimizers.SGD(0.1, momentum=0.9), NpSGD(0.1, 0.9)
    else:
        keras_inner, np_inner = keras.optimizers.Adam(0.05), NpAdam(0.05)
    opt = Lookahead(keras_inner, sync_period=k, slow_step_size=alpha)
    got = run(opt, w0, grads)
    want, want_slow = np_lookahead(np_inner, w0, grads, k, alpha)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(opt.slow_weights[0]), want_slow, rtol=RTOL, atol=ATOL)
    assert int(keras.ops.convert_to_numpy(opt.iterations)) == len(grads)


def test_lookahead_with_k1_alpha1_is_the_inner_optimizer():
    w0 = np.random.default_rng(2).normal(size=(5,))
    grads = random_grads((5,), 9, seed=3)
    a = run(Lookahead(keras.optimizers.Adam(0.1), sync_period=1, slow_step_size=1.0), w0, grads)
    b = run(keras.optimizers.Adam(0.1), w0, grads)
    np.testing.assert_array_equal(a, b)


def test_lookahead_matches_optax_lookahead():
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    w0 = np.random.default_rng(4).normal(size=(3, 2)).astype("float32")
    grads = random_grads((3, 2), 17, seed=5)
    got = run(Lookahead(keras.optimizers.SGD(0.05, momentum=0.9), sync_period=4, slow_step_size=0.6), w0, grads)
    tx = optax.lookahead(optax.sgd(0.05, momentum=0.9), sync_period=4, slow_step_size=0.6)
    params = optax.LookaheadParams.init_synced(jnp.asarray(w0))
    state = tx.init(params)
    for g in grads:
        g = jnp.asarray(g, dtype=jnp.float32)
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(got, np.asarray(params.fast), rtol=RTOL, atol=ATOL)


def test_lookahead_counts_real_steps_under_gradient_accumulation():
    # Lookahead(SGD with 2-step accumulation) on g1..g2n equals Lookahead(SGD) on the pair means.
    w0 = np.random.default_rng(6).normal(size=(4,))
    grads = random_grads((4,), 12, seed=7)
    a = run(Lookahead(keras.optimizers.SGD(0.1, gradient_accumulation_steps=2), sync_period=3), w0, grads)
    means = [(grads[i] + grads[i + 1]) / 2 for i in range(0, 12, 2)]
    b = run(Lookahead(keras.optimizers.SGD(0.1), sync_period=3), w0, means)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_inner_learning_rate_schedule_keeps_working():
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [1.0, 0.1])
    opt = Lookahead(keras.optimizers.SGD(schedule), sync_period=100)
    got = run(opt, np.zeros(1), [np.ones(1)] * 4)
    np.testing.assert_allclose(got, [-(1.0 + 1.0 + 1.0 + 0.1)], rtol=1e-6)  # steps 0,1,2 at 1.0
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(0.1)


# --------------------------------------------------------------------------- lazy optimizer


def sparse_grads(rows, cols, n, used_rows, seed=0, per_step=3):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        g = np.zeros((rows, cols))
        idx = rng.choice(used_rows, size=per_step, replace=False)
        g[idx] = rng.normal(size=(per_step, cols))
        out.append(g)
    return out


def test_lazy_adam_matches_numpy_and_leaves_untouched_rows_bit_identical():
    rows, cols = 40, 3
    w0 = np.random.default_rng(8).normal(size=(rows, cols)).astype("float32")
    grads = sparse_grads(rows, cols, 30, used_rows=np.arange(20))
    got = run(LazyOptimizer(keras.optimizers.Adam(0.05)), w0, grads)
    # Rows 20.. never received gradient: bit-identical after 30 steps.
    np.testing.assert_array_equal(got[20:], w0[20:])
    # Reference: dense Adam computes a step for every row (moments see zeros), applied only on
    # rows whose gradient is nonzero.
    adam, w = NpAdam(0.05), w0.astype(np.float64)
    for g in grads:
        d = adam.delta(g)
        touched = np.any(g != 0, axis=1)
        w[touched] += d[touched]
    np.testing.assert_allclose(got, w, rtol=RTOL, atol=ATOL)
    # and dense Adam really does move the untouched rows (momentum), so the test can fail
    dense = run(keras.optimizers.Adam(0.05), w0, grads)
    assert np.abs(dense[:20] - got[:20]).max() > 1e-3


def test_lazy_adam_with_frozen_moments_matches_numpy_lazyadam():
    rows, cols = 30, 2
    w0 = np.random.default_rng(9).normal(size=(rows, cols)).astype("float32")
    grads = sparse_grads(rows, cols, 25, used_rows=np.arange(15), seed=1)
    got = run(LazyOptimizer(keras.optimizers.Adam(0.05), freeze_moments=True), w0, grads, name="table")
    adam, w = NpAdam(0.05), w0.astype(np.float64)
    for g in grads:
        touched = np.any(g != 0, axis=1)
        d = adam.delta(g, rows=touched)  # moments of absent rows frozen; global step t
        w[touched] += d[touched]
    np.testing.assert_allclose(got, w, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(got[15:], w0[15:])


def test_lazy_pattern_selects_variables():
    table = keras.Variable(np.ones((3, 2), "float32"), name="embeddings")
    dense = keras.Variable(np.ones((3, 2), "float32"), name="kernel")
    g = np.zeros((3, 2), "float32")
    g[0] = 1.0
    opt = LazyOptimizer(keras.optimizers.SGD(0.5, momentum=0.9), pattern="embed")
    for _ in range(2):
        opt.apply([g, g], [table, dense])
    t, d = (keras.ops.convert_to_numpy(v) for v in (table, dense))
    np.testing.assert_array_equal(t[1:], 1.0)  # lazy: untouched rows stay
    np.testing.assert_array_equal(d[1:], 1.0)  # zero gradient and zero momentum: SGD leaves them too
    np.testing.assert_allclose(t[0], d[0])  # touched rows move exactly as under the inner optimizer


@given(
    rows=st.integers(2, 12),
    cols=st.integers(1, 5),
    steps=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_lazy_untouched_rows_never_move_property(rows, cols, steps, seed):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=(rows, cols)).astype("float32")
    never = rng.random(rows) < 0.5
    grads = []
    for _ in range(steps):
        g = rng.normal(size=(rows, cols)) * (rng.random((rows, 1)) < 0.6)
        g[never] = 0.0
        grads.append(g)
    got = run(LazyOptimizer(keras.optimizers.Adam(0.1)), w0, grads)
    np.testing.assert_array_equal(got[never], w0[never])


# --------------------------------------------------------------------------- LR multipliers


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    factor=st.floats(0.0, 10.0),
    lr=st.floats(1e-3, 1.0),
    seed=st.integers(0, 2**16),
)
def test_lr_multiplier_scales_the_sgd_step(shape, factor, lr, seed):
    rng = np.random.default_rng(seed)
    w0, g = rng.normal(size=shape), rng.normal(size=shape)
    got = run(LRMultiplier(keras.optimizers.SGD(lr), {"w": factor}), w0, [g])
    want = w0.astype("float32") - (factor * np.float32(lr)) * g
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * (1 + factor))


def test_lr_multiplier_scales_the_adam_step_over_many_steps():
    w0 = np.random.default_rng(10).normal(size=(3, 3))
    grads = random_grads((3, 3), 15, seed=11)
    got = run(LRMultiplier(keras.optimizers.Adam(0.02), {"w": 0.3}), w0, grads)
    adam, w = NpAdam(0.02), w0.copy()
    for g in grads:
        w = w + 0.3 * adam.delta(g)
    np.testing.assert_allclose(got, w, rtol=RTOL, atol=ATOL)
    # for Adam a factor on the step equals the same factor on the learning rate
    np.testing.assert_allclose(got, run(keras.optimizers.Adam(0.006), w0, grads), rtol=RTOL, atol=ATOL)


def test_lr_multiplier_first_match_wins_and_zero_freezes_bitwise():
    a = keras.Variable(np.ones(2, "float32"), name="head_kernel")
    b = keras.Variable(np.ones(2, "float32"), name="base_kernel")
    c = keras.Variable(np.ones(2, "float32"), name="other")
    opt = LRMultiplier(keras.optimizers.Adam(0.1), {"head": 2.0, "kernel": 0.0})
    assert [opt.factor_for(v) for v in (a, b, c)] == [2.0, 0.0, 1.0]
    g = np.ones(2, "float32")
    for _ in range(5):
        opt.apply([g, g, g], [a, b, c])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(b), np.ones(2, "float32"))
    step_c = 1.0 - keras.ops.convert_to_numpy(c)
    step_a = 1.0 - keras.ops.convert_to_numpy(a)
    np.testing.assert_allclose(step_a, 2 * step_c, rtol=1e-5)


def test_lr_multiplier_strict_reports_unmatched_patterns():
    w = keras.Variable(np.ones(2, "float32"), name="w")
    opt = LRMultiplier(keras.optimizers.SGD(0.1), {"w": 0.5, "typo_layer": 0.1}, strict=True)
    with pytest.raises(ValueError, match="typo_layer"):
        opt.apply([np.ones(2, "float32")], [w])


# --------------------------------------------------------------------------- gradient transforms


@pytest.mark.parametrize(
    "spec,ref",
    [
        (("scale", -0.5), lambda g: -0.5 * g),
        (("clip_value", 0.3), lambda g: np.clip(g, -0.3, 0.3)),
        (("clip_norm", 0.7), lambda g: g * min(1.0, 0.7 / np.linalg.norm(g))),
        (("clip_norm", 100.0), lambda g: g),
        ("stop", lambda g: 0 * g),
    ],
)
def test_gradient_transforms_match_numpy(spec, ref):
    w0 = np.random.default_rng(12).normal(size=(3, 2))
    grads = random_grads((3, 2), 4, seed=13)
    other = keras.Variable(np.zeros((3, 2), "float32"), name="other")
    w = keras.Variable(w0.astype("float32"), name="w")
    opt = GradientTransform(keras.optimizers.SGD(0.1), {"^w$": spec})
    for g in grads:
        g = g.astype("float32")
        opt.apply([g, g], [w, other])
    want = w0.copy()
    for g in grads:
        want = want - 0.1 * ref(g.astype("float32").astype(np.float64))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), want, rtol=RTOL, atol=ATOL)
    # the unmatched variable got the plain gradient
    np.testing.assert_allclose(keras.ops.convert_to_numpy(other), -0.1 * sum(grads), rtol=RTOL, atol=ATOL)


def test_stop_is_not_freezing_under_momentum():
    w = keras.Variable(np.zeros(1, "float32"), name="w")
    opt = GradientTransform(keras.optimizers.SGD(0.1, momentum=0.9), {"w": "stop"})
    # a stopped gradient from the start: nothing moves; the chapter's point is the contrast below
    opt.apply([np.ones(1, "float32")], [w])
    assert float(keras.ops.convert_to_numpy(w)[0]) == 0.0
    v = keras.Variable(np.zeros(1, "float32"), name="v")
    inner = keras.optimizers.SGD(0.1, momentum=0.9)
    inner.apply([np.ones(1, "float32")], [v])
    before = float(keras.ops.convert_to_numpy(v)[0])
    inner.apply([np.zeros(1, "float32")], [v])  # zero gradient, but momentum keeps moving v
    assert float(keras.ops.convert_to_numpy(v)[0]) != before


def test_transform_gradient_zero_norm_is_finite():
    out = keras.ops.convert_to_numpy(transform_gradient(np.zeros(3, "float32"), ("clip_norm", 1.0)))
    np.testing.assert_array_equal(out, np.zeros(3))


# --------------------------------------------------------------------------- model.fit, save, resume


def make_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,), dtype="int32")
    x = keras.layers.Embedding(30, 5, name="embed")(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inputs, outputs)


def make_data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, size=(48, 4)).astype("int32")  # ids 20..29 never appear
    y = (x.sum(axis=1) % 2).astype("int32")
    return x, y


WRAPPERS = {
    "lookahead": lambda: Lookahead(keras.optimizers.Adam(0.01), sync_period=4, slow_step_size=0.5),
    "lazy": lambda: LazyOptimizer(keras.optimizers.Adam(0.01), pattern="embed", freeze_moments=True),
    "lrmult": lambda: LRMultiplier(keras.optimizers.Adam(0.01), {"embed": 0.1, "head/bias": 0.0}, strict=True),
    "transform": lambda: GradientTransform(keras.optimizers.SGD(0.1, momentum=0.9), {"head": ("clip_norm", 0.1)}),
    "composed": lambda: Lookahead(LRMultiplier(keras.optimizers.SGD(0.1), {"head": 0.5}), sync_period=3),
}


def compile_fit(model, opt, epochs):
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = make_data()
    return model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_fit_save_load_resume_equals_uninterrupted(kind, tmp_path):
    straight = make_model()
    history = compile_fit(straight, WRAPPERS[kind](), epochs=2)
    assert np.all(np.isfinite(history.history["loss"]))

    first = make_model()
    compile_fit(first, WRAPPERS[kind](), epochs=1)
    path = tmp_path / "m.keras"
    first.save(path)
    resumed = keras.models.load_model(path)
    assert type(resumed.optimizer) is type(straight.optimizer)
    assert int(keras.ops.convert_to_numpy(resumed.optimizer.iterations)) == 6
    resumed.fit(*make_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6, atol=1e-7)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6, atol=1e-7)


def test_fit_lazy_leaves_unseen_embedding_rows_bit_identical():
    model = make_model()
    before = keras.ops.convert_to_numpy(model.get_layer("embed").embeddings).copy()
    compile_fit(model, LazyOptimizer(keras.optimizers.Adam(0.05), pattern="embed"), epochs=3)
    after = keras.ops.convert_to_numpy(model.get_layer("embed").embeddings)
    np.testing.assert_array_equal(after[20:], before[20:])
    assert np.abs(after[:20] - before[:20]).max() > 1e-3


def test_fit_lrmultiplier_zero_freezes_a_layer():
    model = make_model()
    before = keras.ops.convert_to_numpy(model.get_layer("head").kernel).copy()
    compile_fit(model, LRMultiplier(keras.optimizers.Adam(0.05), {"head": 0.0}), epochs=2)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("head").kernel), before)


def test_stateless_apply_equals_apply():
    # The JAX trainer's path; Keras's TensorFlow optimizers refuse stateless_apply altogether.
    if keras.backend.backend() == "tensorflow":
        pytest.skip("stateless_apply is JAX-only in Keras (TensorFlow raises ValueError)")
    w0 = np.random.default_rng(14).normal(size=(6, 2)).astype("float32")
    grads = [g.astype("float32") for g in sparse_grads(6, 2, 7, used_rows=np.arange(3), seed=2)]
    for make in (
        lambda: Lookahead(keras.optimizers.Adam(0.1), sync_period=2),
        lambda: LazyOptimizer(keras.optimizers.Adam(0.1), freeze_moments=True),
        lambda: LRMultiplier(keras.optimizers.Adam(0.1), {"w": 0.5}),
    ):
        stateful = run(make(), w0, grads)
        w = keras.Variable(w0, name="w")
        opt = make()
        opt.build([w])
        values, opt_values = [w.value], [v.value for v in opt.variables]
        for g in grads:
            values, opt_values = opt.stateless_apply(opt_values, [g], values)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(values[0]), stateful, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- serialization, errors


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_serialize_round_trip(kind):
    opt = WRAPPERS[kind]()
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: Lookahead("adam"), TypeError, "optimizer"),
        (lambda: Lookahead(keras.optimizers.SGD(), sync_period=0), ValueError, "sync_period"),
        (lambda: Lookahead(keras.optimizers.SGD(), sync_period=2.5), TypeError, "sync_period"),
        (lambda: Lookahead(keras.optimizers.SGD(), slow_step_size=0.0), ValueError, "slow_step_size"),
        (lambda: Lookahead(keras.optimizers.SGD(), slow_step_size=1.5), ValueError, "slow_step_size"),
        (lambda: Lookahead(keras.optimizers.SGD(), slow_step_size=float("nan")), ValueError, "slow_step_size"),
        (lambda: Lookahead(keras.optimizers.SGD(), clipnorm=1.0), ValueError, "inner optimizer"),
        (lambda: LRMultiplier(keras.optimizers.SGD(), {"a": -1.0}), ValueError, "multipliers"),
        (lambda: LRMultiplier(keras.optimizers.SGD(), {"a": "x"}), TypeError, "multipliers"),
        (lambda: LRMultiplier(keras.optimizers.SGD(), {"(": 1.0}), ValueError, "regular expression"),
        (lambda: LRMultiplier(keras.optimizers.SGD(), [("a", 1.0)]), TypeError, "multipliers"),
        (lambda: GradientTransform(keras.optimizers.SGD(), {"a": ("norm", 1.0)}), ValueError, "unknown transform"),
        (lambda: GradientTransform(keras.optimizers.SGD(), {"a": ("clip_norm", 0.0)}), ValueError, "threshold"),
        (lambda: GradientTransform(keras.optimizers.SGD(), {"a": ("scale",)}), ValueError, "argument"),
        (lambda: LazyOptimizer(keras.optimizers.Adam(gradient_accumulation_steps=2)), ValueError, "accumulation"),
        (lambda: LazyOptimizer(keras.optimizers.Adam(), pattern=3), TypeError, "pattern"),
    ],
)
def test_bad_arguments_are_refused_with_a_named_error(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_built_inner_optimizer_is_refused():
    inner = keras.optimizers.SGD()
    inner.build([keras.Variable(np.zeros(2, "float32"))])
    with pytest.raises(ValueError, match="already built"):
        Lookahead(inner)


# --------------------------------------------------------------------------- ScratchAdam


def test_scratch_adam_matches_keras_adam_and_numpy():
    w0 = np.random.default_rng(20).normal(size=(4, 2))
    grads = [g * 1e-3 for g in random_grads((4, 2), 12, seed=21)]  # small gradients: ε matters
    ours = run(ScratchAdam(0.01), w0, grads)
    np.testing.assert_allclose(ours, run(keras.optimizers.Adam(0.01), w0, grads), rtol=1e-5, atol=1e-6)
    adam, w = NpAdam(0.01), w0.copy()
    for g in grads:
        w = adam.step(w, g)
    np.testing.assert_allclose(ours, w, rtol=RTOL, atol=ATOL)


def test_scratch_adam_paper_epsilon_matches_the_pytorch_form():
    w0 = np.random.default_rng(22).normal(size=(3,))
    grads = [g * 1e-5 for g in random_grads((3,), 8, seed=23)]
    ours = run(ScratchAdam(0.01, epsilon=1e-6, epsilon_placement="paper"), w0, grads)
    m = v = np.zeros(3)
    w = w0.copy()
    for t, g in enumerate(grads, start=1):
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-6)
    np.testing.assert_allclose(ours, w, rtol=RTOL, atol=ATOL)
    keras_form = run(ScratchAdam(0.01, epsilon=1e-6), w0, grads)
    assert np.abs(keras_form - ours).max() > 1e-4  # the placement matters at this gradient scale


def test_scratch_adam_serializes_and_refuses_bad_arguments():
    opt = ScratchAdam(0.01, epsilon_placement="paper")
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert again.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="beta_1"):
        ScratchAdam(beta_1=1.0)
    with pytest.raises(ValueError, match="epsilon_placement"):
        ScratchAdam(epsilon_placement="inside")


@given(n=st.integers(1, 6), d=st.integers(1, 4), k=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_softmax_regression_gradients_match_finite_differences(n, d, k, seed):
    rng = np.random.default_rng(seed)
    x, labels = rng.normal(size=(n, d)), rng.integers(0, k, size=n)
    kernel, bias = rng.normal(size=(d, k)), rng.normal(size=k)

    def loss(kernel, bias):
        z = x @ kernel + bias
        z = z - z.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(n), labels]))

    dk, db = (keras.ops.convert_to_numpy(t) for t in softmax_regression_gradients(
        x.astype("float32"), labels, kernel.astype("float32"), bias.astype("float32")))
    h = 1e-6
    for idx in np.ndindex(kernel.shape):
        e = np.zeros_like(kernel)
        e[idx] = h
        assert abs((loss(kernel + e, bias) - loss(kernel - e, bias)) / (2 * h) - dk[idx]) < 1e-4
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        assert abs((loss(kernel, bias + e) - loss(kernel, bias - e)) / (2 * h) - db[j]) < 1e-4
