"""Packed parameters: one buffer for all values and one for all gradients, updated per run."""

import numpy as np
import pytest

from engine.layers.param_pack import pack, runs
from engine.layers.parameter import Parameter
from engine.training.optimizers import OPTIMIZER_CLASSES

SHAPES = ((6, 4), (4,), (4, 3), (3,), (3, 2), (2,))  # W1, b1, W2, b2, W3, b3


def make_params(dtype=np.float64):
    rng = np.random.default_rng(1)
    return [
        Parameter(f"p{i}", rng.standard_normal(shape).astype(dtype), decay=len(shape) == 2)
        for i, shape in enumerate(SHAPES)
    ]


def test_pack_keeps_contents_and_lays_decayed_parameters_first():
    params = make_params()
    before = [p.value.copy() for p in params]
    for p in params:
        p.grad[...] = 7.0
    pack(params)
    for p, value in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.value, value)
        assert p.value.base is params[0].value.base
        np.testing.assert_array_equal(p.grad, 7.0)
    found = runs(params)
    assert [run.decay for run in found] == [True, False]
    assert [[p.name for p, _ in run.pieces] for run in found] == [
        ["p0", "p2", "p4"],
        ["p1", "p3", "p5"],
    ]
    assert found[0].value.size == 24 + 12 + 6
    found[0].grad[:] = 1.5  # the run's arrays are the parameters' memory
    np.testing.assert_array_equal(params[2].grad, 1.5)


def test_loose_mixed_or_partial_parameters_form_the_right_runs():
    loose = make_params()
    assert len(runs(loose)) == len(loose)
    mixed = make_params()
    mixed[1] = Parameter("p1", np.zeros(4, np.float32), decay=False)
    pack(mixed)  # two dtypes: left as they are
    assert all(p.value.base is None for p in mixed)
    packed = make_params()
    pack(packed)
    subset = [packed[0], packed[4], packed[1]]  # W1 and W3 are not neighbours without W2
    assert sorted(len(run.pieces) for run in runs(subset)) == [1, 1, 1]
    assert [len(run.pieces) for run in runs(packed[:4])] == [2, 2]


@pytest.mark.parametrize("kind", sorted(OPTIMIZER_CLASSES))
def test_updates_over_runs_equal_updates_per_parameter_bit_for_bit(kind):
    loose, packed = make_params(np.float32), make_params(np.float32)
    pack(packed)
    opts = []
    for params in (loose, packed):
        opt = OPTIMIZER_CLASSES[kind](params)
        opt.set_hyperparams(weight_decay=0.01)
        opts.append(opt)
    rng = np.random.default_rng(2)
    for step in range(4):
        grads = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
        norms = []
        for params, opt in zip((loose, packed), opts, strict=True):
            for p, g in zip(params, grads, strict=True):
                p.grad[...] = g
            measured = opt.step(0.05, measure=step == 3)
            norms.append([measured[p] for p in params] if measured else None)
        assert norms[0] == norms[1]
    for a, b in zip(loose, packed, strict=True):
        np.testing.assert_array_equal(a.value, b.value)
    assert [opts[0].update_norms()[p] for p in loose] == [opts[1].update_norms()[p] for p in packed]
    state = opts[1].state_dict()
    assert state.keys() == opts[0].state_dict().keys()
    for key, array in opts[0].state_dict().items():
        np.testing.assert_array_equal(state[key], array)
    for key, array in state.items():
        if key != "step":
            assert array.shape == SHAPES[int(key[1])], key
    # Loading writes through to the packed state: a zeroed state comes back as saved.
    opts[1].load_state_dict({key: np.zeros_like(array) for key, array in state.items()})
    assert all(not array.any() for array in opts[1].state_dict().values())
    opts[1].load_state_dict(state)
    for key, array in opts[1].state_dict().items():
        np.testing.assert_array_equal(array, state[key])
