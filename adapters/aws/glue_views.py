"""A joined table version as Athena sees it: a Glue view over two plain tables.

Athena keeps a view in Glue as a VIRTUAL_VIEW whose ViewOriginalText holds, base64-encoded, the
view's SQL and its columns with their Trino types ("Presto View"); a view made through the
Glue API in that form is read as one made by CREATE VIEW. A version's two stored tables get
plain Glue tables of their own, named after the view and their location, so switching the
view to another version is one UpdateTable of the view: its new tables exist before it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection
from typing import TYPE_CHECKING

from adapters.aws.glue_tables import GlueTables
from adapters.aws.glue_types import hive_columns, hive_type, presto_type
from domain.ports.catalog import Join, TableVersion

if TYPE_CHECKING:
    from mypy_boto3_glue.type_defs import TableInputTypeDef

LOCATION_PARAMETER = "batchml_location"  # the version's own location, which a view has none of
_PARTS = ("__base_", "__added_")


def part_table(view: str, part: str, location: str) -> str:
    """The Glue table over one stored table of a version ("__" names no results table takes)."""
    return f"{view}{part}{hashlib.sha256(location.encode()).hexdigest()[:12]}"


def is_part_of(view: str, name: str) -> bool:
    return any(name.startswith(f"{view}{part}") for part in _PARTS)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def view_sql(database: str, base: str, added: str, join: Join) -> str:
    columns = [f"b.{_quoted(n)}" for n in join.base_schema.names]
    columns += [f"a.{_quoted(n)}" for n in join.added_schema.names if n != join.key]
    key = _quoted(join.key)
    return (
        f"SELECT {', '.join(columns)} FROM {_quoted(database)}.{_quoted(base)} b "
        f"JOIN {_quoted(database)}.{_quoted(added)} a ON b.{key} = a.{key}"
    )


def view_input(tables: GlueTables, version: TableVersion, base: str, added: str) -> TableInputTypeDef:
    assert version.join is not None
    body = {
        "originalSql": view_sql(tables.database, base, added, version.join),
        "catalog": "awsdatacatalog",
        "schema": tables.database,
        "columns": [{"name": f.name, "type": presto_type(f.type)} for f in version.schema],
    }
    return {
        "Name": version.name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View", LOCATION_PARAMETER: version.location},
        "ViewOriginalText": f"/* Presto View: {base64.b64encode(json.dumps(body).encode()).decode()} */",
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {
            "Columns": [{"Name": f.name, "Type": hive_type(f.type)} for f in version.schema],
            "SerdeInfo": {},
        },
        "PartitionKeys": [],
    }


def publish_view(tables: GlueTables, version: TableVersion) -> None:
    """The version's two tables, then the view over them (one UpdateTable: readers see the old
    view or the new one), then the tables of the versions the view no longer shows."""
    join = version.join
    assert join is not None
    base = part_table(version.name, _PARTS[0], join.base_location)
    added = part_table(version.name, _PARTS[1], version.location)
    tables.replace(tables.table_input(base, hive_columns(join.base_schema), join.base_location))
    tables.replace(tables.table_input(added, hive_columns(join.added_schema), version.location))
    tables.replace(view_input(tables, version, base, added))
    drop_parts(tables, version.name, keep={base, added})


def drop_parts(tables: GlueTables, view: str, keep: Collection[str] = ()) -> None:
    """The Glue tables of `view`'s versions, but those in `keep` (their files stay)."""
    for name in tables.names():
        if is_part_of(view, name) and name not in keep:
            tables.delete(name)
