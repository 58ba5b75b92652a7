"""The Glue Data Catalog as the Catalog: tables a user queries by name in Athena."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from adapters.aws.glue_tables import GlueTables
from adapters.aws.glue_types import hive_columns
from adapters.aws.glue_views import LOCATION_PARAMETER, drop_parts, publish_view
from domain.identifiers import check_identifier
from domain.ports.catalog import Catalog, TableVersion

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient


class GlueCatalog(Catalog):
    def __init__(self, client: GlueClient, database: str, bucket: str, prefix: str = "") -> None:
        self.tables = GlueTables(client, database, bucket, prefix)

    def ensure_table(self, name: str, schema: pa.Schema, location: str) -> bool:
        check_identifier(name, "table name")
        self.tables.ensure_database()
        if self.tables.get(name) is not None:
            return False
        return self.tables.create(self.tables.table_input(name, hive_columns(schema), location))

    def publish_together(self, tables: Sequence[TableVersion]) -> None:
        # Glue has no transaction over several tables: each UpdateTable switches one table whole,
        # one after the other; the publication pointer in the lake lets the next start finish a
        # switch a kill cut short (domain/services/publication.py).
        for table in tables:
            check_identifier(table.name, "table name")
        self.tables.ensure_database()
        for table in tables:
            if table.join is not None:
                publish_view(self.tables, table)
                continue
            self.tables.replace(self.tables.table_input(table.name, hive_columns(table.schema), table.location))
            drop_parts(self.tables, table.name)  # a roll-back to a run published as one table

    def location(self, name: str) -> str | None:
        table = self.tables.get(name)
        if table is None:
            return None
        if table.get("TableType") == "VIRTUAL_VIEW":
            return table.get("Parameters", {}).get(LOCATION_PARAMETER)
        return self.tables.key_of(table.get("StorageDescriptor", {}).get("Location", ""))

    def drop(self, name: str) -> None:
        check_identifier(name, "table name")
        self.tables.delete(name)
        drop_parts(self.tables, name)
