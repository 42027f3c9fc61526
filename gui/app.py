"""Composition root: builds the controller, the views and the window, and wires their signals.

Direction of data: views emit what the user did -> this module turns it into controller commands;
the controller's snapshots -> every view's ``set_snapshot``. Views never see the trainer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from engine.data.datasets import Splits
from engine.data.sources import load_dataset
from engine.files.presets import load_preset
from engine.files.spec import NetworkSpec, SpecError
from engine.files.spec_edits import init_of, with_init
from engine.snapshot import StepSnapshot
from gui.builder.panel import NetworkBuilder
from gui.charts.alerts import GradientAlertsPanel
from gui.charts.gradient_flow import GradientFlow
from gui.charts.gradient_heatmap import GradientHeatmap
from gui.charts.loss_plot import LossPlot
from gui.charts.weight_distributions import WeightDistributions
from gui.controls.hyperparams import HyperparamPanel
from gui.data_actions import DataActions
from gui.drawing.view import DrawingView
from gui.file_actions import FileActions
from gui.main_window import MainWindow
from gui.training.controller import TrainingController

Area = Qt.DockWidgetArea


@dataclass
class App:
    """Everything the window is made of, for tests and for the launcher."""

    window: MainWindow
    controller: TrainingController
    loss_plot: LossPlot
    hyperparams: HyperparamPanel
    builder: NetworkBuilder
    drawing: DrawingView
    alerts: GradientAlertsPanel
    files: FileActions
    data: DataActions
    views: list[QWidget]

    def shutdown(self) -> None:
        self.data.shutdown()
        self.controller.shutdown()


def build_app(
    *,
    settings: QSettings | None = None,
    spec: NetworkSpec | None = None,
    splits: Splits | None = None,
    mirrors: list[str] | None = None,
) -> App:
    spec = spec or load_preset("healthy")
    splits = splits or load_dataset(None)
    settings = settings or QSettings("Backprop Playground", "Backprop Playground")
    loss_plot = LossPlot()
    window = MainWindow(loss_plot, settings)
    hyper = HyperparamPanel()
    hyper.set_pool_size(len(splits.train))
    hyper.set_hyperparams(spec.hyperparams)
    hyper.set_init(*init_of(spec))
    builder = NetworkBuilder()
    builder.set_spec(spec)
    drawing = DrawingView()
    flow, heatmap, distributions = GradientFlow(), GradientHeatmap(), WeightDistributions()
    alerts = GradientAlertsPanel()
    window.add_panel(hyper, "Hyperparameters", Area.LeftDockWidgetArea)
    window.add_panel(alerts, "Gradient alerts", Area.LeftDockWidgetArea)
    window.add_panel(drawing, "Draw a digit", Area.RightDockWidgetArea)
    window.add_panel(builder, "Network", Area.BottomDockWidgetArea)
    window.add_panel(heatmap, "Gradient heatmaps", Area.BottomDockWidgetArea)
    window.splitDockWidget(
        window.docks["NetworkBuilder"], window.docks["GradientHeatmap"], Qt.Orientation.Horizontal
    )
    window.add_panel(flow, "Gradient flow", Area.BottomDockWidgetArea, tabify_with="NetworkBuilder")
    window.add_panel(
        distributions,
        "Weights && gradients",
        Area.BottomDockWidgetArea,
        tabify_with="GradientHeatmap",
    )
    window.docks["NetworkBuilder"].raise_()
    horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    window.size_docks(["HyperparamPanel", "DrawingView"], [400, 430], horizontal)
    window.size_docks(["HyperparamPanel", "GradientAlertsPanel"], [560, 200], vertical)
    window.size_docks(["NetworkBuilder"], [400], vertical)
    window.size_docks(["NetworkBuilder", "GradientHeatmap"], [760, 840], horizontal)
    views: list[QWidget] = [loss_plot, builder, drawing, flow, heatmap, distributions, alerts]
    for view in views:
        view.reset(spec)
    # Last: from here on a training thread runs and must be shut down.
    controller = TrainingController(spec, splits)
    taught = drawing.taught_dataset()
    if len(taught):
        controller.set_extra_examples(taught)  # digits taught in earlier sessions train too
    files = FileActions(window, controller)
    data = DataActions(window, controller, window.status, mirrors)
    app = App(window, controller, loss_plot, hyper, builder, drawing, alerts, files, data, views)
    _wire(app)
    window.restore_layout()
    return app


def _wire(app: App) -> None:
    window, controller = app.window, app.controller

    def on_snapshot(snapshot: StepSnapshot) -> None:
        window.status.set_snapshot(snapshot)
        for view in app.views:
            view.set_snapshot(snapshot)
        if snapshot.step > 0:
            app.builder.set_trained(True)

    def on_status(status: str) -> None:
        window.set_running(status == "running")
        if status == "finished":
            window.status.showMessage("Finished the planned epochs; press Start to go on.", 8000)

    def on_spec_changed(spec: NetworkSpec) -> None:
        window.banner.hide()
        app.builder.set_trained(False)
        app.hyperparams.set_hyperparams(spec.hyperparams)
        app.hyperparams.set_init(*init_of(spec))
        window.status.clear_training()
        for view in app.views:
            view.reset(spec)

    def set_hyperparams(changes: dict) -> None:
        try:
            controller.set_hyperparams(**changes)
        except SpecError as exc:
            window.status.showMessage(f"Not applied: {exc}", 8000)
            return
        step = controller.latest.step if controller.latest else 0
        for name, value in changes.items():
            app.loss_plot.mark_event(
                step, f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"
            )

    def apply_spec(spec: NetworkSpec, keep_weights: bool) -> None:
        controller.set_spec(
            replace(spec, hyperparams=controller.spec.hyperparams), keep_weights=keep_weights
        )

    def rebuild(spec: NetworkSpec) -> None:
        """A change made outside the builder (an alert's fix, the init knobs): train and show it."""
        controller.set_spec(spec)
        app.builder.set_spec(spec)

    def change_init(scheme: str, scale: float) -> None:
        rebuild(with_init(controller.spec, scheme, scale))

    def reset_with(**changes) -> None:
        set_hyperparams(changes)
        controller.reset()

    controller.snapshot_ready.connect(on_snapshot)
    controller.status_changed.connect(on_status)
    controller.spec_changed.connect(on_spec_changed)
    controller.diverged.connect(window.banner.show_message)
    window.start_action.triggered.connect(controller.toggle)
    window.step_action.triggered.connect(lambda: controller.step(1))
    window.epoch_action.triggered.connect(controller.run_epoch)
    window.reset_action.triggered.connect(lambda: controller.reset())
    window.save_model_action.triggered.connect(lambda: app.files.save_model())
    window.save_session_action.triggered.connect(lambda: app.files.save_model(session=True))
    window.open_model_action.triggered.connect(app.files.open_model)
    window.export_png_action.triggered.connect(
        lambda: app.files.export_png(app.loss_plot.export_png)
    )
    window.export_csv_action.triggered.connect(
        lambda: app.files.export_csv(app.loss_plot.history_rows)
    )
    window.bundled_action.triggered.connect(app.data.use_bundled)
    window.download_action.triggered.connect(app.data.start_download)
    window.idx_action.triggered.connect(app.data.open_idx_folder)
    app.data.dataset_changed.connect(lambda text: window.status.showMessage(text, 8000))
    window.banner.reset_requested.connect(lambda: controller.reset())
    window.banner.lower_lr_requested.connect(
        lambda: reset_with(learning_rate=controller.spec.hyperparams.learning_rate / 10)
    )
    window.banner.clip_requested.connect(lambda: reset_with(clip_norm=1.0))
    app.hyperparams.hyperparams_changed.connect(set_hyperparams)
    app.hyperparams.init_changed.connect(change_init)
    app.builder.apply_requested.connect(apply_spec)
    app.alerts.hyperparams_fix_requested.connect(set_hyperparams)
    app.alerts.spec_fix_requested.connect(rebuild)
    app.drawing.examples_changed.connect(controller.set_extra_examples)
    window.closing.connect(app.shutdown)


def run_app(argv: list[str]) -> int:
    qt_app = QApplication.instance() or QApplication(argv)
    qt_app.setApplicationName("Backprop Playground")
    qt_app.setOrganizationName("Backprop Playground")
    try:
        app = build_app()
    except (SpecError, OSError, ValueError) as exc:
        QMessageBox.critical(None, "Backprop Playground", f"Cannot start: {exc}")
        return 2
    app.window.resize(1500, 950)
    app.window.show()
    code = qt_app.exec()
    app.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(run_app(sys.argv))
