"""Which features SELECTs keep staging's ids row by row, so their distinct ids need no count
(domain/sql_lineage.py). A wrong True would let repeated ids through: every shape that can
repeat or recompute an id must answer False."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.sql_lineage import keeps_source_ids

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, x FROM {{ staging }}",
        "SELECT * FROM {{ staging }} WHERE x > 1",
        "SELECT s.id, s.x FROM {{ staging }} s",
        "SELECT s.* FROM {{ staging }} AS s",
        "SELECT ID FROM {{ staging }}",
        "WITH a AS (SELECT * FROM {{ staging }}) SELECT id FROM a",
        "WITH a AS (SELECT * FROM {{ staging }}), b AS (SELECT id, 2 AS y FROM a) SELECT b.id FROM b",
        "SELECT t.id FROM (SELECT id, x FROM {{ staging }}) t",
        "SELECT id, row_number() OVER (ORDER BY x) AS r FROM {{ staging }}",
        "SELECT id FROM {{ staging }} WHERE id IN (SELECT id FROM {{ staging }} WHERE x > 1)",
        "SELECT id FROM {{ staging }} ORDER BY x LIMIT 10;",
    ],
)
def test_selects_that_keep_the_ids_row_by_row(sql: str) -> None:
    assert keeps_source_ids(sql, "staging", "id")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT other AS id FROM {{ staging }}",
        "SELECT CAST(id AS varchar) AS id FROM {{ staging }}",
        "SELECT lower(id) AS id FROM {{ staging }}",
        "SELECT s.id FROM {{ staging }} s JOIN {{ staging }} t ON s.id = t.id",
        "SELECT s.id FROM {{ staging }} s LEFT JOIN {{ other }} o ON s.x = o.x",
        "SELECT id FROM {{ staging }}, UNNEST(skills) AS t(s)",
        "SELECT id FROM {{ staging }} CROSS JOIN UNNEST(skills) AS t(s)",
        "SELECT id, unnest(skills) AS s FROM {{ staging }}",
        "SELECT id FROM {{ staging }} s, LATERAL (SELECT 1) t",
        "SELECT id FROM {{ staging }} UNION ALL SELECT id FROM {{ staging }}",
        "SELECT id FROM {{ staging }} GROUP BY id",
        "SELECT DISTINCT id, x FROM {{ staging }}",
        "SELECT *, id FROM {{ staging }}",
        "SELECT *, 1 AS id FROM {{ staging }}",
        "WITH a AS (SELECT * FROM a) SELECT id FROM a",
        "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM {{ staging }}) SELECT id FROM a",
        "WITH RECURSIVE a AS (SELECT * FROM {{ staging }}) SELECT id FROM a",
        "SELECT t.id FROM (SELECT x AS id FROM {{ staging }}) t",
        "SELECT id FROM {{ other }}",
        "SELECT id FROM staging",
        "SELECT id FROM (VALUES (1)) AS t(id)",
        "SELECT 1 AS id",
        "SELECT FROM WHERE",
    ],
)
def test_selects_that_may_repeat_or_recompute_an_id(sql: str) -> None:
    assert not keeps_source_ids(sql, "staging", "id")


def test_the_age_example_keeps_its_ids() -> None:
    assert keeps_source_ids((EXAMPLES / "age" / "features.sql").read_text(), "staging", "id")
