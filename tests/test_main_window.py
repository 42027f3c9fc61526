"""The main window driven as a user would: keys, slider drags, menus, banner, closing."""

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from qt_helpers import drag

from engine.files.presets import load_preset


def latest(app):
    return app.controller.latest


def test_space_starts_training_and_the_loss_falls(qtbot, make_app):
    app = make_app()
    losses = []
    app.controller.snapshot_ready.connect(lambda s: losses.extend(s.losses.tolist()))
    qtbot.keyClick(app.window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(losses) >= 200, timeout=30000)
    qtbot.keyClick(app.window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: app.controller.status == "paused", timeout=5000)
    assert np.mean(losses[180:200]) < 0.6 * np.mean(losses[:20])
    assert app.window.start_action.text() == "Start"
    assert app.window.status.field_text("step").startswith("Step ")
    assert app.loss_plot.history_rows()[0]["step"] == 1


def test_learning_rate_drag_reaches_the_running_trainer(qtbot, make_app):
    app = make_app()
    app.controller.start()
    qtbot.waitUntil(lambda: latest(app) is not None and latest(app).step > 10, timeout=10000)
    slider = app.hyperparams.learning_rate.slider
    drag(qtbot, slider, [slider.width() // 4, -40])  # all the way left: 1e-5
    qtbot.waitUntil(
        lambda: latest(app).learning_rates.size > 0 and latest(app).learning_rates[-1] == 1e-5,
        timeout=10000,
    )
    assert latest(app).spec.hyperparams.learning_rate == 1e-5
    assert app.controller.status == "running"


def test_pause_then_step_advances_exactly_one_step(qtbot, make_app):
    app = make_app()
    qtbot.keyClick(app.window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: latest(app) is not None and latest(app).step > 5, timeout=10000)
    qtbot.keyClick(app.window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: latest(app).status == "paused", timeout=5000)
    before = latest(app).step
    qtbot.keyClick(app.window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: latest(app).step == before + 1, timeout=5000)
    qtbot.wait(200)
    assert latest(app).step == before + 1
    epoch = latest(app).epoch
    qtbot.keyClick(app.window, Qt.Key.Key_E)
    qtbot.waitUntil(
        lambda: latest(app).epoch == epoch + 1 and latest(app).status == "paused", timeout=10000
    )
    assert latest(app).epoch_progress == 0.0


def test_huge_learning_rate_on_exploding_preset_pauses_and_names_the_layer(qtbot, make_app):
    app = make_app(load_preset("exploding").with_hyperparams(learning_rate=5.0))
    qtbot.keyClick(app.window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: app.window.banner.isVisible(), timeout=15000)
    assert app.controller.status == "diverged"
    text = app.window.banner.label.text()
    assert "layer '" in text
    assert "learning rate" in text
    assert app.window.start_action.text() == "Start"
    step = latest(app).step
    qtbot.wait(200)
    assert latest(app).step == step, "training must stay paused"
    # One click: lower the learning rate and reset.
    app.window.banner.buttons[0].click()
    qtbot.waitUntil(lambda: latest(app).step == 0, timeout=5000)
    assert latest(app).spec.hyperparams.learning_rate == pytest.approx(0.5)
    assert not app.window.banner.isVisible()


def test_closing_mid_training_stops_the_thread(qtbot, make_app):
    app = make_app()
    app.controller.start()
    qtbot.waitUntil(lambda: latest(app) is not None and latest(app).step > 5, timeout=10000)
    qtbot.keyClick(app.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not app.window.isVisible()
    assert not app.controller.is_running()
    assert "training" not in [t.name for t in threading.enumerate()]


def test_save_and_open_model_with_shortcuts(qtbot, make_app, tmp_path, monkeypatch):
    app = make_app()
    app.controller.step(20)
    qtbot.waitUntil(lambda: latest(app) is not None and latest(app).step == 20, timeout=10000)
    path = tmp_path / "trained"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(app.controller.saved, timeout=5000):
        qtbot.keyClick(app.window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = tmp_path / "trained.npz"
    assert saved.exists()
    weights = latest(app).weights["dense1.W"].copy()
    qtbot.keyClick(app.window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: latest(app).step == 0, timeout=5000)
    assert not np.array_equal(latest(app).weights["dense1.W"], weights)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(saved), ""))
    qtbot.keyClick(app.window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: np.array_equal(latest(app).weights["dense1.W"], weights), timeout=5000)


def test_broken_model_file_shows_a_message_and_keeps_the_network(
    qtbot, make_app, tmp_path, monkeypatch
):
    app = make_app()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text: messages.append(text))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    qtbot.waitUntil(lambda: latest(app) is not None, timeout=5000)
    weights = latest(app).weights["dense1.W"].copy()
    app.window.open_model_action.trigger()
    assert messages
    assert "bad.npz" in messages[0]
    qtbot.wait(100)
    np.testing.assert_array_equal(latest(app).weights["dense1.W"], weights)


def test_session_save_and_exports(qtbot, make_app, tmp_path, monkeypatch):
    app = make_app()
    app.controller.step(30)
    qtbot.waitUntil(lambda: latest(app) is not None and latest(app).step == 30, timeout=10000)
    targets = iter([tmp_path / "session.npz", tmp_path / "plots.png", tmp_path / "history.csv"])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(next(targets)), ""))
    with qtbot.waitSignal(app.controller.saved, timeout=5000):
        qtbot.keyClick(
            app.window,
            Qt.Key.Key_S,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    app.window.export_png_action.trigger()
    app.window.export_csv_action.trigger()
    assert (tmp_path / "plots.png").stat().st_size > 1000
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0].startswith("step,")
    assert len(lines) == 31
    from engine.files.checkpoint import load_model

    assert load_model(tmp_path / "session.npz").meta["step"] == 30


def test_layout_is_restored_next_launch(qtbot, make_app, settings):
    app = make_app()
    dock = app.window.docks["GradientHeatmap"]
    dock.setFloating(True)
    app.window.close()
    again = make_app()
    assert again.window.docks["GradientHeatmap"].isFloating()


def test_init_knobs_rebuild_the_network_and_the_builder_shows_it(qtbot, make_app):
    app = make_app()
    qtbot.waitUntil(lambda: latest(app) is not None, timeout=10000)
    app.hyperparams.init_changed.emit("xavier", 0.5)
    qtbot.waitUntil(lambda: latest(app).spec.layers[0].init == "xavier", timeout=5000)
    assert latest(app).spec.layers[0].init_scale == 0.5
    assert latest(app).spec.output.init == "xavier"
    assert app.builder.spec().layers[0].init == "xavier"


def test_weight_distributions_receive_percentiles_of_the_trained_weights(qtbot, make_app):
    from gui.charts.weight_distributions import WeightDistributions

    app = make_app()
    (dists,) = [view for view in app.views if isinstance(view, WeightDistributions)]
    app.controller.start()
    qtbot.waitUntil(lambda: len(dists.history("dense1")[0]) >= 3, timeout=15000)
    app.controller.pause()
    qtbot.waitUntil(lambda: app.controller.status == "paused", timeout=5000)
    snapshot = latest(app)
    steps, weights, grads = dists.history("dense1")
    assert steps[-1] == snapshot.step
    # The training process leaves the percentiles to the GUI process; the view shows the ones of
    # the weights that snapshot carries (dense1's W and b together).
    arrays = [snapshot.weights["dense1.W"], snapshot.weights["dense1.b"]]
    assert weights[-1, 0] == min(a.min() for a in arrays)
    assert weights[-1, -1] == max(a.max() for a in arrays)
    assert np.all(np.isfinite(grads))
    assert np.all(np.diff(grads, axis=1) >= 0)
    assert snapshot.gradients == {}  # dropped once used
