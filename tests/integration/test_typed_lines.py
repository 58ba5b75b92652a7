"""The line index and the staging SELECT over DuckDB's typed NDJSON reader give the rows they
give over the lines as text (adapters/local/typed_lines.py): same line index, staged rows and
rejects, for every kind of line."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import tomli_w

from adapters.local import duckdb_engine
from adapters.local.dialect import athena_to_duckdb
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.line_items import CSV_AS_LINES, count_in_place
from adapters.local.typed_lines import reader_sql, typed_select
from domain.services.staging import run_staging
from examples.age.generate import generate
from tests.integration.test_lines_in_place import staging_context

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "age"
STRUCT = '{"a": "VARCHAR"}'
# Lines the reader and json_transform could read differently: every one is staged or rejected
# alike on both paths (the probe of 2026-12-05 found none that differs).
TRICKY = [
    '{"id": "t-1", "age": "41", "skills": "not a list", "emails": [1, {"x": 2}]}',
    '{"id": "t-2", "age": {"nested": 1}, "work_experience": {"title": "one object, not a list"}}',
    '{"id": "t-3", "work_experience": [{"title": "t", "start_year": "abc"}], "education": "[{\\"degree\\": 1}]"}',
    '{"id": "t-4", "id": "t-4-again", "age": 30}',
    '{"ID": "t-5"}',
    '{"id": 6, "age": 1e400}',
    '{"id": {"x": 1}, "age": true}',
    '{"id": null}',
    '{"id": "t-9", "age": NaN}',
    '{"id": "t-10",}',
    '{"id": "t-11"} trailing text',
    '{"id": "t-12"}{"id": "t-13"}',
    '[{"id": "t-14"}]',
    '"just a string"',
    "null",
    "true",
    "{broken",
    "\ufeff" + '{"id": "t-15"}',
    '\t{"id": "t-16", "full_name": "tab before, spaces after"}   ',
    '{"id": "t-17", "full_name": "\\u0000 and \\ud83d\\ude00"}',
    '{"id": "t-18", "headline": "' + "x" * 100_000 + '"}',
    '{"id": "t-1", "age": "a duplicate of a tricky line"}',
    "plain text",
]


def write_project(folder: Path, extra_lines: list[str]) -> Path:
    for name in ("staging.sql", "features.sql"):
        shutil.copy(EXAMPLE / name, folder / name)
    spec: dict[str, Any] = tomllib.loads((EXAMPLE / "spec.toml").read_text())
    spec["source"].update(path=str(folder / "data"), max_reject_ratio=1.0)
    spec["output"]["root"] = str(folder / "lake")
    (folder / "spec.toml").write_text(tomli_w.dumps(spec))
    generate(folder / "data", 1500, seed=11, rows_per_file=500, malformed_fraction=0.05)
    if extra_lines:
        with (folder / "data" / "profiles-00001.jsonl").open("a") as out:
            out.write("\n".join(extra_lines) + "\n")
    return folder


def staged(
    folder: Path, *, mode: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], list[Any], int, list[Any], bool]:
    """(staged rows, rejects, file readings by the typed reader as two statements, line index,
    whether staging read each line once) of a fresh staging run. `mode`: "one_pass" (as runs
    stage), "typed" (the index and the SELECT, each through the typed reader) or "text"."""
    shutil.rmtree(folder / "lake", ignore_errors=True)
    read_typed: list[str] = []
    one_pass: list[bool] = []
    original, stage_lines = DuckDBSqlEngine._bind_typed_lines, DuckDBSqlEngine.stage_lines

    def spy(self: DuckDBSqlEngine, conn: duckdb.DuckDBPyConnection, view: str, items: Any, struct: str) -> None:
        read_typed.extend(str(item.source_file) for item in items)
        original(self, conn, view, items, struct)

    def spy_one_pass(self: DuckDBSqlEngine, *args: Any, **kwargs: Any) -> Any:
        done = stage_lines(self, *args, **kwargs) if mode == "one_pass" else None
        one_pass.append(done is not None)
        return done

    with monkeypatch.context() as patch:
        patch.setattr(DuckDBSqlEngine, "_bind_typed_lines", spy)
        patch.setattr(DuckDBSqlEngine, "stage_lines", spy_one_pass)
        if mode == "text":
            patch.setattr(duckdb_engine, "typed_select", lambda sql, column: None)
        ctx = staging_context(folder)
        run_staging(ctx)
    engine = ctx.ports.engine

    def rows(table: Any, order: str) -> list[Any]:
        found = engine.query(f"SELECT * FROM {{{{ t }}}} ORDER BY {order}", {"t": table}, sql_name="t")
        return list(found.to_pylist())

    index = rows(ctx.layout.line_index, "source_file, line_number")
    staged_rows = rows(ctx.layout.staging, "id")
    return staged_rows, rows(ctx.layout.rejects, "source_file, line_number"), len(read_typed), index, one_pass == [True]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    yield write_project(tmp_path, TRICKY)


def test_the_typed_reader_stages_every_kind_of_line_as_the_text_reader_does(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line read once (staged rows and index from one reading), or by two statements
    through the typed reader, or as text: the same index, staged rows and rejects."""
    once_rows, once_rejects, once_files, once_index, once = staged(project, mode="one_pass", monkeypatch=monkeypatch)
    typed_rows, typed_rejects, typed_files, typed_index, _ = staged(project, mode="typed", monkeypatch=monkeypatch)
    text_rows, text_rejects, text_files, text_index, _ = staged(project, mode="text", monkeypatch=monkeypatch)
    assert once and once_files == 0  # read once, by the one-pass statement
    assert (typed_files, text_files) == (6, 0)  # the three files, for the line index and the SELECT
    assert once_index == typed_index == text_index and len(typed_index) == 1500 + len(TRICKY)
    assert once_rows == typed_rows == text_rows and once_rejects == typed_rejects == text_rejects
    by_id = {row["id"]: row for row in typed_rows}
    assert by_id["t-1"]["skills"] is None and by_id["t-1"]["age"] == 41  # a wrong type: that field NULL
    assert by_id["t-16"]["full_name"] == "tab before, spaces after"
    assert {r["reason_code"] for r in typed_rejects} == {"duplicate_id", "invalid_json", "missing_id"}


def test_a_file_with_a_blank_line_is_read_as_text(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader skips a line of whitespace, which would shift every later line's number."""
    with (project / "data" / "profiles-00002.jsonl").open("a") as out:
        out.write(" \t\n" + json.dumps({"id": "after-the-blank", "age": 50}) + "\n")
    typed_rows, typed_rejects, typed_files, typed_index, once = staged(
        project, mode="one_pass", monkeypatch=monkeypatch
    )
    text_rows, text_rejects, _, text_index, _ = staged(project, mode="text", monkeypatch=monkeypatch)
    assert not once  # a file the typed reader cannot read: every line read as before
    assert typed_files == 4 and typed_index == text_index  # two files, twice each
    assert typed_rows == text_rows and typed_rejects == text_rejects
    after = next(row for row in typed_rows if row["id"] == "after-the-blank")
    assert after["line_number"] == 502  # 500 generated lines, the blank one, then this


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated file of 600 lines, then every tricky line."""
    folder = tmp_path_factory.mktemp("typed")
    generate(folder, 600, seed=11, rows_per_file=600, malformed_fraction=0.05)
    path = folder / "profiles-00000.jsonl"
    with path.open("a") as out:
        out.write("\n".join(TRICKY) + "\n")
    return path


def staging_duckdb() -> str:
    staging = (EXAMPLE / "staging.sql").read_text().replace("{{ source }}", "source")
    return athena_to_duckdb(staging, sql_name="staging", valid_json=("line",))


def test_the_reader_gives_every_line_the_struct_json_transform_gives_its_text(source: Path) -> None:
    typed = typed_select(staging_duckdb())
    assert typed is not None
    with duckdb.connect() as con:
        as_text = con.execute(
            "SELECT CASE WHEN json_valid(line) THEN json_transform(line, ?) END "
            f"FROM read_csv('{source}', {CSV_AS_LINES})",
            [typed.structure],
        ).fetchall()
        read = con.execute(f"SELECT json FROM {reader_sql([str(source)], typed.struct_type)}").fetchall()
    assert len(read) == len(as_text) == 600 + len(TRICKY)  # one row per line, in order
    assert read == as_text


@pytest.mark.parametrize("line", ["", " ", "\t", "\x0b", "\x0c", " \t \x0b\x0c "])
def test_every_line_the_reader_skips_is_counted_blank_at_ingest(line: str, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(f'{{"id": "a"}}\n{line}\n{{"id": "b"}}\n\ufeff\n\xa0\n')
    read = duckdb.connect().execute(
        f"SELECT count(*) FROM read_json('{path}', format = 'newline_delimited', records = false, "
        "ignore_errors = true, columns = {'json': 'STRUCT(id VARCHAR)'})"
    )
    assert read.fetchall() == [(4,)]  # the skipped line alone gives no row
    assert count_in_place(path, 2)[:2] == (5, 1)


def test_a_failing_typed_statement_is_run_again_over_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_project(tmp_path, [])
    monkeypatch.setattr(duckdb_engine, "typed_lines_sql", lambda item, struct: "SELECT no_such_column")
    text_rows, text_rejects, _, _, _ = staged(project, mode="text", monkeypatch=monkeypatch)
    rows, rejects, typed_files, _, _ = staged(project, mode="typed", monkeypatch=monkeypatch)
    assert typed_files == 6 and rows == text_rows and rejects == text_rejects


@pytest.mark.parametrize(
    ("sql", "typed"),
    [
        (f"SELECT j.a FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t)", True),
        (f"SELECT j.a, source_file FROM (SELECT t.*, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t AS t)", True),
        (f"SELECT j.a FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM (SELECT r.line FROM t AS r))", True),
        # The line itself, or its text, would reach the result or a condition:
        (f"SELECT * FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t)", False),
        (f"SELECT j.a, line FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t)", False),
        (f"SELECT j.a, length(line) FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t)", False),
        (f"SELECT j.a FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t WHERE line <> '')", False),
        (f"SELECT j.a FROM (SELECT line AS text, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t)", False),
        (f"SELECT j.a FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t) UNION ALL SELECT * FROM t", False),
        # Two structures, a nested one, or none at all:
        (
            f"SELECT j.a, k.b FROM (SELECT *, JSON_TRANSFORM(line, '{STRUCT}') AS j, "
            """JSON_TRANSFORM(line, '{"b": "INT"}') AS k FROM t)""",
            False,
        ),
        ("""SELECT j.a FROM (SELECT *, JSON_TRANSFORM(line, '{"a": {"b": "INT"}}') AS j FROM t)""", False),
        # Top-level keys read with ->> (the line index's id), alone or under TRY:
        ("SELECT JSON_EXTRACT_STRING(line, '$.a') FROM t", True),
        ("SELECT source_file, CASE WHEN problem IS NULL THEN TRY(line ->> '$.a') END FROM t", True),
        ("SELECT line ->> '$.a', line ->> '$.a' AS again FROM (SELECT source_file, line FROM t)", True),
        ("SELECT line ->> '$.a.b' FROM t", False),
        ("SELECT line ->> '$[0]' FROM t", False),
        ("SELECT line ->> '$.a', line FROM t", False),
        ("SELECT line ->> '$.a' FROM t WHERE json_valid(line)", False),
        (f"SELECT line ->> '$.a', JSON_TRANSFORM(line, '{STRUCT}') AS j FROM t", False),
    ],
)
def test_only_a_select_that_uses_the_line_through_its_extractions_is_rewritten(sql: str, typed: bool) -> None:
    rewritten = typed_select(sql)
    assert (rewritten is not None) == typed
    if rewritten is not None:
        text = rewritten.sql.upper()
        assert "JSON_TRANSFORM" not in text and "->>" not in text and "JSON_EXTRACT" not in text
        assert rewritten.struct_type == 'STRUCT("a" VARCHAR)'


def test_the_line_index_reads_the_id_as_the_text_path_does(tmp_path: Path) -> None:
    """`TRY(line ->> '$.id')` over the text and the reader's VARCHAR field, line by line."""
    path = tmp_path / "kinds.jsonl"
    path.write_text("\n".join([*TRICKY, '{"id": 1.50}', '{"id": 1e3}', '{"id": [1, 2]}', '{"id": ""}', "{}"]) + "\n")
    rewritten = typed_select("SELECT TRY(line ->> '$.id') AS id FROM t")
    assert rewritten is not None
    conn = duckdb.connect(config={"threads": 1})
    text = conn.execute(f"SELECT TRY(line ->> '$.id') FROM read_csv('{path}', {CSV_AS_LINES})").fetchall()
    reader = conn.execute(
        rewritten.sql.replace(
            "FROM t", f"FROM (SELECT json AS line FROM {reader_sql([str(path)], rewritten.struct_type)})"
        )
    ).fetchall()
    assert reader == text and len(text) == len(TRICKY) + 5
