"""Gradient views fed real training snapshots, and exact synthetic ones where values matter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from engine.diagnostics.alerts import diagnostic_rows
from engine.files.presets import load_preset
from engine.files.spec import NetworkSpec, dense
from engine.files.spec_edits import with_relu_he
from engine.snapshot import PERCENTILES, Diagnostics, StepSnapshot
from engine.training.trainer import Trainer
from gui.charts.alerts import HEALTHY_TEXT, GradientAlertsPanel
from gui.charts.gradient_flow import BAD_BRUSH, GradientFlow
from gui.charts.gradient_heatmap import GRAD_LEVELS, GradientHeatmap
from gui.charts.weight_distributions import WeightDistributions

# The offscreen platform warns once per shown top-level window; nothing to fix on our side.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

SPEC = NetworkSpec(layers=(dense(32), dense(32), dense(32)))
NAMES = diagnostic_rows(SPEC)  # dense1, dense2, dense3, output


@pytest.fixture(scope="module")
def vanishing_run(splits):
    """Snapshots every 20 steps of 200 real steps of the vanishing preset."""
    spec = load_preset("vanishing").with_hyperparams(train_size=500, augment=False)
    trainer = Trainer(spec, splits)
    snapshots = []
    for step in range(1, 201):
        trainer.step()
        if step % 20 == 0:
            snapshots.append(trainer.snapshot())
    return spec, snapshots


def synthetic(first_step, norms, *, spec=SPEC, names=NAMES, **fields):
    """A snapshot of len(norms) steps from first_step; diagnostics from the last row."""
    norms = np.asarray(norms, float)
    k, n = norms.shape
    nan = np.full(n, np.nan)
    pct = np.tile(np.linspace(-1, 1, len(PERCENTILES)), (n, 1))
    diag = Diagnostics(
        layer_names=names, activations=("relu",) * (n - 1) + ("softmax",),
        grad_norm=norms[-1], grad_mean_abs=norms[-1] / 50, grad_max_abs=norms[-1] / 5,
        weight_norm=np.full(n, 4.0), update_ratio_log10=np.linspace(-4, -2, n),
        act_mean=nan, act_std=nan, dead_fraction=np.append(np.full(n - 1, 0.25), np.nan),
        saturated_fraction=nan, weight_percentiles=pct * first_step, grad_percentiles=pct,
    )  # fmt: skip
    diag = replace(diag, **fields)
    last = first_step + k - 1
    return StepSnapshot(
        step=last, epoch=0, epoch_progress=0.5, samples_seen=32 * last, elapsed=1.0,
        samples_per_second=1e3, steps=np.arange(first_step, last + 1), losses=np.ones(k),
        learning_rates=np.full(k, 0.1), grad_norms=norms, diagnostics=diag, epochs=(),
        weights={}, spec=spec, status="running",
    )  # fmt: skip


def shown(qtbot, widget, size=(900, 600)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def view_point(plot, graphics, x, y):
    """Viewport pixel of data point (x, y) in ``plot`` once pending layout is done."""
    QApplication.processEvents()  # axis widths (so the ViewBox's place) settle lazily
    return graphics.mapFromScene(plot.vb.mapViewToScene(QPointF(x, y)))


# ---------------------------------------------------------------------- heatmap
def test_heatmap_ring_keeps_every_step_of_the_last_n(qtbot):
    heatmap = shown(qtbot, GradientHeatmap(window=50))
    heatmap.reset(SPEC)
    image_item = heatmap.grad_map.image
    steps = np.arange(1, 92)
    norms = 10.0 ** (np.sin(steps)[:, None] - np.arange(4)[None, :])  # (91, 4), all distinct
    for start in range(0, 91, 13):  # 7 snapshots of 13 steps
        heatmap.set_snapshot(synthetic(start + 1, norms[start : start + 13]))
    np.testing.assert_array_equal(heatmap.shown_steps(), np.arange(42, 92))
    np.testing.assert_allclose(heatmap.grad_values(), np.log10(norms[41:]).T, rtol=1e-6)
    assert heatmap.grad_map.image is image_item  # updated with setImage, never recreated
    assert image_item.image.shape == (4, 50)
    np.testing.assert_allclose(
        image_item.image, np.log10(norms[41:]).T, rtol=1e-6
    )  # drawn in order


def test_window_follows_the_spin_box(qtbot):
    heatmap = shown(qtbot, GradientHeatmap(window=100))
    heatmap.reset(SPEC)
    heatmap.set_snapshot(synthetic(1, np.full((60, 4), 0.1)))
    heatmap.window_spin.lineEdit().selectAll()
    qtbot.keyClicks(heatmap.window_spin.lineEdit(), "50")
    qtbot.keyClick(heatmap.window_spin.lineEdit(), Qt.Key.Key_Return)
    assert heatmap.window() == 50
    np.testing.assert_array_equal(heatmap.shown_steps(), np.arange(11, 61))
    heatmap.set_window(200)  # growing keeps what there is and fills up from there
    heatmap.set_snapshot(synthetic(61, np.full((30, 4), 0.1)))
    np.testing.assert_array_equal(heatmap.shown_steps(), np.arange(11, 91))
    assert heatmap.window_spin.value() == 200


def heatmap_of(qtbot, vanishing_run):
    """A shown heatmap that has drawn every snapshot of the vanishing preset's run."""
    spec, snapshots = vanishing_run
    heatmap = shown(qtbot, GradientHeatmap(window=300))
    heatmap.reset(spec)
    for snap in snapshots:
        heatmap.set_snapshot(snap)
    return heatmap, snapshots


def test_vanishing_preset_heatmap_marks_the_first_layer_blue(qtbot, vanishing_run):
    heatmap, snapshots = heatmap_of(qtbot, vanishing_run)
    assert heatmap.grad_values().shape == (11, 200)  # every one of the 200 steps
    lo, hi = GRAD_LEVELS
    level = (heatmap.grad_values()[:, -1] - lo) / (hi - lo)  # position on the colour bar
    assert level[0] < 0.2  # deep in the blue half
    assert 0.3 < level[-1] < 0.7  # the output layer sits in the neutral middle
    latest = snapshots[-1].step
    first_px = view_point(heatmap.grad_plot, heatmap.graphics, latest, 0.5)
    output_px = view_point(heatmap.grad_plot, heatmap.graphics, latest, 10.5)
    image = heatmap.graphics.grab().toImage()
    first, output = image.pixelColor(first_px), image.pixelColor(output_px)
    assert first.blue() > first.red() + 80  # rendered blue
    assert min(output.red(), output.green(), output.blue()) > 180  # rendered near-white


def test_hovering_a_cell_reads_layer_step_and_value(qtbot, vanishing_run):
    heatmap, snapshots = heatmap_of(qtbot, vanishing_run)
    step = 150
    point = view_point(heatmap.grad_plot, heatmap.graphics, step, 1.5)  # dense2
    qtbot.mouseMove(heatmap.graphics.viewport(), point)
    norm = snapshots[7].grad_norms[step - snapshots[7].steps[0], 1]
    text = heatmap.hover_label.text()
    assert text.startswith(f"dense2 (sigmoid) · step {step} · ‖∇‖ = {norm:.2e}")
    assert "0% saturated" in text


def test_non_finite_and_zero_norms_draw_at_the_ends_of_the_colour_bar(qtbot):
    heatmap = shown(qtbot, GradientHeatmap(window=50))
    heatmap.set_snapshot(synthetic(1, [[np.nan, np.inf, 0.0, 1.0]]))
    np.testing.assert_array_equal(heatmap.grad_map.image.image[:, 0], [4.0, 4.0, -6.0, 0.0])
    assert "‖∇‖ = NaN/inf" in heatmap.cell_text(0, 0)
    assert "‖∇‖ = 0" in heatmap.cell_text(2, 0)


def test_heatmap_reallocates_when_the_network_changes(qtbot):
    heatmap = shown(qtbot, GradientHeatmap(window=50))
    heatmap.set_snapshot(synthetic(1, np.full((10, 4), 0.1)))
    small = NetworkSpec(layers=(dense(16),))
    heatmap.reset(small)
    assert heatmap.grad_values().shape == (2, 0)
    labels = [label for _, label in heatmap.grad_plot.getAxis("left")._tickLevels[0]]
    assert labels == ["dense1", "output"]
    heatmap.set_snapshot(synthetic(1, np.full((5, 2), 0.1), spec=small, names=("dense1", "output")))
    assert heatmap.grad_values().shape == (2, 5)
    assert heatmap.activation_values()[0, -1] == pytest.approx(0.25)  # dead fraction row


# ---------------------------------------------------------------------- gradient flow
def test_flow_bars_show_the_latest_diagnostics_on_a_log_scale(qtbot):
    flow = shown(qtbot, GradientFlow(), (700, 650))
    flow.reset(SPEC)
    snap = synthetic(1, [[1e-4, np.nan, 0.1, 1.0]])
    flow.set_snapshot(snap)
    opts = flow.mean_bars.item.opts
    tops = opts["y0"] + np.asarray(opts["height"])
    np.testing.assert_allclose(tops[[0, 2, 3]], np.log10([2e-6, 2e-3, 2e-2]))
    assert opts["brushes"][1] is BAD_BRUSH  # NaN drawn in red, to the top
    assert tops[1] == pytest.approx(flow.grad_plot.vb.viewRange()[1][1], abs=0.2)
    _, y = flow.ratio_curve.getData()
    np.testing.assert_allclose(y, snap.diagnostics.update_ratio_log10)
    assert flow.reference.value() == -3.0
    qtbot.mouseMove(flow.graphics.viewport(), view_point(flow.ratio_plot, flow.graphics, 2, -3))
    assert flow.readout.text().startswith("dense3 (relu): mean |g| 2.00e-03")


def test_flow_of_the_vanishing_preset_falls_towards_the_input(qtbot, vanishing_run):
    spec, snapshots = vanishing_run
    flow = shown(qtbot, GradientFlow(), (700, 650))
    flow.reset(spec)
    flow.set_snapshot(snapshots[-1])
    opts = flow.mean_bars.item.opts
    tops = opts["y0"] + np.asarray(opts["height"])
    assert tops[-1] - tops[0] > 3  # more than three decades from output back to input
    assert np.all(np.diff(tops) > 0)


# ---------------------------------------------------------------------- distributions
def test_distributions_accumulate_and_follow_the_chosen_layer(qtbot, vanishing_run):
    spec, snapshots = vanishing_run
    dists = shown(qtbot, WeightDistributions(), (700, 550))
    dists.reset(spec)
    for snap in [*snapshots, snapshots[-1]]:  # a repeated snapshot adds no point
        dists.set_snapshot(snap)
    steps, weights, _ = dists.history("dense1")
    np.testing.assert_array_equal(steps, np.arange(20, 201, 20))
    np.testing.assert_array_equal(weights[-1], snapshots[-1].diagnostics.weight_percentiles[0])
    assert np.all(np.diff(weights, axis=1) >= 0)  # percentiles ascend
    qtbot.waitUntil(lambda: len(dists.weight_bands.median.getData()[0]) == 10)  # <= 10 Hz
    qtbot.keyClick(dists.layer_combo, Qt.Key.Key_Down)
    assert dists.layer() == "dense2"
    x, median = dists.weight_bands.median.getData()
    np.testing.assert_array_equal(x, steps)
    np.testing.assert_array_equal(median, dists.history("dense2")[1][:, 4])
    assert dists.grad_plot.titleLabel.text == "gradients of dense2"


def test_distributions_halve_their_resolution_when_full(qtbot):
    dists = shown(qtbot, WeightDistributions(capacity=8), (700, 550))
    for step in range(1, 21):
        dists.set_snapshot(synthetic(step, [[0.1, 0.1, 0.1, 1.0]]))
    steps, weights, _ = dists.history("dense1")
    # 8 points fill up at step 9 (keep 1,3,5,7), again at 17 (keep 1,5,9,13); 20 is live.
    np.testing.assert_array_equal(steps, [1, 5, 9, 13, 17, 20])
    np.testing.assert_array_equal(weights[:, -1], steps)  # each point kept with its own data


# ---------------------------------------------------------------------- alerts panel
def test_exploding_card_offers_clipping_in_one_click(qtbot):
    panel = shown(qtbot, GradientAlertsPanel(), (500, 400))
    panel.reset(SPEC)
    panel.set_snapshot(synthetic(1, [[0.5, 0.5, 0.5, 1.0], [4e3, 2.0, 0.5, 1.0]]))
    card = panel.cards()["exploding"]
    assert "dense1" in card.message.text()
    button = card.button("Clip gradients at norm 1")
    with qtbot.waitSignal(panel.hyperparams_fix_requested) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert blocker.args == [{"clip_norm": 1.0}]
    assert not button.isEnabled()


def test_vanishing_card_switches_the_network_to_relu_he(qtbot, vanishing_run):
    spec, snapshots = vanishing_run
    panel = shown(qtbot, GradientAlertsPanel(), (500, 400))
    panel.reset(spec)
    panel.set_snapshot(snapshots[-1])
    card = panel.cards()["vanishing"]
    with qtbot.waitSignal(panel.spec_fix_requested) as blocker:
        qtbot.mouseClick(card.button("Switch to ReLU + He init"), Qt.MouseButton.LeftButton)
    assert blocker.args == [with_relu_he(spec)]


def test_cards_update_in_place_linger_then_go(qtbot):
    panel = shown(qtbot, GradientAlertsPanel(linger=3), (500, 400))
    panel.set_snapshot(synthetic(1, [[1e-6, 0.5, 0.5, 1.0]]))
    card = panel.cards()["vanishing"]
    buttons = list(card.buttons)
    panel.set_snapshot(synthetic(2, [[2e-6, 0.5, 0.5, 1.0]]))
    assert panel.cards()["vanishing"] is card  # same widget, new numbers
    assert card.buttons == buttons
    assert "2.0e-06" in card.message.text()
    for step in range(3, 6):
        panel.set_snapshot(synthetic(step, [[0.5, 0.5, 0.5, 1.0]]))
        assert "vanishing" in panel.cards()  # a borderline layer does not make it flicker
    panel.set_snapshot(synthetic(6, [[0.5, 0.5, 0.5, 1.0]]))
    assert panel.cards() == {}
    assert panel.status.text() == HEALTHY_TEXT
    panel.set_snapshot(synthetic(7, [[1e-6, 0.5, 0.5, 1.0]]))
    panel.reset(SPEC)
    assert panel.cards() == {}
