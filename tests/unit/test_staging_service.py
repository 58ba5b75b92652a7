from __future__ import annotations

import pyarrow as pa
import pytest

from domain.context import RunContext
from domain.errors import DataQualityError, StageError
from domain.services.staging import line_index_sql, rejected_lines_sql, rejects_sql, run_staging, valid_records_sql
from tests.unit.fakes import FakeSqlEngine


def engine_for(
    ctx: RunContext,
    *,
    lines: int,
    staged: int,
    ids: int,
    reasons: dict[str, int],
    nulls: int = 0,
    files_with_rejects: tuple[str, ...] = ("in/a.jsonl",),
) -> FakeSqlEngine:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.lines = lines
    engine.answer(r"DISTINCT source_file", pa.table({"source_file": pa.array(files_with_rejects, pa.string())}))
    engine.answer(r"count\(\*\) - count\(id\)", pa.table({"n": [nulls]}))
    engine.answer(r"LIMIT 0", pa.table({"id": pa.array([], pa.string()), "x": pa.array([], pa.int64())}))
    engine.answer(r"count\(DISTINCT id\)", pa.table({"staged": [staged], "ids": [ids]}))
    engine.answer(
        r"GROUP BY reason_code",
        pa.table(
            {"reason_code": list(reasons), "n": list(reasons.values())},
            schema=pa.schema([("reason_code", pa.string()), ("n", pa.int64())]),
        ),
    )
    engine.answer(
        r"ORDER BY source_file, line_number LIMIT 1",
        pa.table({"source_file": ["in/a.jsonl"], "line_number": [7], "reason": ["not valid JSON"]}),
    )
    return engine


def test_counts_reconcile_and_are_reported(ctx: RunContext) -> None:
    engine_for(ctx, lines=1000, staged=995, ids=995, reasons={"invalid_json": 3, "duplicate_id": 2})
    report = run_staging(ctx)
    assert report["source_lines"] == report["staged_rows"] + report["rejected_rows"] == 1000
    assert report["reject_reasons"] == {"invalid_json": 3, "duplicate_id": 2}


def test_a_line_index_without_one_row_per_source_line_stops_staging_and_names_the_file(ctx: RunContext) -> None:
    """A reader that skipped or split a line would shift every later line's number."""
    engine = engine_for(ctx, lines=1000, staged=1000, ids=1000, reasons={})
    engine.items = 2
    engine.rows_written["line_index"] = 999
    files = [f"{ctx.spec.source.path}/part{i}.jsonl" for i in range(2)]  # FakeSqlEngine.plan_ingest's
    engine.answer(r"GROUP BY source_file", pa.table({"source_file": files, "n": [500, 499]}))
    with pytest.raises(StageError, match=r"999 rows for 1,000 source lines.*part1\.jsonl: 499 of 500"):
        run_staging(ctx)
    assert not any(table.name == "staging" for table, _ in engine.materialized)  # nothing staged


def test_a_line_index_with_one_row_per_line_goes_on(ctx: RunContext) -> None:
    engine = engine_for(ctx, lines=1000, staged=1000, ids=1000, reasons={})
    engine.rows_written["line_index"] = 1000
    assert run_staging(ctx)["staged_rows"] == 1000


def test_user_sql_reads_only_valid_records_through_the_source_placeholder(ctx: RunContext) -> None:
    engine = engine_for(ctx, lines=10, staged=10, ids=10, reasons={})
    run_staging(ctx)
    written = [(ref.location.split("/")[-2], sql) for ref, sql in engine.materialized if not sql.startswith("INGEST")]
    assert [table for table, _sql in written] == ["line_index", "rejected_lines", "rejects", "staging"]
    targets = dict(written)
    assert "{{ source }}" not in targets["staging"]
    assert valid_records_sql() in targets["staging"]
    assert targets["line_index"] == line_index_sql("id")
    assert targets["rejected_lines"] == rejected_lines_sql("id")
    assert targets["rejects"] == rejects_sql("id")


def test_the_statements_over_lines_may_run_file_by_file_and_rejects_read_only_files_with_a_reject(
    ctx: RunContext,
) -> None:
    engine = engine_for(
        ctx, lines=1000, staged=999, ids=999, reasons={"invalid_json": 1}, files_with_rejects=("in/b.jsonl",)
    )
    run_staging(ctx)
    by_line = [(ref.location.split("/")[-2], lines, files) for ref, lines, files in engine.line_statements]
    assert by_line == [("line_index", "raw", None), ("rejects", "raw", ["in/b.jsonl"]), ("staging", "raw", None)]


def test_a_staging_select_that_drops_rows_is_refused(ctx: RunContext) -> None:
    engine_for(ctx, lines=100, staged=90, ids=90, reasons={"invalid_json": 1})
    with pytest.raises(StageError, match="returned 90 rows for 99 valid records"):
        run_staging(ctx)


def test_a_staging_select_that_breaks_the_id_is_refused(ctx: RunContext) -> None:
    engine_for(ctx, lines=10, staged=10, ids=9, reasons={})
    with pytest.raises(StageError, match="distinct"):
        run_staging(ctx)


def test_too_many_rejects_fail_naming_a_file_and_line(ctx: RunContext) -> None:
    engine_for(ctx, lines=100, staged=97, ids=97, reasons={"invalid_json": 3})
    with pytest.raises(DataQualityError, match=r"3 of 100 .* in/a.jsonl:7: not valid JSON"):
        run_staging(ctx)


def test_an_empty_source_is_an_error(ctx: RunContext) -> None:
    engine_for(ctx, lines=0, staged=0, ids=0, reasons={})
    with pytest.raises(DataQualityError, match="holds no lines"):
        run_staging(ctx)


@pytest.mark.parametrize(
    ("nulls", "expected"),
    [
        (1, "returned 2001 rows but only 2000 distinct 'id' values, and 1 rows with a NULL 'id';"),
        (0, "returned 2001 rows but only 2000 distinct 'id' values; the id column must be the record's id"),
    ],
)
def test_a_null_id_from_the_staging_sql_is_named_as_the_cause(ctx: RunContext, nulls: int, expected: str) -> None:
    # Before: "returned 2001 rows but only 2000 distinct 'flight_id' values" alone, for a NULL id
    # too, which count(DISTINCT) does not count: nothing said a NULL was the cause.
    engine_for(ctx, lines=2001, staged=2001, ids=2000, reasons={}, nulls=nulls)
    with pytest.raises(StageError) as caught:
        run_staging(ctx)
    assert expected in str(caught.value)
    assert ("never NULL" in str(caught.value)) == bool(nulls)
