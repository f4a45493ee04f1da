"""What an import or an export moved, and what it left behind with the reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Reports the progress of a phase: (phase, done, total, detail).
Progress = Callable[[str, int, int, str], None]


def no_progress(phase: str, done: int, total: int, detail: str = "") -> None:
    """The default: a Python caller sees the summary only."""


@dataclass
class TransferSummary:
    """Counts of what was written (``imported``) and of what an earlier import already wrote
    (``already``); one line per thing left out (``skipped``).

    ``notes`` are things written, but not exactly as they were (a model version that could not
    keep its number, a logged model whose folder name was taken).
    """

    imported: Counter[str] = field(default_factory=Counter)
    already: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, what: str, how_many: int = 1) -> None:
        self.imported[what] += how_many

    def skip(self, what: str) -> None:
        self.skipped.append(what)

    def __str__(self) -> str:
        written = ", ".join(f"{n:,} {what}" for what, n in self.imported.items() if n) or "nothing"
        lines = [f"written: {written}"]
        if self.already:
            already = ", ".join(f"{n:,} {what}" for what, n in self.already.items())
            lines.append(f"already here: {already}")
        lines += [f"note: {line}" for line in self.notes]
        if self.skipped:
            lines.append(f"skipped: {len(self.skipped)}")
            lines += [f"  {line}" for line in self.skipped]
        return "\n".join(lines)
