"""Parameter and multiply-add counts of engine.layers.cost against hand-computed networks."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.layers.cost import block_cost, layer_widths, network_cost


def test_known_mlp_totals() -> None:
    spec = NetworkSpec(layers=(dense(128), dense(64)))
    # 784*128+128 + 128*64+64 + 64*10+10
    assert network_cost(spec) == (109_386, 784 * 128 + 128 * 64 + 64 * 10)


def test_no_hidden_layers_is_logistic_regression() -> None:
    assert network_cost(NetworkSpec(layers=())) == (7_850, 7_840)


def test_elementwise_blocks_are_free_and_keep_width() -> None:
    for layer in (LayerSpec("activation", activation="tanh"), LayerSpec("dropout", rate=0.3)):
        assert block_cost(layer, 37) == (0, 0, 37)


def test_batchnorm_counts_gamma_and_beta() -> None:
    assert block_cost(LayerSpec("batchnorm"), 64) == (128, 64, 64)


def test_residual_sums_inner_layers_and_keeps_input_width() -> None:
    block = LayerSpec("residual", layers=(dense(32), LayerSpec("batchnorm"), dense(64, "linear")))
    params, macs, out = block_cost(block, 64)
    assert params == (64 * 32 + 32) + 64 + (32 * 64 + 64)
    assert macs == 64 * 32 + 32 + 32 * 64
    assert out == 64


def test_layer_widths_follow_the_chain() -> None:
    layers = (dense(100), LayerSpec("dropout", rate=0.5), dense(7), LayerSpec("batchnorm"))
    assert layer_widths(layers) == [100, 100, 7, 7]


@given(st.lists(st.integers(1, 300), max_size=6))
def test_dense_chain_matches_formula(units: list[int]) -> None:
    widths = [784, *units, 10]
    expected_params = sum(a * b + b for a, b in pairwise(widths))
    expected_macs = sum(a * b for a, b in pairwise(widths))
    spec = NetworkSpec(layers=tuple(dense(u) for u in units))
    assert network_cost(spec) == (expected_params, expected_macs)
