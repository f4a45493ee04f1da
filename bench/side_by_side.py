"""The side-by-side table the benchmarks print: one place for its layout and its ratios."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def ratio_text(nb: float | None, ml: float | None, higher_is_better: bool) -> str:
    """``"2.2x better"`` / ``"1.7x worse"`` for nbtrack against MLflow; ``"-"`` without both."""
    if nb is None or ml is None or not nb or not ml:
        return "-"
    factor = nb / ml if higher_is_better else ml / nb
    return f"{factor:,.1f}x better" if factor >= 1 else f"{1 / factor:,.1f}x worse"


def print_table(
    header: Sequence[str], lines: Sequence[Sequence[str]], right: Collection[int] = (2, 3, 4)
) -> None:
    """Columns as wide as their widest cell; the ``right`` ones (the figures) right-aligned."""
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]

    def show(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print()
    print(show(header))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print(show(line))
