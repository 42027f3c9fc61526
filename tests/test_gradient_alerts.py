"""Gradient alerts: criteria, plain words, fixes as data, and the presets on real training."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagnostics.alerts import (
    Thresholds,
    detect,
    detect_from,
    diagnostic_rows,
)
from engine.files.presets import load_preset
from engine.files.spec import MAX_DEPTH, LayerSpec, NetworkSpec, dense, depth, validate
from engine.files.spec_edits import with_batchnorm, with_relu_he, with_residual
from engine.snapshot import PERCENTILES, Diagnostics, StepSnapshot
from engine.training.trainer import Trainer

SIGMOID_NET = NetworkSpec(layers=(dense(32, "sigmoid", "normal"),) * 3)
NAMES = ("dense1", "dense2", "dense3", "output")


def diagnostics(grad_norm, *, names=NAMES, activations=None, dead=None, saturated=None):
    n = len(names)
    nan = np.full(n, np.nan)
    return Diagnostics(
        layer_names=tuple(names),
        activations=tuple(activations or ["sigmoid"] * (n - 1) + ["softmax"]),
        grad_norm=np.asarray(grad_norm, float),
        grad_mean_abs=np.asarray(grad_norm, float) / 100,
        grad_max_abs=np.asarray(grad_norm, float) / 10,
        weight_norm=np.full(n, 5.0),
        update_ratio_log10=np.full(n, -3.0),
        act_mean=nan,
        act_std=nan,
        dead_fraction=nan if dead is None else np.asarray(dead, float),
        saturated_fraction=nan if saturated is None else np.asarray(saturated, float),
        weight_percentiles=np.zeros((n, len(PERCENTILES))),
        grad_percentiles=np.zeros((n, len(PERCENTILES))),
    )


def snapshot(diag, spec=SIGMOID_NET, rows=None):
    rows = np.atleast_2d(diag.grad_norm if rows is None else rows)
    k = len(rows)
    return StepSnapshot(
        step=k, epoch=0, epoch_progress=0.1, samples_seen=32 * k, elapsed=0.1,
        samples_per_second=100.0, steps=np.arange(1, k + 1), losses=np.ones(k),
        learning_rates=np.full(k, 0.1), grad_norms=rows, diagnostics=diag, epochs=(),
        weights={}, spec=spec, status="running",
    )  # fmt: skip


def kinds(alerts):
    return [alert.kind for alert in alerts]


# ---------------------------------------------------------------------- criteria
def test_healthy_norms_raise_nothing():
    assert detect(snapshot(diagnostics([0.3, 0.5, 0.8, 1.2]))) == []


def test_vanishing_names_the_layers_below_a_thousandth_of_the_output():
    alerts = detect(snapshot(diagnostics([0.9e-3, 1.1e-3, 0.5, 1.0])))
    assert kinds(alerts) == ["vanishing"]
    (alert,) = alerts
    assert alert.layers == ("dense1",)  # 1.1e-3 of the output's is just above the line
    assert alert.message.startswith("Layer dense1 (the 1st of 4, counting from the input) gets")
    assert "sigmoid" in alert.message  # the cause, in the course's words
    labels = [fix.label for fix in alert.fixes]
    assert labels[:3] == ["Switch to ReLU + He init", "Add batch norm", "Add residual connections"]


def test_vanishing_uses_the_median_step_so_one_quiet_batch_is_not_an_alarm():
    rows = np.array([[0.2, 0.5, 0.8, 1.0]] * 5 + [[1e-6, 0.5, 0.8, 1.0]])
    assert detect(snapshot(diagnostics(rows[-1]), rows=rows)) == []
    assert kinds(detect(snapshot(diagnostics(rows[-1]), rows=rows[-3:]))) == []
    assert kinds(detect(snapshot(diagnostics(rows[-1]), rows=rows[-1:]))) == ["vanishing"]


def test_exploding_catches_a_spike_between_snapshots():
    rows = np.array([[0.5, 0.5, 0.5, 1.0], [2e3, 30.0, 0.5, 1.0], [0.5, 0.5, 0.5, 1.0]])
    (alert,) = detect(snapshot(diagnostics(rows[-1]), rows=rows))
    assert (alert.kind, alert.severity, alert.layers) == ("exploding", "warning", ("dense1",))
    assert "2.0e+03" in alert.message
    hyper = {fix.label: dict(fix.changes) for fix in alert.fixes if fix.kind == "hyperparams"}
    assert hyper["Clip gradients at norm 1"] == {"clip_norm": 1.0}
    assert hyper["Lower the learning rate to 0.01"] == {"learning_rate": pytest.approx(0.01)}


def test_non_finite_gradients_are_an_error_and_silence_the_rest():
    diag = diagnostics([np.inf, np.nan, 0.5, 1.0], dead=[0.9, 0.9, 0.9, np.nan])
    alerts = detect(snapshot(diag))
    assert kinds(alerts) == ["exploding"]
    assert alerts[0].severity == "error"
    assert alerts[0].layers == ("dense1", "dense2")
    assert "NaN or infinite" in alerts[0].message


def test_clipping_holds_large_gradients_in_check_but_not_nan():
    clipped = SIGMOID_NET.with_hyperparams(clip_norm=1.0)
    assert detect(snapshot(diagnostics([5e3, 10.0, 0.5, 1.0]), clipped)) == []
    (alert,) = detect(snapshot(diagnostics([np.nan, 10.0, 0.5, 1.0]), clipped))
    assert alert.severity == "error"
    assert "Clip gradients at norm 1" not in [fix.label for fix in alert.fixes]  # already on


def test_dead_and_saturated_fractions_from_half_up():
    diag = diagnostics(
        [0.5, 0.5, 0.5, 1.0],
        activations=["relu", "relu", "tanh", "softmax"],
        dead=[0.49, 0.5, np.nan, np.nan],
        saturated=[np.nan, np.nan, 0.8, np.nan],
    )
    spec = NetworkSpec(layers=(dense(32), dense(32), dense(32, "tanh", "xavier")))
    alerts = {alert.kind: alert for alert in detect(snapshot(diag, spec))}
    assert alerts["dead_relu"].layers == ("dense2",)
    assert "50%" in alerts["dead_relu"].message
    assert alerts["saturated"].layers == ("dense3",)
    assert alerts["dead_relu"].fixes[0].label == "Switch ReLU to leaky ReLU"


def test_a_saturated_mse_output_is_offered_softmax_cross_entropy():
    spec = load_preset("mse-sigmoid")
    diag = diagnostics(
        [0.1, 0.2], names=("dense1", "output"), activations=["sigmoid", "sigmoid"],
        saturated=[0.2, 0.9],
    )  # fmt: skip
    (alert,) = detect(snapshot(diag, spec))
    fix = alert.fixes[0]
    assert fix.label == "Use softmax + cross-entropy"
    fixed = fix.apply(spec)
    validate(fixed)
    assert (fixed.loss, fixed.output.activation) == ("cross_entropy", "softmax")


def test_thresholds_are_adjustable():
    diag = diagnostics([0.05, 0.5, 0.5, 1.0])
    assert detect_from(diag, SIGMOID_NET) == []
    strict = Thresholds(vanish_ratio=0.1, explode_norm=0.6)
    assert kinds(detect_from(diag, SIGMOID_NET, thresholds=strict)) == ["exploding", "vanishing"]


# ---------------------------------------------------------------------- fixes on specs
def test_relu_he_reaches_into_residual_blocks():
    spec = NetworkSpec(
        layers=(
            dense(64, "tanh", "normal", 0.1),
            LayerSpec("residual", layers=(dense(64, "sigmoid", "xavier"),)),
            LayerSpec("activation", activation="sigmoid"),
        )
    )
    fixed = with_relu_he(spec)
    validate(fixed)
    assert fixed.layers[0] == dense(64, "relu", "he", 1.0)
    assert fixed.layers[1].layers[0] == dense(64, "relu", "he", 1.0)
    assert fixed.layers[2].activation == "relu"


def test_batchnorm_goes_between_dense_and_activation_and_falls_back_when_too_deep():
    fixed = with_batchnorm(NetworkSpec(layers=(dense(32, "sigmoid"), dense(16, "tanh"))))
    assert [(layer.type, layer.activation) for layer in fixed.layers] == [
        ("dense", "linear"), ("batchnorm", "relu"), ("activation", "sigmoid"),
        ("dense", "linear"), ("batchnorm", "relu"), ("activation", "tanh"),
    ]  # fmt: skip
    deep = NetworkSpec(layers=(dense(8, "sigmoid"),) * 30)  # 90 blocks would be too deep
    fixed = with_batchnorm(deep)
    validate(fixed)
    assert depth(fixed.layers) == 60
    assert fixed.layers[1].type == "batchnorm"
    too_deep = NetworkSpec(layers=(dense(8, "sigmoid"),) * 40)
    (alert,) = detect(
        snapshot(
            diagnostics(
                [1e-9] * 40 + [1.0],
                names=diagnostic_rows(too_deep),
                activations=["sigmoid"] * 40 + ["softmax"],
            ),
            too_deep,
        )
    )
    assert "Add batch norm" not in [fix.label for fix in alert.fixes]


def test_residual_wraps_only_the_layers_that_keep_their_width():
    spec = NetworkSpec(layers=(dense(64), dense(64), LayerSpec("batchnorm"), dense(32), dense(32)))
    fixed = with_residual(spec)
    validate(fixed)
    assert [layer.type for layer in fixed.layers] == ["dense", "residual", "dense", "residual"]
    assert [inner.type for inner in fixed.layers[1].layers] == ["dense", "batchnorm"]


layer_strategy = st.one_of(
    st.builds(dense, st.sampled_from([8, 16]), st.sampled_from(["relu", "sigmoid", "tanh"]),
              st.sampled_from(["normal", "he", "xavier"]), st.sampled_from([0.1, 1.0, 2.0])),
    st.just(LayerSpec("batchnorm")),
    st.builds(lambda r: LayerSpec("dropout", rate=r), st.sampled_from([0.0, 0.3])),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=MAX_DEPTH))
def test_every_offered_fix_builds_a_valid_different_network(layers):
    spec = NetworkSpec(layers=tuple(layers))
    names = diagnostic_rows(spec)
    diag = diagnostics(
        [np.inf] + [1e-9] * (len(names) - 2) + [1.0], names=names,
        activations=["relu"] * (len(names) - 1) + ["softmax"],
        dead=[0.9] * (len(names) - 1) + [np.nan], saturated=[0.9] * len(names),
    )  # fmt: skip
    rows = np.array([[1e-9] * (len(names) - 1) + [1.0], [5e3] * len(names)])
    for alert in detect_from(diag, spec, rows) + detect_from(diag, spec, rows[:1]):
        for fix in alert.fixes:
            fixed = fix.apply(spec)
            validate(fixed)
            assert fixed != spec, fix.label


# ---------------------------------------------------------------------- real training
def train(spec, splits, steps):
    trainer = Trainer(spec.with_hyperparams(train_size=500, augment=False), splits)
    for _ in range(steps):
        if trainer.step().diverged:
            break
    return trainer, trainer.snapshot()


def test_rows_match_the_engine_diagnostics(splits):
    spec = NetworkSpec(
        layers=(
            dense(16),
            LayerSpec("dropout", rate=0.1),
            LayerSpec("batchnorm"),
            LayerSpec("residual", layers=(dense(16),)),
            LayerSpec("activation", activation="tanh"),
        )
    )
    _, snap = train(spec, splits, 1)
    assert diagnostic_rows(spec) == snap.diagnostics.layer_names
    assert diagnostic_rows(spec) == ("dense1", "batchnorm3", "residual4", "output")


def test_vanishing_preset_alerts_and_relu_he_fix_restores_the_flow(splits):
    spec = load_preset("vanishing")
    _, snap = train(spec, splits, 200)
    norms = snap.diagnostics.grad_norm
    assert norms[0] / norms[-1] < 1e-3
    (alert,) = [a for a in detect(snap) if a.kind == "vanishing"]
    assert alert.layers[0] == "dense1"
    fix = next(f for f in alert.fixes if f.label == "Switch to ReLU + He init")
    assert fix.kind == "spec"
    _, fixed = train(fix.apply(spec), splits, 200)
    norms = fixed.diagnostics.grad_norm
    assert norms[0] / norms[-1] > 1e-1
    assert "vanishing" not in kinds(detect(fixed))


def test_exploding_preset_alerts_and_clipping_at_norm_1_keeps_it_finite(splits):
    spec = load_preset("exploding")
    trainer, snap = train(spec, splits, 50)
    (alert,) = [a for a in detect(snap) if a.kind == "exploding"]
    assert alert.severity == "error"
    assert trainer.diverged
    clip = next(f for f in alert.fixes if f.label == "Clip gradients at norm 1")
    trainer, snap = train(spec.with_hyperparams(**clip.changes), splits, 200)
    assert not trainer.diverged
    assert np.isfinite(trainer.history.to_arrays()["history.losses"]).all()
    for array in snap.weights.values():
        assert np.isfinite(array).all()
    assert "exploding" not in kinds(detect(snap))
