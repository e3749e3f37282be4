"""Tables for the terminal that stay readable at 80 columns: borders only where there is room for them."""

from __future__ import annotations

from enum import StrEnum

from rich import box
from rich.table import Table


class TableFormat(StrEnum):
    """``--format`` of the commands that print a table: the table, or the same rows as JSON."""

    table = "table"
    json = "json"


def fitted_table(title: str, width: int, wide_at: int) -> Table:
    """A table titled ``title`` for a terminal ``width`` columns wide: boxed from ``wide_at`` columns on, else
    with a rule under the header only and one space between columns (ids and figures keep their room)."""
    if width >= wide_at:
        return Table(title=title, title_justify="left")
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                 show_edge=False)
