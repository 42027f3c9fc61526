"""QUndoCommand for every builder edit: swap one architecture for another, selection included.

Each command stores the whole before/after ``Arch`` (a few frozen tuples), so undo is exact for any
edit (add, remove, move, duplicate, field change, preset, open) without per-kind inverse logic.
Consecutive changes of the same field on the same block merge into one step, so nudging a spin box
ten times is undone with one Ctrl+Z.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from gui.builder.model import Arch

Apply = Callable[[Arch, "int | None"], None]
_MERGE_ID = 4_0001


class ArchCommand(QUndoCommand):
    """Replace the architecture by ``after`` (redo) or ``before`` (undo) through ``apply``."""

    def __init__(
        self,
        apply: Apply,
        before: Arch,
        after: Arch,
        text: str,
        *,
        selection_before: int | None,
        selection_after: int | None,
        merge_key: str | None = None,
    ) -> None:
        super().__init__(text)
        self._apply = apply
        self.before = before
        self.after = after
        self.selection_before = selection_before
        self.selection_after = selection_after
        self.merge_key = merge_key

    def redo(self) -> None:
        self._apply(self.after, self.selection_after)

    def undo(self) -> None:
        self._apply(self.before, self.selection_before)

    def id(self) -> int:
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ArchCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.selection_after = other.selection_after
        # A field nudged back to where it started leaves nothing to undo.
        self.setObsolete(self.after == self.before)
        return True
