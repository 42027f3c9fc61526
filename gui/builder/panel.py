"""The layer builder: build the network with the mouse and watch it train on the same drawing.

Palette (click inserts after the selection, drag drops into place), diagram (drag cards to
reorder), inspector, undo/redo of every edit, totals, presets, Save/Open as spec JSON, and Apply,
which asks before throwing trained weights away. Renders what it is given (``set_snapshot``) and
emits what the user did (``spec_changed``, ``apply_requested``); it never touches the trainer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.files.presets import load_presets
from engine.files.spec import NetworkSpec, SpecError, dense, depth
from engine.layers.cost import network_cost
from engine.snapshot import StepSnapshot
from gui.builder.block_inspector import BlockInspector
from gui.builder.commands import ArchCommand
from gui.builder.diagram import NetworkDiagram
from gui.builder.model import (
    OUTPUT,
    PALETTE,
    Arch,
    arch_errors,
    block_names,
    default_block,
    edited,
    input_width,
    inserted,
    moved,
    removed,
    with_inner_added,
    with_inner_removed,
)
from gui.builder.widgets import (
    PaletteButton,
    ask_keep_weights,
    legend,
    open_spec_dialog,
    save_spec_dialog,
    undo_redo_actions,
)

PresetLoader = Callable[[], Mapping[str, NetworkSpec]]


class NetworkBuilder(QWidget):
    spec_changed = Signal(object)  # NetworkSpec, after every edit (also undo/redo, presets)
    apply_requested = Signal(object, bool)  # NetworkSpec, keep weights of unchanged layers

    def __init__(
        self,
        spec: NetworkSpec | None = None,
        parent: QWidget | None = None,
        presets: PresetLoader = load_presets,
    ) -> None:
        super().__init__(parent)
        self._spec = spec or NetworkSpec(layers=(dense(128), dense(64)))
        self._selection: int | None = None
        self._trained = False
        self._applied: Arch | None = None
        self._last_snapshot: StepSnapshot | None = None
        self._load_presets = presets
        self._last_dir = str(Path.home())
        self.undo_stack = QUndoStack(self)
        self.diagram = NetworkDiagram(self)
        self.inspector = BlockInspector(self)
        self._build_ui()
        self.diagram.selection_changed.connect(self._on_selection)
        self.diagram.block_moved.connect(self.move_block)
        self.diagram.block_dropped.connect(self.insert_block)
        self.inspector.field_edited.connect(self._on_field_edited)
        self.inspector.inner_added.connect(self._add_inner)
        self.inspector.inner_removed.connect(self._remove_inner)
        self._refresh()

    # ------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        self.palette_buttons = {kind: PaletteButton(kind) for kind in PALETTE}
        for kind, button in self.palette_buttons.items():
            button.clicked.connect(lambda _=False, k=kind: self.insert_block(k))
        self.undo_action, self.redo_action = undo_redo_actions(self.undo_stack, self)
        self.remove_action = QAction("Remove", self)
        self.remove_action.setShortcuts(
            [QKeySequence.StandardKey.Delete, QKeySequence("Backspace")]
        )
        self.remove_action.triggered.connect(self.remove_selected)
        self.duplicate_action = QAction("Duplicate", self)
        self.duplicate_action.setShortcut(QKeySequence("Ctrl+D"))
        self.duplicate_action.triggered.connect(self.duplicate_selected)
        for action in (self.undo_action, self.redo_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        for action in (self.remove_action, self.duplicate_action):
            # Only while the diagram has focus, so Delete in a spin box edits the number.
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.diagram.addAction(action)

        palette = QHBoxLayout()
        palette.addWidget(QLabel("Add:"))
        for button in self.palette_buttons.values():
            palette.addWidget(button)
        palette.addSpacing(12)
        for action in (
            self.remove_action,
            self.duplicate_action,
            self.undo_action,
            self.redo_action,
        ):
            button = QToolButton()
            button.setDefaultAction(action)
            palette.addWidget(button)
        palette.addStretch(1)

        self.presets_menu = QMenu("Presets", self)
        self.presets_menu.aboutToShow.connect(self._fill_presets)
        self.presets_button = QToolButton()
        self.presets_button.setText("Presets")
        self.presets_button.setMenu(self.presets_menu)
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.open_file)
        self.save_button = QPushButton("Save…")
        self.save_button.clicked.connect(self.save_file)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Zoom to show the whole network (wheel zooms, drag pans)")
        self.fit_button.clicked.connect(self.diagram.fit_all)
        self.apply_button = QPushButton("Apply to network")
        self.apply_button.setToolTip("Build this architecture for training")
        self.apply_button.clicked.connect(self._on_apply)
        files = QHBoxLayout()
        for widget in (self.presets_button, self.open_button, self.save_button, self.fit_button):
            files.addWidget(widget)
        files.addStretch(1)
        files.addWidget(self.apply_button)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.diagram)
        splitter.addWidget(self.inspector)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        self.inspector.setMinimumWidth(230)
        self.inspector.setMaximumWidth(380)

        self.totals_label = QLabel()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.live_label = QLabel()
        self.live_label.setStyleSheet("color: #555b64")
        footer = QHBoxLayout()
        footer.addWidget(self.totals_label)
        footer.addStretch(1)
        footer.addWidget(self.live_label)
        footer.addWidget(legend())

        layout = QVBoxLayout(self)
        layout.addLayout(palette)
        layout.addLayout(files)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(footer)
        self._fill_presets()

    # ------------------------------------------------------------------ public API
    def spec(self) -> NetworkSpec:
        return self._spec

    @property
    def arch(self) -> Arch:
        return Arch.of(self._spec)

    def selection(self) -> int | None:
        return self._selection

    def errors(self) -> list[str]:
        by_block, general = arch_errors(self.arch)
        return [m for messages in by_block.values() for m in messages] + general

    def set_spec(self, spec: NetworkSpec) -> None:
        """Show ``spec``; a different architecture is one undoable step, other fields just pass.

        Before any edit (the app's first network) there is nothing to go back to: no step.
        """
        old = self._spec
        self._spec = Arch.of(old).into(spec)  # hyperparameters, name, description: no history
        if Arch.of(spec) == Arch.of(old):
            if self._spec != old:
                self.spec_changed.emit(self._spec)
        elif self.undo_stack.count() == 0:
            self._apply_arch(Arch.of(spec), None)
        else:
            self._push(Arch.of(spec), f"Load {spec.name}", None)

    def load_spec(self, spec: NetworkSpec) -> None:
        """What the user chose (a preset, a file): always one undoable step."""
        self._spec = Arch.of(self._spec).into(spec)
        if Arch.of(spec) != self.arch:
            self._push(Arch.of(spec), f"Load {spec.name}", None)  # emits spec_changed
        else:
            self.spec_changed.emit(self._spec)

    def set_trained(self, trained: bool) -> None:
        self._trained = bool(trained)

    def set_snapshot(self, snapshot: StepSnapshot) -> None:
        self._last_snapshot = snapshot
        self.diagram.set_snapshot(snapshot)
        self._update_live_label()

    def reset(self, spec: NetworkSpec) -> None:
        """The network was rebuilt from ``spec`` with new weights: forget live values."""
        self._last_snapshot = None
        self._trained = False
        self.diagram.clear_live()
        self.set_spec(spec)
        self._applied = Arch.of(spec)
        self._update_live_label()

    # ------------------------------------------------------------------ edits
    def _push(
        self, after: Arch, text: str, selection: int | None, merge: str | None = None
    ) -> None:
        if after == self.arch:
            return
        self.undo_stack.push(
            ArchCommand(
                self._apply_arch,
                self.arch,
                after,
                text,
                selection_before=self._selection,
                selection_after=selection,
                merge_key=merge,
            )
        )

    def _apply_arch(self, arch: Arch, selection: int | None) -> None:
        self._spec = arch.into(self._spec)
        self._selection = selection
        self._refresh()
        self.spec_changed.emit(self._spec)

    def insert_block(self, kind: str, index: int | None = None) -> None:
        """Insert a new ``kind`` block at ``index`` (default: after the selection, else last)."""
        layers = self.arch.layers
        if index is None:
            sel = self._selection
            index = sel + 1 if sel is not None and sel >= 0 else len(layers)
        layer = default_block(kind, input_width(layers, index))
        self._push(Arch(inserted(layers, index, layer), *self._tail()), f"Add {kind}", index)

    def remove_selected(self) -> None:
        sel, layers = self._selection, self.arch.layers
        if sel is None or sel < 0:
            return
        after = removed(layers, sel)
        selection = min(sel, len(after) - 1) if after else None
        self._push(Arch(after, *self._tail()), f"Remove {block_names(layers)[sel]}", selection)

    def duplicate_selected(self) -> None:
        sel, layers = self._selection, self.arch.layers
        if sel is None or sel < 0:
            return
        after = inserted(layers, sel + 1, layers[sel])
        self._push(Arch(after, *self._tail()), f"Duplicate {block_names(layers)[sel]}", sel + 1)

    def move_block(self, src: int, dst: int) -> None:
        layers = self.arch.layers
        self._push(
            Arch(moved(layers, src, dst), *self._tail()), f"Move {block_names(layers)[src]}", dst
        )

    def _tail(self) -> tuple:
        return self._spec.output, self._spec.loss

    def _on_field_edited(self, field: str, value: object, inner: int) -> None:
        sel = self._selection
        if sel is None:
            return
        after = edited(self.arch, sel, field, value, inner)
        where = "output" if sel == OUTPUT else block_names(self.arch.layers)[sel]
        self._push(after, f"Set {field} of {where}", sel, merge=f"{sel}/{inner}/{field}")

    def _add_inner(self, kind: str) -> None:
        sel = self._selection
        if sel is not None and sel >= 0 and self.arch.layers[sel].type == "residual":
            self.inspector.inner = len(self.arch.layers[sel].layers)
            self._push(with_inner_added(self.arch, sel, kind), f"Add {kind} inside residual", sel)

    def _remove_inner(self, inner: int) -> None:
        sel = self._selection
        if sel is not None and sel >= 0 and self.arch.layers[sel].type == "residual":
            self._push(with_inner_removed(self.arch, sel, inner), "Remove inner layer", sel)

    def _on_selection(self, selection: int | None) -> None:
        self._selection = selection
        self.inspector.show_block(self.arch, selection)
        self._update_buttons()

    # ------------------------------------------------------------------ rendering
    def _refresh(self) -> None:
        arch = self.arch
        by_block, general = arch_errors(arch)
        self.diagram.set_arch(arch, by_block, self._selection)
        self.inspector.show_block(arch, self._selection)
        params, macs = network_cost(self._spec)
        self.totals_label.setText(
            f"<b>{params:,}</b> parameters · <b>{macs:,}</b> multiply-adds per sample · "
            f"{depth(arch.layers)} hidden layers"
        )
        messages = [m for ms in by_block.values() for m in ms] + general
        if messages:
            self.status_label.setStyleSheet("color: #d62728")
            self.status_label.setText("Cannot apply: " + "  •  ".join(messages))
        else:
            self.status_label.setStyleSheet("color: #2b7a3d")
            self.status_label.setText("✓ Valid network.")
        self.apply_button.setEnabled(not messages)
        if self._last_snapshot is not None:
            self.diagram.set_snapshot(self._last_snapshot)
        self._update_live_label()
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_block = self._selection is not None and self._selection >= 0
        self.remove_action.setEnabled(has_block)
        self.duplicate_action.setEnabled(has_block)

    def _update_live_label(self) -> None:
        if self.diagram.live and self._last_snapshot is not None:
            text = f"live · step {self._last_snapshot.step:,}"
        elif self._applied is not None and self._applied != self.arch:
            text = "edited: Apply to train this architecture"
        else:
            text = ""
        self.live_label.setText(text)

    # ------------------------------------------------------------------ apply
    def _on_apply(self) -> None:
        if self.errors():
            return
        keep = False
        if self._trained:
            choice = ask_keep_weights(self)
            if choice is None:
                return
            keep = choice
        self._applied = self.arch
        self.apply_requested.emit(self._spec, keep)
        self._update_live_label()

    # ------------------------------------------------------------------ presets and files
    def _fill_presets(self) -> None:
        self.presets_menu.clear()
        try:
            presets = self._load_presets()
        except (OSError, SpecError) as exc:
            action = self.presets_menu.addAction(f"Presets unavailable: {exc}")
            action.setEnabled(False)
            return
        for name, preset in presets.items():
            action = self.presets_menu.addAction(name)
            action.setToolTip(preset.description)
            action.setStatusTip(preset.description)
            action.triggered.connect(lambda _=False, p=preset: self.load_spec(p))
        self.presets_menu.setToolTipsVisible(True)

    def save_file(self) -> None:
        path = save_spec_dialog(self, self._spec, self._last_dir)
        if path:
            self._last_dir = os.path.dirname(path)

    def open_file(self) -> None:
        path, spec = open_spec_dialog(self, self._last_dir)
        if path:
            self._last_dir = os.path.dirname(path)
        if spec is not None:
            self.load_spec(spec)
