"""Tables for the terminal that stay readable at any width, and when piped.

rich squeezes a table that is wider than the console by cutting its cells ("2026…", "SUCC…")
or, with many columns, down to empty cells. A table that does not fit is printed instead as
one line per row (`lines`) or as one block per row with a column per line (`records`, like
psql's expanded display): longer, but nothing is cut. Piped output has rich's default width
of 80 columns (or $COLUMNS), so the same rule applies there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Cell = str | Text
Fallback = Literal["lines", "records"]


def fits(console: Console, table: Table) -> bool:
    """Whether the table's natural width (every cell whole) fits the console."""
    natural = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    return natural <= console.width


def print_table(
    console: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    right: Sequence[str] = (),
    fallback: Fallback = "lines",
    boxed: bool = True,
) -> None:
    grid = Table(*columns, header_style="bold") if boxed else Table(header_style="bold", box=None, padding=(0, 2))
    if not boxed:
        for name in columns:
            grid.add_column(name)
    for column in grid.columns:
        if column.header in right:
            column.justify = "right"
    for row in rows:
        grid.add_row(*row)
    if fits(console, grid):
        console.print(grid)
    elif fallback == "lines":
        _print_lines(console, rows)
    else:
        _print_records(console, columns, rows)


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def _print_lines(console: Console, rows: Sequence[Sequence[Cell]]) -> None:
    """A row per line, its cells two spaces apart and aligned (the last one free); the terminal
    wraps a long line instead of anything being cut."""
    widths = (
        [max((len(str(row[i])) for row in rows if i < len(row)), default=0) for i in range(len(rows[0]))]
        if rows
        else []
    )
    for row in rows:
        cells = [_text(cell).copy() for cell in row]
        for i, cell in enumerate(cells[:-1]):
            cell.pad_right(widths[i] - len(cell.plain))
        line = Text("  ").join(cells)
        line.rstrip()
        console.print(line, soft_wrap=True, highlight=False)


def _print_records(console: Console, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    width = max((len(c) for c in columns), default=0)
    for number, row in enumerate(rows, start=1):
        console.print(Text(f"-[ row {number} ]-", style="bold"), highlight=False)
        for name, cell in zip(columns, row, strict=True):
            console.print(Text(f"{name:<{width}}  ").append_text(_text(cell)), soft_wrap=True, highlight=False)
