"""Undo commands for the network designer.

Every edit is one ``SpecChange`` that holds the whole spec before and after it.
Specs are small JSON-like dicts, so storing both is cheap and cannot drift out of
step the way fine-grained "set field X" commands can.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtGui import QUndoCommand

Spec = dict[str, Any]
# Called with (spec, selected layer index) to show a state; -1 means no selection.
ApplyFn = Callable[[Spec, int], None]


class SpecChange(QUndoCommand):
    """Replace the design ``before`` by ``after``.

    ``field`` names what was edited (e.g. ``("layer", 2, "units")``). Consecutive
    changes of the same field (a spinbox being typed into) merge into one step;
    ``field=None`` never merges.
    """

    MERGE_ID = 0x5EC

    def __init__(
        self,
        apply: ApplyFn,
        before: Spec,
        after: Spec,
        text: str,
        field: Hashable | None = None,
        select_before: int = -1,
        select_after: int = -1,
    ) -> None:
        super().__init__(text)
        self._apply = apply
        self.before = copy.deepcopy(before)
        self.after = copy.deepcopy(after)
        self.field = field
        self.select_before = select_before
        self.select_after = select_after

    def redo(self) -> None:
        self._apply(self.after, self.select_after)

    def undo(self) -> None:
        self._apply(self.before, self.select_before)

    def id(self) -> int:
        return -1 if self.field is None else self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SpecChange) or other.field is None or other.field != self.field:
            return False
        self.after = other.after
        self.select_after = other.select_after
        # Typing a value and then its original back leaves nothing to undo.
        self.setObsolete(self.after == self.before)
        return True
