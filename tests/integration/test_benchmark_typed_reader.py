"""DuckDB's typed NDJSON reader gives the staging SELECT what json_transform gives it over the
text (benchmarks/typed_reader.py), so the floor and the ceiling that use it do the same work."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adapters.local.dialect import athena_to_duckdb
from benchmarks.floor import records_sql, typed_records_sql
from benchmarks.typed_reader import reader_sql, typed_select
from examples.age.generate import generate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "age"
STRUCT = '{"a": "VARCHAR"}'
# Lines the reader and json_transform could read differently (the probe of 2026-12-05 found
# none that does).
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
LINES = "columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
            f"SELECT CASE WHEN json_valid(line) THEN json_transform(line, ?) END FROM read_csv('{source}', {LINES})",
            [typed.structure],
        ).fetchall()
        read = con.execute(f"SELECT json FROM {reader_sql([str(source)], typed.struct_type)}").fetchall()
    assert len(read) == len(as_text) == 600 + len(TRICKY)  # one row per line, in order
    assert read == as_text


def test_the_floor_stages_the_same_rows_from_the_reader_as_from_the_text(source: Path) -> None:
    text_sql = staging_duckdb()
    typed = typed_select(text_sql)
    assert typed is not None
    with duckdb.connect() as con:
        con.execute(f"CREATE TEMP VIEW source AS {records_sql([source], 'id')}")
        from_text = con.execute(f"SELECT * FROM ({text_sql}) ORDER BY line_number").fetchall()
        con.execute(f"CREATE OR REPLACE TEMP VIEW source AS {typed_records_sql(source, typed, 'id')}")
        from_reader = con.execute(f"SELECT * FROM ({typed.sql}) ORDER BY line_number").fetchall()
    assert len(from_text) > 600 * 0.9 and from_reader == from_text


@pytest.mark.parametrize("line", ["", " ", "\t", "\x0b", "\x0c", " \t \x0b\x0c "])
def test_the_reader_skips_only_lines_of_json_whitespace(line: str, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(f'{{"id": "a"}}\n{line}\n{{"id": "b"}}\n\ufeff\n\xa0\n')
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT json FROM {reader_sql([str(path)], 'STRUCT(id VARCHAR)')}").fetchall()
    assert rows == [({"id": "a"},), ({"id": "b"},), (None,), (None,)]  # the blank line alone gives no row


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
        ("SELECT JSON_EXTRACT_STRING(line, '$.a') FROM t", False),
    ],
)
def test_only_a_select_that_uses_the_line_through_its_transform_is_rewritten(sql: str, typed: bool) -> None:
    rewritten = typed_select(sql)
    assert (rewritten is not None) == typed
    if rewritten is not None:
        assert "JSON_TRANSFORM" not in rewritten.sql.upper() and rewritten.struct_type == 'STRUCT("a" VARCHAR)'
