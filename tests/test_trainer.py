"""The trainer on real digits: learning, reproducibility, live changes, divergence, snapshots."""

import numpy as np
import pytest

from engine.files.presets import load_preset
from engine.files.spec import LayerSpec, NetworkSpec, dense
from engine.training import commands
from engine.training.trainer import Trainer


def small(**hp):
    spec = NetworkSpec(layers=(dense(32), LayerSpec("dropout", rate=0.2), dense(16, "tanh")))
    return spec.with_hyperparams(**{"learning_rate": 0.05, "batch_size": 32, **hp})


def test_loss_falls_over_200_steps(splits):
    trainer = Trainer(load_preset("healthy"), splits)
    losses = [trainer.step().loss for _ in range(200)]
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])


def test_same_seed_same_weights_bit_for_bit(splits):
    spec = small(augment=True, seed=7)
    a, b = Trainer(spec, splits), Trainer(spec, splits)
    for _ in range(60):
        a.step()
        b.step()
    for name, array in a.network.named_arrays().items():
        assert np.array_equal(array, b.network.named_arrays()[name]), name
    other = Trainer(small(augment=True, seed=8), splits)
    other.step()
    assert not np.array_equal(
        other.network.named_arrays()["dense1.W"], a.network.named_arrays()["dense1.W"]
    )


def test_epochs_are_counted_and_evaluated(splits):
    trainer = Trainer(small(train_size=200, batch_size=64), splits)
    assert trainer.steps_per_epoch == 4  # 200 / 64, the last batch holds 8
    for _ in range(8):
        trainer.step()
    assert trainer.epoch == 2
    assert trainer.samples_seen == 400
    record = trainer.history.epochs[-1]
    assert record.epoch == 2
    assert 0.0 <= record.val_accuracy <= 1.0


@pytest.mark.parametrize(("batch_size", "expected"), [(1, 1), (0, 300), (16, 16)])
def test_stochastic_full_and_mini_batch(splits, batch_size, expected):
    trainer = Trainer(small(batch_size=batch_size, train_size=300), splits)
    trainer.step()
    assert trainer.samples_seen == expected


def test_hyperparameters_change_between_steps(splits):
    trainer = Trainer(small(), splits)
    trainer.step()
    trainer.apply(commands.SetHyperparams.of(learning_rate=0.001, batch_size=8, l2=0.01))
    trainer.step()
    assert trainer.history.learning_rates[:2].tolist() == [0.05, 0.001]
    assert trainer.samples_seen == 32 + 8
    assert trainer.optimizer.weight_decay == 0.01
    assert trainer.history.events[0] == (1, "batch_size: 32 → 8")


def test_dropout_scale_zero_switches_dropout_off(splits):
    trainer = Trainer(small(), splits)
    trainer.set_hyperparams(dropout_scale=0.0)
    x = np.ones((4, 784), dtype=np.float32)
    a = trainer.network.forward(x, training=True).copy()
    b = trainer.network.forward(x, training=True)
    np.testing.assert_array_equal(a, b)


def test_exploding_preset_diverges_names_a_layer_and_keeps_weights_finite(splits):
    trainer = Trainer(load_preset("exploding"), splits)
    for _ in range(300):
        result = trainer.step()
        if result.diverged:
            break
    assert result.diverged, "the exploding preset should blow up within 300 steps"
    assert "layer '" in result.diverged
    assert "learning rate" in result.diverged
    for array in trainer.network.named_arrays().values():
        assert np.isfinite(array).all()
    assert trainer.snapshot().status == "diverged"


def test_clipping_keeps_exploding_preset_finite(splits):
    spec = load_preset("exploding").with_hyperparams(clip_norm=1.0)
    trainer = Trainer(spec, splits)
    for _ in range(300):
        assert not trainer.step().diverged


def test_snapshots_carry_every_step_once(splits):
    trainer = Trainer(small(), splits)
    seen = []
    for burst in (3, 1, 5):
        for _ in range(burst):
            trainer.step()
        snap = trainer.snapshot()
        seen.extend(snap.steps.tolist())
        assert snap.grad_norms.shape == (burst, 3)
        assert not snap.losses.flags.writeable
        assert not snap.weights["dense1.W"].flags.writeable
    assert seen == list(range(1, 10))
    diag = trainer.diagnostics(percentiles=True)
    assert diag.layer_names == ("dense1", "dense3", "output")
    assert np.all(np.diff(diag.weight_percentiles, axis=1) >= 0)


def test_vanishing_preset_first_layer_gradient_is_tiny(splits):
    trainer = Trainer(load_preset("vanishing"), splits)
    for _ in range(50):
        trainer.step()
    norms = trainer.diagnostics().grad_norm
    assert norms[0] < 1e-3 * norms[-1]
    assert trainer.diagnostics().saturated_fraction[0] >= 0.0


def test_set_spec_keeps_unchanged_layers(splits):
    trainer = Trainer(small(), splits)
    trainer.step()
    before = trainer.network.named_arrays()["dense1.W"].copy()
    wider = NetworkSpec(layers=(dense(32), LayerSpec("dropout", rate=0.2), dense(24, "tanh")))
    kept = trainer.set_spec(wider.with_hyperparams(**vars(trainer.hyperparams)), keep_weights=True)
    assert "dense1.W" in kept
    assert "dense3.W" not in kept
    np.testing.assert_array_equal(trainer.network.named_arrays()["dense1.W"], before)
    assert trainer.step_count == 0


def test_taught_examples_join_the_training_set(splits):
    trainer = Trainer(small(train_size=100), splits)
    extra = splits.test.subset(np.arange(5))
    trainer.apply(commands.SetExtraExamples(extra))
    assert trainer.train_size == 105


def test_batchnorm_and_residual_network_trains(splits):
    block = LayerSpec(
        "residual", layers=(dense(32, "relu"), LayerSpec("batchnorm"), dense(32, "linear"))
    )
    spec = NetworkSpec(layers=(dense(32), LayerSpec("batchnorm"), block)).with_hyperparams(
        learning_rate=0.05
    )
    trainer = Trainer(spec, splits)
    losses = [trainer.step().loss for _ in range(100)]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert "batchnorm2.running_mean" in trainer.network.named_arrays()
    assert "residual3.batchnorm2.running_var" in trainer.network.named_arrays()
