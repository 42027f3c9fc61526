"""Update rules against hand-computed values, weight decay, clipping, state, and LR schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.files.spec import OPTIMIZERS, Hyperparams
from engine.layers.parameter import Parameter
from engine.training.clipping import clip_by_global_norm, clip_by_value, global_norm
from engine.training.optimizers import (
    SGD,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    make_optimizer,
    update_optimizer,
)
from engine.training.schedules import learning_rate_at, schedule_curve

# One tiny parameter w0 = [1, -2] (float64), the same three gradients for every rule, lr = 0.1.
W0 = (1.0, -2.0)
GRADS = ((0.5, -1.0), (0.1, 0.2), (-0.3, 0.4))
LR = 0.1


def run(opt_factory, steps: int = 3, w0=W0) -> list[np.ndarray]:
    """Weights after each of ``steps`` updates with the fixed gradients above."""
    p = Parameter("w", np.array(w0, dtype=np.float64))
    opt = opt_factory([p])
    out = []
    for g in GRADS[:steps]:
        p.grad[...] = g
        opt.step(LR)
        out.append(p.value.copy())
    return out


# --------------------------------------------------------------------- update rules by hand
def test_sgd_by_hand():
    # w -= 0.1 g:  [1, -2] -> [0.95, -1.9] -> [0.94, -1.92] -> [0.97, -1.96]
    expected = [[0.95, -1.9], [0.94, -1.92], [0.97, -1.96]]
    np.testing.assert_allclose(run(SGD), expected, rtol=1e-12)


def test_momentum_by_hand():
    # v = 0.9 v - 0.1 g; w += v
    # v1 = [-0.05, 0.1]                                   w1 = [0.95, -1.9]
    # v2 = [-0.045 - 0.01, 0.09 - 0.02] = [-0.055, 0.07]  w2 = [0.895, -1.83]
    # v3 = [-0.0495 + 0.03, 0.063 - 0.04] = [-0.0195, 0.023]  w3 = [0.8755, -1.807]
    expected = [[0.95, -1.9], [0.895, -1.83], [0.8755, -1.807]]
    np.testing.assert_allclose(run(lambda ps: Momentum(ps, 0.9)), expected, rtol=1e-12)


def test_nesterov_by_hand():
    # v' = 0.9 v - 0.1 g (same velocities as momentum); w += 0.9 v' - 0.1 g
    # u1 = 0.9 [-0.05, 0.1] - [0.05, -0.1]    = [-0.095, 0.19]    w1 = [0.905, -1.81]
    # u2 = 0.9 [-0.055, 0.07] - [0.01, 0.02]  = [-0.0595, 0.043]  w2 = [0.8455, -1.767]
    # u3 = 0.9 [-0.0195, 0.023] - [-0.03, 0.04] = [0.01245, -0.0193]  w3 = [0.85795, -1.7863]
    # PyTorch's form gives the same: b1 = g1, u1 = -0.1 (g1 + 0.9 b1) = [-0.095, 0.19];
    # b2 = 0.9 b1 + g2 = [0.55, -0.7], u2 = -0.1 (g2 + 0.9 b2) = [-0.0595, 0.043].
    expected = [[0.905, -1.81], [0.8455, -1.767], [0.85795, -1.7863]]
    np.testing.assert_allclose(run(lambda ps: Nesterov(ps, 0.9)), expected, rtol=1e-12)


def test_nesterov_matches_pytorch_form_at_constant_lr():
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((6, 5))
    p = Parameter("w", rng.standard_normal(5))
    w_torch, buf = p.value.copy(), np.zeros(5)
    opt = Nesterov([p], momentum=0.8)
    for g in grads:
        p.grad[...] = g
        opt.step(0.05)
        buf = 0.8 * buf + g  # torch.optim.SGD(nesterov=True), dampening 0
        w_torch -= 0.05 * (g + 0.8 * buf)
    np.testing.assert_allclose(p.value, w_torch, rtol=1e-12)


def test_nesterov_without_momentum_is_sgd_and_keeps_its_velocity():
    np.testing.assert_allclose(run(lambda ps: Nesterov(ps, 0.0), 2), run(SGD, 2), rtol=1e-12)
    # With μ = 0 the velocity is -lr g; raising μ afterwards continues from it:
    # v1 = [-0.05, 0.1]; μ = 0.9: v2 = [-0.055, 0.07], u2 = 0.9 v2 - 0.1 g2 = [-0.0595, 0.043]
    p = Parameter("w", np.array(W0))
    opt = Nesterov([p], 0.0)
    p.grad[...] = GRADS[0]
    opt.step(LR)
    opt.set_hyperparams(momentum=0.9)
    p.grad[...] = GRADS[1]
    np.testing.assert_allclose(opt.step(LR, measure=True)[p], math.hypot(0.0595, 0.043))
    np.testing.assert_allclose(p.value, [0.95 - 0.0595, -1.9 + 0.043], rtol=1e-12)


def test_rmsprop_by_hand():
    # s = 0.9 s + 0.1 g²; w -= 0.1 g / (√s + 1e-8)
    # s1 = [0.025, 0.1];  u1 = -0.1 g1 / (|g1| √0.1 + 1e-8) ≈ ∓0.316227766 (eps moves digit 8)
    #   w1 = [0.683772254, -1.683772244]
    # s2 = [0.0225 + 0.001, 0.09 + 0.004] = [0.0235, 0.094];  √s2 = [0.153297097, 0.306594194]
    #   u2 = -0.1 [0.1, 0.2] / √s2 = [-0.0652328, -0.0652328]  w2 = [0.618539451, -1.749005049]
    # s3 = [0.02115 + 0.009, 0.0846 + 0.016] = [0.03015, 0.1006]
    #   u3 = -0.1 [-0.3, 0.4] / √s3 = [0.172773675, -0.126113328]  w3 = [0.791313126, -1.875118377]
    expected = [
        [0.6837722539831608, -1.6837722439831617],
        [0.6185394509331354, -1.7490050491608464],
        [0.7913131260991593, -1.8751183774085898],
    ]
    np.testing.assert_allclose(run(lambda ps: RMSProp(ps, rho=0.9)), expected, rtol=1e-10)


def test_adam_by_hand():
    # m = 0.9 m + 0.1 g; v = 0.999 v + 0.001 g²; w -= 0.1 m̂ / (√v̂ + 1e-8)
    # t=1: m̂ = g1, v̂ = g1², u1 = -0.1 g1 / (|g1| + 1e-8) = [-0.099999998, 0.099999999]
    #   w1 = [0.900000002, -1.900000001]
    # t=2: m2 = [0.055, -0.07], v2 = [0.00025975, 0.001039]; bias corrections 0.19 and 0.001999
    #   m̂ = [0.289473684, -0.368421053], √v̂ = [0.360471899, 0.720944990]
    #   u2 = [-0.080304096, 0.051102607]  w2 = [0.819695906, -1.848897394]
    # t=3: m3 = [0.0195, -0.023], v3 = [0.00034949025, 0.001197961]; corrections 0.271, 0.002997001
    #   u3 = [-0.021071295, 0.013423960]  w3 = [0.798624612, -1.835473434]
    expected = [
        [0.900000002, -1.900000001],
        [0.8196959063846518, -1.8488973939904947],
        [0.7986246117635081, -1.8354734342081562],
    ]
    np.testing.assert_allclose(run(Adam), expected, rtol=1e-10)


# --------------------------------------------------------------------- weight decay
def test_weight_decay_only_on_decay_params_and_grad_untouched():
    # W: w -= 0.1 (g + 0.1 w) = [1 - 0.1 (0.5 + 0.1), -2 - 0.1 (-1 - 0.2)] = [0.94, -1.88]
    # b (decay=False): plain SGD, [0.95, -1.9]
    weight = Parameter("W", np.array(W0), decay=True)
    bias = Parameter("b", np.array(W0), decay=False)
    for p in (weight, bias):
        p.grad[...] = GRADS[0]
    SGD([weight, bias], weight_decay=0.1).step(LR)
    np.testing.assert_allclose(weight.value, [0.94, -1.88], rtol=1e-12)
    np.testing.assert_allclose(bias.value, [0.95, -1.9], rtol=1e-12)
    np.testing.assert_array_equal(weight.grad, GRADS[0])  # diagnostics still see the raw gradient


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_weight_decay_equals_adding_it_to_the_gradient(name):
    rng = np.random.default_rng(2)
    w0, grads = rng.standard_normal(4), rng.standard_normal((3, 4))
    hp = Hyperparams(optimizer=name, l2=0.05)
    decayed, manual = Parameter("d", w0.copy()), Parameter("m", w0.copy())
    exempt = Parameter("e", w0.copy(), decay=False)
    opt_decay = make_optimizer(hp, [decayed, exempt])
    opt_manual = make_optimizer(Hyperparams(optimizer=name), [manual])
    opt_plain = make_optimizer(Hyperparams(optimizer=name), [Parameter("x", w0.copy())])
    plain = opt_plain.params[0]
    for g in grads:
        decayed.grad[...] = exempt.grad[...] = plain.grad[...] = g
        manual.grad[...] = g + 0.05 * manual.value
        opt_decay.step(0.01)
        opt_manual.step(0.01)
        opt_plain.step(0.01)
    np.testing.assert_allclose(decayed.value, manual.value, rtol=1e-12)
    np.testing.assert_array_equal(exempt.value, plain.value)


# --------------------------------------------------------------------- measure
def test_measure_returns_hand_computed_update_norms():
    p = Parameter("w", np.array(W0))
    p.grad[...] = GRADS[0]
    assert SGD([p]).step(LR) is None
    # SGD: 0.1 ‖[0.5, -1]‖ = 0.1 √1.25
    assert SGD([p]).step(LR, measure=True)[p] == pytest.approx(0.1 * math.sqrt(1.25), rel=1e-12)
    # Momentum step 2: ‖v2‖ = ‖[-0.055, 0.07]‖ = √0.007925
    opt = Momentum([p], 0.9)
    opt.step(LR)
    p.grad[...] = GRADS[1]
    assert opt.step(LR, measure=True)[p] == pytest.approx(math.sqrt(0.007925), rel=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_measure_equals_the_change_in_weights(name):
    rng = np.random.default_rng(3)
    params = [Parameter("W", rng.standard_normal((3, 4))), Parameter("b", np.zeros(4), decay=False)]
    opt = make_optimizer(Hyperparams(optimizer=name, l2=0.01), params)
    for _ in range(3):
        before = [p.value.copy() for p in params]
        for p in params:
            p.grad[...] = rng.standard_normal(p.value.shape)
        norms = opt.step(0.05, measure=True)
        assert set(norms) == set(params)
        for p, old in zip(params, before, strict=True):
            assert norms[p] == pytest.approx(np.linalg.norm(p.value - old), rel=1e-9)


# --------------------------------------------------------------------- state
def _float32_params(rng: np.random.Generator) -> list[Parameter]:
    shapes = {"W1": (6, 5), "b1": (5,), "W2": (5, 3)}
    return [
        Parameter(n, rng.standard_normal(s).astype(np.float32), decay=n[0] == "W")
        for n, s in shapes.items()
    ]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(name):
    hp = Hyperparams(optimizer=name, l2=0.01)
    rng = np.random.default_rng(4)
    grads = [
        [rng.standard_normal(p.value.shape).astype(np.float32) for p in _float32_params(rng)]
        for _ in range(6)
    ]
    params_a = _float32_params(np.random.default_rng(5))
    opt_a = make_optimizer(hp, params_a)

    def train(opt: Optimizer, params: list[Parameter], batches: list) -> None:
        for step_grads in batches:
            for p, g in zip(params, step_grads, strict=True):
                p.grad[...] = g
            opt.step(0.01)

    train(opt_a, params_a, grads[:3])
    saved_state = opt_a.state_dict()
    saved_weights = [p.value.copy() for p in params_a]
    train(opt_a, params_a, grads[3:])

    params_b = _float32_params(np.random.default_rng(99))
    for p, w in zip(params_b, saved_weights, strict=True):
        p.value[...] = w
    opt_b = make_optimizer(hp, params_b)
    opt_b.load_state_dict(saved_state)
    train(opt_b, params_b, grads[3:])
    for a, b in zip(params_a, params_b, strict=True):
        assert b.value.dtype == np.float32
        np.testing.assert_array_equal(a.value, b.value)


def test_state_dict_keys_and_copies():
    p = Parameter("dense1.W", np.ones((2, 2)))
    p.grad[...] = 1.0
    adam = Adam([p])
    adam.step(0.1)
    state = adam.state_dict()
    assert set(state) == {"dense1.W.m", "dense1.W.v", "step"}
    assert state["step"].shape == ()
    assert state["step"].dtype == np.int64
    assert state["step"] == 1
    state["dense1.W.m"][...] = 123.0  # a copy: editing it leaves the optimiser alone
    assert adam.state_dict()["dense1.W.m"][0, 0] != 123.0
    assert set(Momentum([p]).state_dict()) == {"dense1.W.velocity"}
    assert set(RMSProp([p]).state_dict()) == {"dense1.W.mean_square"}
    assert SGD([p]).state_dict() == {}


def test_load_state_dict_says_what_does_not_fit():
    p = Parameter("W", np.ones((2, 3)))
    opt = Momentum([p])
    with pytest.raises(ValueError, match=r"Momentum state is missing W\.velocity"):
        opt.load_state_dict({})
    with pytest.raises(
        ValueError, match=r"W\.velocity has shape \(3, 2\), the parameter has \(2, 3\)"
    ):
        opt.load_state_dict({"W.velocity": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"unexpected W\.m.*another optimiser"):
        opt.load_state_dict({"W.velocity": np.zeros((2, 3)), "W.m": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"W\.velocity holds <U1, not floating point"):
        opt.load_state_dict({"W.velocity": np.full((2, 3), "x")})
    assert not opt.state_dict()["W.velocity"].any()  # failed loads changed nothing
    adam, moments = Adam([p]), {"W.m": np.ones((2, 3)), "W.v": np.ones((2, 3))}
    with pytest.raises(ValueError, match="missing step"):
        adam.load_state_dict(moments)
    with pytest.raises(ValueError, match="'step' must be a whole number >= 0"):
        adam.load_state_dict({**moments, "step": np.array(-1)})
    assert not adam.state_dict()["W.m"].any()


def test_duplicate_parameter_names_cannot_be_saved():
    opt = Momentum([Parameter("W", np.ones(2)), Parameter("W", np.ones(3))])
    with pytest.raises(ValueError, match="unique"):
        opt.state_dict()


def test_set_hyperparams_keeps_velocity():
    p = Parameter("w", np.array(W0))
    opt = Momentum([p], 0.9)
    p.grad[...] = GRADS[0]
    opt.step(LR)  # v1 = [-0.05, 0.1], w1 = [0.95, -1.9]
    opt.set_hyperparams(momentum=0.5)
    np.testing.assert_allclose(opt.state_dict()["w.velocity"], [-0.05, 0.1], rtol=1e-12)
    p.grad[...] = GRADS[1]
    opt.step(LR)  # v2 = 0.5 v1 - 0.1 g2 = [-0.035, 0.03], w2 = [0.915, -1.87]
    np.testing.assert_allclose(p.value, [0.915, -1.87], rtol=1e-12)
    assert opt.hyperparams() == {"weight_decay": 0.0, "momentum": 0.5}
    with pytest.raises(ValueError, match="no optimizer hyperparameter betta; valid: weight_decay"):
        opt.set_hyperparams(betta=0.9)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        opt.set_hyperparams(weight_decay=0.5, momentum=1.0)
    assert opt.hyperparams() == {"weight_decay": 0.0, "momentum": 0.5}  # all or nothing


def test_set_hyperparams_aliases():
    adam = Adam([Parameter("w", np.zeros(2))])
    adam.set_hyperparams(momentum=0.5, beta2=0.9, rho=0.1)  # Hyperparams names; rho not Adam's
    assert adam.hyperparams() == {"weight_decay": 0.0, "beta1": 0.5, "beta2": 0.9, "eps": 1e-8}
    adam.set_hyperparams(beta1=0.8, momentum=0.6)  # the own name wins, whatever the order
    assert adam.beta1 == 0.8


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_keeps_dtype_and_buffers(name):
    p = Parameter("W", np.ones((4, 3), dtype=np.float32))
    p.grad[...] = 0.5
    opt = make_optimizer(Hyperparams(optimizer=name, l2=0.1), [p])
    value = p.value
    opt.step(np.float64(0.1))  # a NumPy scalar lr must not turn the update into float64
    opt.step(0.1)
    assert p.value is value
    assert p.value.dtype == np.float32
    np.testing.assert_array_equal(p.grad, 0.5)
    opt.zero_grad()
    assert not p.grad.any()


# --------------------------------------------------------------------- make_optimizer
# With momentum 0.8, beta2 0.95, l2 0.01: momentum is also Adam's beta1, beta2 also RMSProp's rho.
MAPPING = {
    "sgd": (SGD, {}),
    "momentum": (Momentum, {"momentum": 0.8}),
    "nesterov": (Nesterov, {"momentum": 0.8}),
    "rmsprop": (RMSProp, {"rho": 0.95, "eps": 1e-8}),
    "adam": (Adam, {"beta1": 0.8, "beta2": 0.95, "eps": 1e-8}),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_make_optimizer_maps_every_spec_name(name):
    cls, expected = MAPPING[name]
    hp = Hyperparams(optimizer=name, momentum=0.8, beta2=0.95, l2=0.01)
    opt = make_optimizer(hp, [Parameter("w", np.zeros(2))])
    assert type(opt) is cls
    assert opt.name == name
    assert opt.hyperparams() == {"weight_decay": 0.01, **expected}


def test_make_optimizer_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; valid: sgd, momentum"):
        make_optimizer(Hyperparams(optimizer="lbfgs"), [Parameter("w", np.zeros(2))])


def test_update_optimizer_keeps_state_or_switches():
    p = Parameter("w", np.array(W0))
    p.grad[...] = GRADS[0]
    opt = make_optimizer(Hyperparams(optimizer="momentum"), [p])
    opt.step(LR)
    same = update_optimizer(opt, Hyperparams(optimizer="momentum", momentum=0.5, l2=0.1))
    assert same is opt
    assert opt.hyperparams() == {"weight_decay": 0.1, "momentum": 0.5}
    assert opt.state_dict()["w.velocity"].any()
    other = update_optimizer(opt, Hyperparams(optimizer="adam"))
    assert isinstance(other, Adam)
    assert other.params == [p]


# --------------------------------------------------------------------- clipping
def _grads(*arrays) -> list[Parameter]:
    return [
        Parameter(f"p{i}", np.zeros(len(a)), grad=np.array(a, dtype=float))
        for i, a in enumerate(arrays)
    ]


def test_global_norm():
    assert global_norm(_grads([3.0, 4.0], [12.0])) == pytest.approx(13.0, rel=1e-15)
    assert math.isnan(global_norm(_grads([3.0, np.nan])))
    assert global_norm(_grads([np.inf, 1.0])) == math.inf
    # float32 squares overflow here, the norm itself does not: √2 · 1e20
    big = [Parameter("b", np.zeros(2, np.float32), grad=np.full(2, 1e20, np.float32))]
    assert global_norm(big) == pytest.approx(math.sqrt(2) * 1e20, rel=1e-6)


def test_clip_by_global_norm_scales_to_max_norm_and_leaves_small_grads_alone():
    params = _grads([3.0, 4.0], [12.0])  # norm 13
    assert clip_by_global_norm(params, 20.0) == pytest.approx(13.0)
    assert clip_by_global_norm(params, 13.0) == pytest.approx(13.0)  # exactly at the limit
    np.testing.assert_array_equal(params[0].grad, [3.0, 4.0])
    np.testing.assert_array_equal(params[1].grad, [12.0])
    assert clip_by_global_norm(params, 6.5) == pytest.approx(13.0)
    np.testing.assert_allclose(params[0].grad, [1.5, 2.0], rtol=1e-15)
    np.testing.assert_allclose(params[1].grad, [6.0], rtol=1e-15)
    assert global_norm(params) == pytest.approx(6.5, rel=1e-15)


def test_clip_by_global_norm_uses_given_norm_and_skips_nonfinite():
    params = _grads([3.0, 4.0])
    assert clip_by_global_norm(params, 5.0, norm=10.0) == 10.0  # trusted: scaled by 5 / 10
    np.testing.assert_allclose(params[0].grad, [1.5, 2.0])
    bad = _grads([np.nan, 4.0])
    assert math.isnan(clip_by_global_norm(bad, 1.0))
    np.testing.assert_array_equal(bad[0].grad, [np.nan, 4.0])
    bad = _grads([np.inf, 4.0])  # scaling by 1/inf would hide the inf behind nan and zeros
    assert clip_by_global_norm(bad, 1.0) == math.inf
    np.testing.assert_array_equal(bad[0].grad, [np.inf, 4.0])
    with pytest.raises(ValueError, match="positive"):
        clip_by_global_norm(params, 0.0)


def test_clip_by_value():
    params = _grads([-3.0, 0.5, 2.0, np.nan], [-0.25])
    clip_by_value(params, 1.0)
    np.testing.assert_array_equal(params[0].grad, [-1.0, 0.5, 1.0, np.nan])
    np.testing.assert_array_equal(params[1].grad, [-0.25])


# --------------------------------------------------------------------- schedules
@pytest.mark.parametrize(
    ("schedule", "epoch", "expected"),
    [
        ("constant", 0.0, 0.1),
        ("constant", 7.3, 0.1),
        # step every 2 epochs, gamma 0.5
        ("step", 0.0, 0.1),
        ("step", 1.99, 0.1),
        ("step", 2.0, 0.05),
        ("step", sum([0.2] * 10), 0.05),  # 1.9999999999999998, float noise: already dropped
        ("step", 5.5, 0.025),
        # cosine over 10 epochs down to 0.1 * 0.01 = 0.001: 0.001 + 0.099 (1 + cos(π e/10)) / 2
        ("cosine", 0.0, 0.1),
        ("cosine", 2.5, 0.001 + 0.099 * (1 + math.sqrt(0.5)) / 2),  # 0.08550178...
        ("cosine", 5.0, 0.0505),
        ("cosine", 10.0, 0.001),
        ("cosine", 12.0, 0.001),  # stays at the floor past the planned end
    ],
)
def test_learning_rate_at(schedule, epoch, expected):
    hp = Hyperparams(learning_rate=0.1, schedule=schedule, step_every=2, step_gamma=0.5)
    lr = learning_rate_at(hp, epoch_float=epoch, total_epochs=10)
    assert type(lr) is float
    assert lr == pytest.approx(expected, rel=1e-12)


def test_unknown_schedule():
    with pytest.raises(
        ValueError, match="unknown schedule 'warmup'; valid: constant, step, cosine"
    ):
        learning_rate_at(Hyperparams(schedule="warmup"), epoch_float=0.0, total_epochs=1)


def test_schedule_curve():
    hp = Hyperparams(learning_rate=0.1, schedule="cosine")
    epochs, lrs = schedule_curve(hp, 10, points=50)
    assert epochs.shape == lrs.shape == (50,)
    assert (epochs[0], epochs[-1]) == (0.0, 10.0)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[-1] == pytest.approx(0.001)
    assert np.all(np.diff(lrs) <= 0)

    step = Hyperparams(learning_rate=0.1, schedule="step", step_every=2, step_gamma=0.5)
    epochs, lrs = schedule_curve(step, 5, points=11)
    assert np.all(np.diff(epochs) > 0)
    # Both sides of each drop are sampled, so a line plot draws vertical steps.
    for drop, before, after in ((2.0, 0.1, 0.05), (4.0, 0.05, 0.025)):
        i = int(np.searchsorted(epochs, drop))
        assert epochs[i] == drop
        assert drop - epochs[i - 1] < 1e-4
        assert (lrs[i - 1], lrs[i]) == pytest.approx((before, after))
