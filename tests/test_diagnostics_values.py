"""Full diagnostics against plain NumPy recomputations of what each field means."""

import numpy as np
import pytest

from engine.diagnostics.layer_health import SIGMOID_HIGH, SIGMOID_LOW, TANH_LIMIT
from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.training.trainer import Trainer


@pytest.fixture(scope="module")
def trained():
    from engine.data.sources import load_dataset

    spec = NetworkSpec(
        layers=(
            dense(48),
            LayerSpec("dropout", rate=0.3),
            dense(32, "sigmoid", "normal", 4.0),  # large init: saturated units
            dense(24, "tanh", "normal", 3.0),
            dense(16, "leaky_relu"),
        )
    ).with_hyperparams(optimizer="adam", learning_rate=0.01, batch_size=16, l2=0.001)
    trainer = Trainer(spec, load_dataset(None))
    for _ in range(30):
        trainer.step()
    return trainer


def test_every_field_matches_its_definition(trained):
    diag = trained.diagnostics()
    net = trained.network
    blocks = [b for b in net.blocks if b.params]
    assert diag.layer_names == tuple(b.name for b in blocks)
    for i, block in enumerate(blocks):
        grads = np.concatenate([p.grad.ravel() for p in block.params]).astype(np.float64)
        weights = np.concatenate([p.value.ravel() for p in block.params]).astype(np.float64)
        out = block.output.astype(np.float64)
        assert diag.grad_mean_abs[i] == pytest.approx(np.abs(grads).mean(), rel=1e-5)
        assert diag.grad_max_abs[i] == np.abs(grads).max()
        assert diag.weight_norm[i] == pytest.approx(np.linalg.norm(weights), rel=1e-6)
        assert diag.act_mean[i] == pytest.approx(out.mean(), rel=1e-5, abs=1e-6)
        assert diag.act_std[i] == pytest.approx(out.std(), rel=1e-5)
        assert np.isfinite(diag.update_ratio_log10[i])
        kind = block.activation
        if kind in ("relu", "leaky_relu", "elu"):
            assert diag.dead_fraction[i] == 1.0 - (out > 0).any(axis=0).mean()
        else:
            assert np.isnan(diag.dead_fraction[i])
        if kind == "sigmoid":
            low, high = np.float32(SIGMOID_LOW), np.float32(SIGMOID_HIGH)
            expected = ((block.output < low) | (block.output > high)).mean()
            assert diag.saturated_fraction[i] == expected
            assert expected > 0.05  # the large initialisation saturates some units
        elif kind == "tanh":
            assert diag.saturated_fraction[i] == (np.abs(block.output) > TANH_LIMIT).mean()
        else:
            assert np.isnan(diag.saturated_fraction[i])


def test_dead_units_are_counted(trained):
    block = next(b for b in trained.network.blocks if b.activation == "leaky_relu")
    saved = block.output.copy()
    try:
        block.output[:, :4] = -0.01  # four units negative for the whole batch
        block.output[:, 4:] = np.abs(block.output[:, 4:]) + 0.1
        i = trained.diagnostics().layer_names.index(block.name)
        assert trained.diagnostics().dead_fraction[i] == 4 / block.output.shape[1]
    finally:
        block.output[...] = saved
