"""Update norms computed on request (Optimizer.update_norms) equal the ones measured in the step."""

import math

import numpy as np
import pytest

from engine.files.spec import OPTIMIZERS, Hyperparams, NetworkSpec, dense
from engine.layers.parameter import Parameter
from engine.training.optimizers import make_optimizer
from engine.training.trainer import Trainer


def _params(seed: int) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [
        Parameter("W", rng.standard_normal((5, 4)).astype(np.float32)),
        Parameter("b", np.zeros(4, np.float32), decay=False),
    ]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_norms_equal_the_measured_ones(name):
    hp = Hyperparams(optimizer=name, l2=0.01)
    measured, lazy = _params(0), _params(0)
    opt_measured, opt_lazy = make_optimizer(hp, measured), make_optimizer(hp, lazy)
    assert opt_lazy.update_norms() == {}
    rng = np.random.default_rng(1)
    for _ in range(4):
        for a, b in zip(measured, lazy, strict=True):
            a.grad[...] = b.grad[...] = rng.standard_normal(a.value.shape)
        norms = opt_measured.step(0.05, measure=True)
        assert opt_lazy.step(0.05) is None
        got = opt_lazy.update_norms()
        assert [got[p] for p in lazy] == [norms[p] for p in measured]  # bit for bit


def test_trainer_update_ratio_is_the_weight_change(splits):
    spec = NetworkSpec(layers=(dense(16), dense(8, "tanh"))).with_hyperparams(
        optimizer="momentum", learning_rate=0.05, batch_size=16
    )
    trainer = Trainer(spec, splits)
    assert np.isnan(trainer.diagnostics().update_ratio_log10).all()  # no step yet
    for _ in range(3):
        trainer.step()
    before = {name: a.copy() for name, a in trainer.network.named_arrays().items()}
    trainer.step()
    after = trainer.network.named_arrays()
    diag = trainer.diagnostics()
    for i, block in enumerate(diag.layer_names):
        names = [n for n in after if n.startswith(f"{block}.")]
        change = math.sqrt(sum(np.sum((after[n] - before[n]).astype(float) ** 2) for n in names))
        weights = math.sqrt(sum(np.sum(after[n].astype(float) ** 2) for n in names))
        assert diag.update_ratio_log10[i] == pytest.approx(math.log10(change / weights), abs=1e-4)
