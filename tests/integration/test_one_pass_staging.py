"""Staging reads each line once (issue 17): the staged rows and the line index come from one
reading, the rows of rejected lines are left out afterwards (adapters/local/hidden_rows.py).
Before, the line index read every line a second time for its id (7.5 s of 42 s at 10M lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.hidden_rows import EXCLUDED, HIDDEN, PENDING
from domain.errors import QueryError, StageError
from domain.services.staging import run_staging
from tests.e2e.projects import houses_project, listing_lines, write_lines
from tests.integration.crash_points import arm, run_in_child
from tests.integration.test_lines_in_place import staging_context

DUPLICATES = ['{"listing_id": "L1-00007", "price": 1}', '{"listing_id": "L2-00003", "price": 2}']


# Top-level keys only: one struct the typed reader gives (the houses example reads nested paths).
STAGING = """SELECT json_extract_scalar(line, '$.listing_id') AS listing_id,
       TRY_CAST(json_extract_scalar(line, '$.rooms') AS integer) AS rooms,
       TRY_CAST(json_extract_scalar(line, '$.area_m2') AS double) AS area_m2,
       source_file, line_number
FROM {{ source }}"""


def _project(folder: Path) -> Path:
    folder.mkdir()
    houses_project(folder, rows=0, source={"max_reject_ratio": 1.0})
    (folder / "staging.sql").write_text(STAGING)
    write_lines(folder / "data" / "a.jsonl", [*listing_lines(300, seed=1), "{oops", '{"no_id": 1}'])
    # Repeats of ids of a.jsonl and of b.jsonl itself: rows the one pass writes, then leaves out.
    write_lines(folder / "data" / "b.jsonl", [*listing_lines(200, seed=2), *DUPLICATES])
    return folder


def _tables(ctx: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    engine, layout = ctx.ports.engine, ctx.layout
    staged = engine.query("SELECT * FROM {{ t }} ORDER BY listing_id", {"t": layout.staging}, sql_name="t")
    rejects = engine.query(
        "SELECT line_number, reason_code FROM {{ t }} ORDER BY source_file, line_number",
        {"t": layout.rejects},
        sql_name="t",
    )
    return staged.to_pylist(), rejects.to_pylist()


def _staged_once(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each staging read each line once, in the order they ran."""
    used: list[bool] = []
    stage_lines = DuckDBSqlEngine.stage_lines

    def spy(self: DuckDBSqlEngine, *args: Any, **kwargs: Any) -> Any:
        done = stage_lines(self, *args, **kwargs)
        used.append(done is not None)
        return done

    monkeypatch.setattr(DuckDBSqlEngine, "stage_lines", spy)
    return used


def _rows_of(project: Path, *, one_pass: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    with monkeypatch.context() as patch:
        if not one_pass:
            patch.setattr(DuckDBSqlEngine, "stage_lines", lambda self, *a, **k: None)
        ctx = staging_context(project)
        run_staging(ctx)
        return _tables(ctx)


def test_the_rows_of_repeated_lines_are_left_out_and_the_hidden_columns_never_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    once = _staged_once(monkeypatch)
    ctx = staging_context(_project(tmp_path / "p"))
    report = run_staging(ctx)
    assert once == [True]
    assert report["reject_reasons"] == {"duplicate_id": 2, "invalid_json": 1, "missing_id": 1}
    assert report["staged_rows"] == 500
    folder = ctx.ports.engine.root / ctx.layout.staging.location  # type: ignore[attr-defined]
    assert (folder / EXCLUDED).exists() and not (folder / PENDING).exists()
    columns = ctx.ports.engine.table_schema(ctx.layout.staging).names
    assert not set(HIDDEN) & set(columns) and "listing_id" in columns
    # The catalog's readers of the folder too: `batchml query --run` shows the run's tables.
    catalog = DuckDBCatalog(ctx.ports.engine.root)  # type: ignore[attr-defined]
    catalog.ensure_table("t", ctx.ports.engine.table_schema(ctx.layout.staging), "empty/")  # a catalog to query
    counted = catalog.query("SELECT count(*) AS n, count(DISTINCT listing_id) AS ids FROM staging", run_id="in-place")
    assert counted.to_pylist() == [{"n": 500, "ids": 500}]
    shown = catalog.query("SELECT * FROM staging LIMIT 1", run_id="in-place").schema.names
    assert shown == columns


def test_each_line_read_once_gives_what_two_readings_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    once = _rows_of(_project(tmp_path / "once"), one_pass=True, monkeypatch=monkeypatch)
    twice = _rows_of(_project(tmp_path / "twice"), one_pass=False, monkeypatch=monkeypatch)
    strip = [{k: v for k, v in row.items() if k != "source_file"} for row in once[0]]
    assert strip == [{k: v for k, v in row.items() if k != "source_file"} for row in twice[0]]
    assert once[1] == twice[1]


def test_a_select_the_hidden_columns_cannot_reach_runs_as_two_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "p")
    (project / "staging.sql").write_text(
        "SELECT json_extract_scalar(line, '$.listing_id') AS listing_id\n"
        "FROM (SELECT line FROM {{ source }})"  # only the line passes up: no hidden column does
    )
    once = _staged_once(monkeypatch)
    report = run_staging(staging_context(project))
    assert once == [False] and report["staged_rows"] == 500


def test_a_select_that_drops_records_is_told_in_one_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path / "p")
    (project / "staging.sql").write_text(
        "SELECT json_extract_scalar(line, '$.listing_id') AS listing_id, line_number\n"
        "FROM {{ source }} WHERE line_number <> 5"
    )
    once = _staged_once(monkeypatch)
    told = r"returned no row for records with an id \(first: \S*a\.jsonl:5; \S*b\.jsonl:5\)"
    with pytest.raises(StageError, match=told):
        run_staging(staging_context(project))
    assert once == [True]


def _distinct_counts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements of staging that count distinct ids, as they run."""
    counted: list[str] = []
    query = DuckDBSqlEngine.query

    def spy(self: DuckDBSqlEngine, sql: str, *args: Any, **kwargs: Any) -> Any:
        if "DISTINCT" in sql.upper() and "count(" in sql:
            counted.append(sql)
        return query(self, sql, *args, **kwargs)

    monkeypatch.setattr(DuckDBSqlEngine, "query", spy)
    return counted


def test_ids_that_are_their_lines_ids_are_distinct_without_counting_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The duplicate search keeps one line per id: staged ids equal to their lines' ids need
    no count of distinct ids (0.8-1.0 s at 10M rows)."""
    ctx = staging_context(_project(tmp_path / "p"))
    counted = _distinct_counts(monkeypatch)
    assert run_staging(ctx)["staged_rows"] == 500
    assert ctx.ports.engine.ids_are_line_ids(ctx.layout.staging, "listing_id")
    assert counted == []


@pytest.mark.parametrize(
    ("id_sql", "told"),
    [
        ("substr(json_extract_scalar(line, '$.listing_id'), 1, 4)", "returned 500 rows but only 2 distinct"),
        (
            "CASE WHEN line_number < 3 THEN NULL ELSE json_extract_scalar(line, '$.listing_id') END",
            "and 4 rows with a NULL 'listing_id'",
        ),
    ],
)
def test_ids_the_select_rewrites_are_counted_and_repeats_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, id_sql: str, told: str
) -> None:
    project = _project(tmp_path / "p")
    (project / "staging.sql").write_text(f"SELECT {id_sql} AS listing_id, line_number FROM {{{{ source }}}}")
    once, counted = _staged_once(monkeypatch), _distinct_counts(monkeypatch)
    ctx = staging_context(project)
    with pytest.raises(StageError, match=told):
        run_staging(ctx)
    assert once == [True] and len(counted) == 1
    assert not ctx.ports.engine.ids_are_line_ids(ctx.layout.staging, "listing_id")


def test_staging_cut_short_before_its_exclusions_leaves_a_table_no_one_reads_and_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "p")

    def work() -> None:
        arm([(DuckDBSqlEngine, "exclude_lines")], kill_at=1)
        run_staging(staging_context(project))

    assert run_in_child(work) == -9
    ctx = staging_context(project)
    folder = ctx.ports.engine.root / ctx.layout.staging.location  # type: ignore[attr-defined]
    assert (folder / PENDING).exists()  # the rows of repeated lines are there, and marked
    with pytest.raises(QueryError, match="unfinished"):
        ctx.ports.engine.query("SELECT count(*) FROM {{ s }}", {"s": ctx.layout.staging}, sql_name="t")
    catalog = DuckDBCatalog(ctx.ports.engine.root)  # type: ignore[attr-defined]
    catalog.ensure_table("t", pa.schema([("a", pa.int64())]), "empty/")  # a catalog to query
    assert catalog.query("SELECT count(*) AS n FROM rejects", run_id="in-place").num_rows == 1  # the others read
    with pytest.raises(QueryError, match=r"table staging cannot be read: .*unfinished"):
        catalog.query("SELECT count(*) FROM staging", run_id="in-place")
    run_staging(ctx)  # what a resumed run does: the stage again, from its start
    clean = _rows_of(_project(tmp_path / "clean"), one_pass=True, monkeypatch=monkeypatch)
    again = _tables(ctx)
    assert [r["listing_id"] for r in again[0]] == [r["listing_id"] for r in clean[0]] and again[1] == clean[1]
