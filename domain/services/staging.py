"""Staging: raw JSON lines -> a typed Parquet table, and every unusable line -> rejects.

Nothing is dropped silently: each source line ends up either staged or rejected with a
reason, file and line number, and `source lines = staged + rejected` is checked, not
assumed. The classification SQL is the domain's own; the staging table holds the user's
SELECT over lines that are JSON objects with an id that appears for the first time (an engine
that reads each line once runs the SELECT over every line with an id, then leaves out the rows
of the lines rejected: SqlEngine.stage_lines).
"""

from __future__ import annotations

import time
from typing import Any

from domain.context import RunContext
from domain.errors import DataQualityError, StageError
from domain.ports.sql_engine import NO_ID, IngestStats
from domain.services import ingest
from domain.sql import substitute

# Reasons the ingest adapter may put in `problem` before any JSON is parsed, and empty_line.
_PROBLEM_REASONS = {
    "empty_line": "empty line",
    "invalid_utf8": "not valid UTF-8",
    "truncated_gzip": "compressed file (gzip or bz2) is cut short; this is the unfinished last line",
}


def line_index_sql(id_field: str) -> str:
    """One narrow row per raw line: where it is, why it cannot be used before any duplicate
    search (NULL = usable so far; `no_id` = to be told from its text), and its id.

    The id is the only thing read, under TRY: one parse per line, the NULL that malformed text
    gives in Trino anyway. Whether a line without an id is JSON at all (invalid_json, an empty
    line or missing_id) is decided later from its text, by the rejects statement, which reads
    the text of the rejected lines anyway: so each line is parsed once here, and only for its
    id, which an engine may read with a typed JSON reader instead of over the text (DuckDB:
    adapters/local/typed_lines.py; 0.30 s per 250k-line file against 0.49 s, measured).

    A table of its own rather than a CTE of the rejects query: DuckDB materialised that CTE
    in memory with each line's file name, 1.7 GB at 10M lines; written out, the two steps
    peak at 0.73 GB and take 0.7 s longer at 10M.
    """
    problems = " ".join(f"WHEN problem = '{code}' THEN '{code}'" for code in _PROBLEM_REASONS)
    return f"""
SELECT source_file, line_number,
       CASE {problems}
            WHEN problem IS NOT NULL THEN 'unreadable'
            WHEN doc_id IS NOT NULL THEN NULL
            ELSE '{NO_ID}'
       END AS reason_code,
       doc_id
FROM (
  SELECT source_file, line_number, problem,
         CASE WHEN problem IS NULL THEN TRY(json_extract_scalar(line, '$.{id_field}')) END AS doc_id
  FROM {{{{ raw }}}}
) parsed"""


def rejected_lines_sql(id_field: str) -> str:
    """Every unusable line's position and reason, from the line index alone (no line's text;
    a line without an id keeps `no_id`, and no reason yet: rejects_sql tells which).

    The duplicate search ranks only the lines whose id is repeated (a window over every
    line held 1.8 GB at 10M lines). A table of its own: the rejects then need the text of
    rejected lines only, file by file, and files with no reject are not read again.
    """
    reasons = " ".join(f"WHEN '{code}' THEN '{text}'" for code, text in _PROBLEM_REASONS.items())
    return f"""
WITH repeated AS (
  SELECT doc_id FROM {{{{ line_index }}}} WHERE doc_id IS NOT NULL GROUP BY doc_id HAVING count(*) > 1
),
ranked AS (
  SELECT source_file, line_number,
         row_number() OVER (PARTITION BY doc_id ORDER BY source_file, line_number) AS occurrence,
         first_value(source_file) OVER (PARTITION BY doc_id ORDER BY source_file, line_number) AS first_file,
         first_value(line_number) OVER (PARTITION BY doc_id ORDER BY source_file, line_number) AS first_line
  FROM {{{{ line_index }}}}
  WHERE doc_id IN (SELECT doc_id FROM repeated)
),
classified AS (
  SELECT i.source_file, i.line_number, i.doc_id, r.first_file, r.first_line,
         CASE WHEN i.reason_code IS NOT NULL THEN i.reason_code
              WHEN r.occurrence > 1 THEN 'duplicate_id'
         END AS reason_code
  FROM {{{{ line_index }}}} i
  LEFT JOIN ranked r ON r.source_file = i.source_file AND r.line_number = i.line_number
)
SELECT c.source_file, c.line_number, c.reason_code,
       CASE c.reason_code {reasons}
            WHEN '{NO_ID}' THEN NULL
            WHEN 'duplicate_id' THEN 'duplicate id ' || c.doc_id || ' (first seen at ' || c.first_file
                                     || ':' || CAST(c.first_line AS varchar) || ')'
            ELSE 'unreadable line'
       END AS reason
FROM classified c
WHERE c.reason_code IS NOT NULL"""


def rejects_sql(id_field: str) -> str:
    """The rejected lines with their text: each line of the source joined to the (small) table
    of rejected lines, so it maps every line on its own and can run file by file. A line
    without an id gets its reason here, from its text: not JSON, empty, or JSON without the id
    (an object without it, or an array or a scalar)."""
    return f"""
SELECT source_file, line_number, reason_code,
       coalesce(reason, CASE reason_code
                            WHEN 'missing_id' THEN 'no "{id_field}" field (or the line is not a JSON object)'
                            WHEN 'empty_line' THEN '{_PROBLEM_REASONS["empty_line"]}'
                            ELSE 'not valid JSON'
                        END) AS reason,
       line
FROM (
  SELECT c.source_file, c.line_number,
         CASE WHEN c.reason_code <> '{NO_ID}' THEN c.reason_code
              WHEN TRY(json_parse(r.line)) IS NOT NULL THEN 'missing_id'
              WHEN trim(r.line) = '' THEN 'empty_line'
              ELSE 'invalid_json'
         END AS reason_code,
         c.reason, r.line
  FROM {{{{ raw }}}} r
  JOIN {{{{ rejected_lines }}}} c ON c.source_file = r.source_file AND c.line_number = r.line_number
) told"""


def valid_records_sql() -> str:
    """What `{{ source }}` means in the user's staging SELECT: every raw line not rejected.

    An anti-join against the (small) rejects table, so the classification, with its JSON
    parsing and duplicate search, runs once per run rather than once per statement.
    """
    return (
        "(SELECT r.source_file, r.line_number, r.line FROM {{ raw }} r WHERE NOT EXISTS "
        "(SELECT 1 FROM {{ rejects }} x WHERE x.source_file = r.source_file AND x.line_number = r.line_number))"
    )


def run_staging(ctx: RunContext) -> dict[str, Any]:
    """The whole stage: every pending ingest item here (on AWS, a Map state has ingested them
    already, one Lambda each), then the classification and the user's SELECT."""
    started = time.perf_counter()
    items = ingest.plan(ctx)
    todo = ingest.pending(ctx, items)
    if todo:
        ingest.ingest(ctx, todo)
    return stage_records(ctx, ingest.finish(ctx, items, time.perf_counter() - started))


def stage_records(ctx: RunContext, source: IngestStats) -> dict[str, Any]:
    """The source's lines -> line index, rejects and staged records, reconciled.

    Three statements read the lines themselves, each mapping every line on its own, so an
    engine may run them file by file over the files where they are (materialize_lines): the
    line index (every line parsed once), the rejects' text (only the rejected lines), and the
    user's SELECT (every line not rejected). An engine that can reads each line once for the
    index and the SELECT (stage_lines), and leaves out the rows of rejected lines after.
    """
    spec, layout, engine = ctx.spec, ctx.layout, ctx.ports.engine
    if source.lines == 0:
        raise DataQualityError(f"the source {spec.source.path} holds no lines ({source.files} files)")
    raw = {"raw": layout.raw}
    # Where the engine can, each line is read once for the staged rows and the index (those of
    # lines rejected below are then left out); otherwise the index, then the SELECT.
    one_pass = engine.stage_lines(
        layout.staging,
        layout.line_index,
        substitute(spec.sql.staging_sql, {"source": "(SELECT * FROM {{ raw }})"}),
        raw,
        lines="raw",
        id_field=ctx.id_column,
        sql_name=spec.sql.staging,
    )
    if one_pass is None:
        index = engine.materialize_lines(
            layout.line_index, line_index_sql(ctx.id_column), raw, lines="raw", sql_name="staging line index"
        )
    else:
        index = one_pass[0]
    _check_line_index(ctx, index.rows, source.lines)
    classified = engine.materialize(
        layout.rejected_lines,
        rejected_lines_sql(ctx.id_column),
        {"line_index": layout.line_index},
        sql_name="staging rejects",
    )
    files = engine.query(
        "SELECT DISTINCT source_file FROM {{ rejected_lines }}",
        {"rejected_lines": layout.rejected_lines},
        sql_name="staging rejects",
    ).column(0)
    rejects = engine.materialize_lines(
        layout.rejects,
        rejects_sql(ctx.id_column),
        {**raw, "rejected_lines": layout.rejected_lines},
        lines="raw",
        files=[str(f) for f in files.to_pylist()],
        positions="rejected_lines",
        sql_name="staging rejects",
    )
    if one_pass is None:
        user_sql = substitute(spec.sql.staging_sql, {"source": valid_records_sql()})
        inputs = {**raw, "rejects": layout.rejects}
        # Every line the SELECT sees is JSON: the line index checked it (valid_records_sql).
        staged = engine.materialize_lines(
            layout.staging, user_sql, inputs, lines="raw", sql_name=spec.sql.staging, valid_json=("line",)
        )
    else:
        _check_rows_for_every_record(ctx)
        engine.exclude_lines(layout.staging, layout.rejected_lines)
        staged = one_pass[1]
    counts = _counts(ctx, one_pass=one_pass is not None)
    _reconcile(ctx, source.lines, counts)
    scanned = (index, classified, rejects, staged)
    report: dict[str, Any] = {
        "source_files": source.files,
        "source_lines": source.lines,
        "source_bytes": source.bytes_read,
        "staged_rows": counts["staged"],
        "rejected_rows": counts["rejected"],
        "reject_reasons": counts["reasons"],
        "bytes_scanned": sum(stats.bytes_scanned for stats in scanned),
    }
    _check_reject_ratio(ctx, source.lines, counts["rejected"])
    return report


def _check_rows_for_every_record(ctx: RunContext) -> None:
    """In one pass, a line the SELECT gave no row looks like a line without an id: the rejects
    read those lines' text, so a line there that has an id after all is the SELECT's doing."""
    dropped = ctx.ports.engine.query(
        "SELECT source_file, line_number FROM {{ rejects }} WHERE reason_code <> 'duplicate_id' AND "
        f"TRY(json_extract_scalar(line, '$.{ctx.id_column}')) IS NOT NULL ORDER BY source_file, line_number LIMIT 3",
        {"rejects": ctx.layout.rejects},
        sql_name="staging check",
    ).to_pylist()
    if dropped:
        where = "; ".join(f"{r['source_file']}:{r['line_number']}" for r in dropped)
        raise StageError(
            "staging",
            f"{ctx.spec.sql.staging} returned no row for records with an id (first: {where}); it must "
            "return exactly one row per record of {{ source }} (no WHERE filter, no joins that drop rows)",
        )


def _check_line_index(ctx: RunContext, rows: int | None, lines: int) -> None:
    """One index row per source line, as ingest counted them (when the engine says how many
    rows it wrote): a reader that skipped or split a line would shift every later line's
    number, so the rejects and the staged records would no longer be the lines they name."""
    if rows is None or rows == lines:
        return
    expected: dict[str, int] = {}
    done = ingest.done(ctx)
    for item in ingest.plan(ctx):
        expected[item.source_file] = expected.get(item.source_file, 0) + done.get(item.index, 0)
    found = ctx.ports.engine.query(
        "SELECT source_file, count(*) AS n FROM {{ line_index }} GROUP BY source_file",
        {"line_index": ctx.layout.line_index},
        sql_name="staging check",
    ).to_pylist()
    counted = {str(r["source_file"]): int(r["n"]) for r in found}
    wrong = [f"{f}: {counted.get(f, 0):,} of {n:,}" for f, n in sorted(expected.items()) if counted.get(f, 0) != n]
    raise StageError(
        "staging",
        f"the line index holds {rows:,} rows for {lines:,} source lines; rows per file against the lines "
        f"ingest counted: {'; '.join(wrong[:5]) or 'each file agrees, so a file is missing from the plan'}",
    )


def _counts(ctx: RunContext, *, one_pass: bool) -> dict[str, Any]:
    """Staged rows, their distinct ids and the rejects by reason. In one pass, staged ids that
    are their lines' ids are distinct by construction (SqlEngine.ids_are_line_ids): the
    duplicate search kept one line per id. Otherwise they are counted."""
    layout, engine, id_col = ctx.layout, ctx.ports.engine, ctx.id_column
    inputs = {"staging": layout.staging, "rejects": layout.rejects}
    columns = engine.query("SELECT * FROM {{ staging }} LIMIT 0", inputs, sql_name="staging check").schema.names
    if id_col not in columns:
        raise StageError(
            "staging",
            f"{ctx.spec.sql.staging} must return the id column {id_col!r}; it returns {columns}",
        )
    proven = one_pass and engine.ids_are_line_ids(layout.staging, id_col)
    ids = "count(*)" if proven else f"count(DISTINCT {id_col})"
    row = engine.query(
        f"SELECT count(*) AS staged, {ids} AS ids FROM {{{{ staging }}}}", inputs, sql_name="staging check"
    ).to_pylist()[0]
    reasons = engine.query(
        "SELECT reason_code, count(*) AS n FROM {{ rejects }} GROUP BY reason_code ORDER BY reason_code",
        inputs,
        sql_name="staging check",
    ).to_pylist()
    by_reason = {r["reason_code"]: int(r["n"]) for r in reasons}
    return {
        "staged": int(row["staged"]),
        "ids": int(row["ids"]),
        "rejected": sum(by_reason.values()),
        "reasons": by_reason,
    }


def _reconcile(ctx: RunContext, lines: int, counts: dict[str, Any]) -> None:
    expected = lines - counts["rejected"]
    if counts["staged"] != expected:
        raise StageError(
            "staging",
            f"{ctx.spec.sql.staging} returned {counts['staged']} rows for {expected} valid records; it must "
            "return exactly one row per record of {{ source }} (no WHERE filter, no joins that add rows)",
        )
    if counts["ids"] != counts["staged"]:
        # count(DISTINCT) skips NULLs: say so when a NULL id, not a repeated one, is the cause.
        nulls = ctx.ports.engine.query(
            f"SELECT count(*) - count({ctx.id_column}) AS n FROM {{{{ staging }}}}",
            {"staging": ctx.layout.staging},
            sql_name="staging check",
        ).to_pylist()[0]["n"]
        null_text = f", and {int(nulls):,} rows with a NULL {ctx.id_column!r}" if nulls else ""
        raise StageError(
            "staging",
            f"{ctx.spec.sql.staging} returned {counts['staged']} rows but only {counts['ids']} distinct "
            f"{ctx.id_column!r} values{null_text}; the id column must be the record's id"
            + (" (every line has an id: the SELECT must return it as it is, never NULL)" if nulls else ""),
        )


def _check_reject_ratio(ctx: RunContext, lines: int, rejected: int) -> None:
    limit = ctx.spec.source.max_reject_ratio
    if rejected == 0 or rejected / lines <= limit:
        return
    first = ctx.ports.engine.query(
        "SELECT source_file, line_number, reason FROM {{ rejects }} ORDER BY source_file, line_number LIMIT 1",
        {"rejects": ctx.layout.rejects},
        sql_name="staging check",
    ).to_pylist()[0]
    raise DataQualityError(
        f"{rejected} of {lines} source lines rejected ({rejected / lines:.2%}), above [source] "
        f"max_reject_ratio = {limit:.2%}. First: {first['source_file']}:{first['line_number']}: "
        f"{first['reason']}. All rejects are in {ctx.ports.store.uri(ctx.layout.rejects.location)}"
    )
