"""The statements that write tables in Athena: CTAS, INSERT INTO, and the partition chunks.

Athena's limits decide the shape (https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html):
a CTAS or INSERT INTO writes at most 100 partitions, and a CTAS needs an empty location.
"""

from __future__ import annotations

from domain.sql import string_literal

MAX_PARTITIONS_PER_STATEMENT = 100


def quoted(*parts: str) -> str:
    """`"database"."table"`: identifiers here are validated names, quoted against reserved words."""
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def ctas(table: str, location_uri: str, select: str, partitioned_by: str | None = None) -> str:
    properties = [
        "format = 'PARQUET'",
        "write_compression = 'SNAPPY'",
        f"external_location = {string_literal(location_uri)}",
    ]
    if partitioned_by:
        # Athena's rule: partition columns come last in the SELECT list.
        properties.append(f"partitioned_by = ARRAY[{string_literal(partitioned_by)}]")
    return f"CREATE TABLE {table}\nWITH ({', '.join(properties)})\nAS\n{select}"


def insert(table: str, select: str) -> str:
    return f"INSERT INTO {table}\n{select}"
