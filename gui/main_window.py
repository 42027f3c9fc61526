"""The window frame: central plots, docked panels, menus, toolbar, shortcuts, saved layout.

No training logic lives here: gui/app.py connects these actions to the controller and views.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QVBoxLayout, QWidget

from gui.divergence_banner import DivergenceBanner
from gui.status_bar import TrainingStatusBar

LAYOUT_VERSION = 1


class MainWindow(QMainWindow):
    closing = Signal()  # the window is about to close: stop training first

    def __init__(self, central: QWidget, settings: QSettings) -> None:
        super().__init__()
        self.setWindowTitle("Backprop Playground")
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)
        self.settings = settings
        self.banner = DivergenceBanner()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(central, 1)
        self.setCentralWidget(body)
        self.status = TrainingStatusBar()
        self.setStatusBar(self.status)
        self.docks: dict[str, QDockWidget] = {}
        self._pending_tabs: list[tuple[str, str]] = []  # (dock, dock tabbed onto it)
        self._default_sizes: list[tuple[list[str], list[int], Qt.Orientation]] = []
        self._restore_state = False
        self._make_actions()
        self._make_menus()

    # ----------------------------------------------------------------- actions
    def _action(self, text: str, shortcut: str | QKeySequence | None, tip: str) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            # Application-wide, so the keys also work while a floating panel has the focus.
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        shown = f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip
        action.setToolTip(shown)
        action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        self.start_action = self._action("Start", "Space", "Start or pause training")
        self.step_action = self._action("Step", "S", "Train on one mini-batch, then pause")
        self.epoch_action = self._action("Epoch", "E", "Train to the end of the current epoch")
        self.reset_action = self._action("Reset", "Ctrl+R", "Draw fresh weights and start again")
        self.open_model_action = self._action("Open model…", "Ctrl+O", "Load a saved model")
        self.save_model_action = self._action("Save model…", "Ctrl+S", "Save spec and weights")
        self.save_session_action = self._action(
            "Save session…", "Ctrl+Shift+S", "Save spec, weights, hyperparameters and history"
        )
        self.export_png_action = self._action("Export plots as PNG…", None, "Save the plots")
        self.export_csv_action = self._action(
            "Export history as CSV…", None, "Save loss, learning rate and epoch metrics per step"
        )
        self.quit_action = self._action("Quit", "Ctrl+Q", "Stop training and close the window")
        self.bundled_action = self._action(
            "Bundled 5,000 digits", None, "The offline default: 500 real MNIST digits per class"
        )
        self.bundled_action.setCheckable(True)
        self.bundled_action.setChecked(True)
        self.download_action = self._action(
            "Download full MNIST (70,000)…", None, "Download, verify and cache the full dataset"
        )
        self.idx_action = self._action(
            "Open IDX folder…", None, "Train on MNIST-format files (MNIST, Fashion-MNIST, EMNIST)"
        )
        self.quit_action.triggered.connect(self.close)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.open_model_action, self.save_model_action, self.save_session_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_png_action)
        file_menu.addAction(self.export_csv_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        train_menu = bar.addMenu("&Train")
        for action in (self.start_action, self.step_action, self.epoch_action, self.reset_action):
            train_menu.addAction(action)
        data_menu = bar.addMenu("&Data")
        for action in (self.bundled_action, self.download_action, self.idx_action):
            data_menu.addAction(action)
        self.view_menu = bar.addMenu("&View")
        toolbar = self.addToolBar("Training")
        toolbar.setObjectName("TrainingToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.start_action, self.step_action, self.epoch_action, self.reset_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.save_model_action)
        toolbar.addAction(self.open_model_action)

    def set_running(self, running: bool) -> None:
        self.start_action.setText("Pause" if running else "Start")

    # ----------------------------------------------------------------- docks
    def add_panel(
        self,
        widget: QWidget,
        title: str,
        area: Qt.DockWidgetArea,
        *,
        tabify_with: str | None = None,
    ) -> QDockWidget:
        """Dock ``widget``; its class name is the dock's objectName, for the saved layout."""
        dock = QDockWidget(title, self)
        dock.setObjectName(type(widget).__name__)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        if tabify_with is not None:
            # Tabified on first show: tabifying a second group before the window is shown left a
            # stray duplicate tab bar drawn over the other panels (Qt 6.11, measured).
            # Hidden until then, so it takes no room (and widens nothing) in the meantime.
            self._pending_tabs.append((tabify_with, dock.objectName()))
            dock.hide()
        self.docks[dock.objectName()] = dock
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def size_docks(self, names: list[str], sizes: list[int], orientation: Qt.Orientation) -> None:
        """Default dock sizes (pixels), applied once the window is shown and its tabs are made."""
        self._default_sizes.append((names, sizes, orientation))

    def restore_layout(self) -> None:
        """Restore the saved size now, and the saved dock layout once the window is shown."""
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self._restore_state = True

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        super().showEvent(event)
        if self._pending_tabs:
            for first, second in self._pending_tabs:
                self.tabifyDockWidget(self.docks[first], self.docks[second])
                self.docks[second].show()
            for first in dict.fromkeys(first for first, _ in self._pending_tabs):
                self.docks[first].raise_()
            self._pending_tabs.clear()
            for names, sizes, orientation in self._default_sizes:
                self.resizeDocks([self.docks[name] for name in names], sizes, orientation)
        state = self.settings.value("window/state") if self._restore_state else None
        self._restore_state = False
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        self.closing.emit()
        super().closeEvent(event)
