"""A table folder whose parts hold rows that are not the table's: staging written in one pass.

Staging writes the staged rows of every line with an id while it reads each line the one time
(DuckDBSqlEngine.stage_lines), before it knows which of those lines repeat an earlier id. The
parts then carry three hidden columns (the line's item, its number, its id) and, once the
rejects are known, the folder gets the list of lines whose rows are not the table's
(EXCLUDED, written by `exclude_lines`). Every reader of a table folder in the local adapters
goes through `folder_select`, which leaves those rows and the hidden columns out: the engine's
binding of a table, the catalog's published views and `batchml query`'s run tables. A folder
still marked PENDING (staging stopped between writing its parts and its exclusions) cannot be
read at all: the rows of repeated lines would show.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from adapters.local.line_items import LineItem, quote
from domain.errors import QueryError

ITEM, LINE, DOC_ID = "__batchml_item", "__batchml_line", "__batchml_id"
HIDDEN = (ITEM, LINE, DOC_ID)
# Names starting with "_": not data to anything that lists a table's files (domain.layout.is_data_key),
# and not *.parquet, so no glob of the table's parts takes them in.
EXCLUDED = "_excluded.lines"
PENDING = "_excluded.pending"
ITEMS = "_items.json"  # source file -> item number, for exclude_lines


def folder_select(folder: Path, hive: bool) -> str:
    """The table in `folder` as a SELECT: its Parquet parts, less the excluded rows and the
    hidden columns when staging wrote it in one pass."""
    files = (
        f"read_parquet({quote(str(folder / '**' / '*.parquet'))}, hive_partitioning = {str(hive).lower()}, "
        "union_by_name = true)"
    )
    if (folder / PENDING).exists():
        raise QueryError(
            f"the table at {folder} is unfinished (staging stopped before it excluded the rejected lines); "
            "run (or resume) the pipeline again"
        )
    excluded = folder / EXCLUDED
    if not excluded.exists():
        return f"SELECT * FROM {files}"
    # ANTI JOIN, not NOT EXISTS: count(DISTINCT id) over 10M staged rows with 3,000 excluded took
    # 0.89-1.04 s this way, 1.64-1.98 s with the correlated form, 0.76-1.17 s with no exclusion.
    return (
        f"SELECT * EXCLUDE ({', '.join(HIDDEN)}) FROM {files} AS p ANTI JOIN "
        f"read_parquet({quote(str(excluded))}) AS x ON x.item = p.{ITEM} AND x.line = p.{LINE}"
    )


def lines_without_row(part: Path, group: Sequence[LineItem], sql_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(item numbers, line numbers) of the lines of `group` (the items of the part `part`)
    that the part holds no row for: the lines without an id. A line with two rows, or a row of
    no line of the group, is a QueryError: the SELECT did not map each line to one row."""
    counts = np.array([item.lines or 0 for item in group], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(counts)])
    position = {item.index: k for k, item in enumerate(group)}
    hidden = pq.read_table(part, columns=[ITEM, LINE]) if part.exists() else None
    seen = np.zeros(int(base[-1]), dtype=np.int64)
    if hidden is not None and hidden.num_rows:
        lookup = np.full(max(position) + 1, -1, dtype=np.int64)
        lookup[list(position)] = list(position.values())
        item = hidden.column(ITEM).to_numpy()
        known = (item >= 0) & (item < len(lookup))
        which = lookup[np.where(known, item, 0)]
        number = hidden.column(LINE).to_numpy()
        if not known.all() or (which < 0).any() or (number < 1).any() or (number > counts[which]).any():
            raise QueryError("the staging SELECT gave rows for lines its items do not hold", sql_name=sql_name)
        seen = np.bincount(base[which] + number - 1, minlength=int(base[-1]))
        if (seen > 1).any():
            raise QueryError("the staging SELECT gave a line more than one row", sql_name=sql_name)
    missing = np.flatnonzero(seen == 0)
    owner = np.searchsorted(base, missing, side="right") - 1
    indexes = np.array([item.index for item in group], dtype=np.int64)
    return indexes[owner], missing - base[owner] + 1
