"""A SELECT's result in GetQueryResults' shape: ColumnInfo with Trino type names, every value as
Trino renders it to text (`VarCharValue`, absent for NULL), the column labels as the first row
of the first page.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from tests.integration.aws.athena_emulation.types import AthenaType


def column_info(name: str, t: AthenaType) -> dict[str, Any]:
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": t.name,
        "Precision": t.precision,
        "Scale": t.scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": t.name == "varchar",
    }


def _scientific(shortest: str) -> str:
    """Java's Double.toString outside [1e-3, 1e7): `1.0E7`, `1.5E-5`, from the shortest digits."""
    sign, digits, exponent = Decimal(shortest).normalize().as_tuple()
    assert isinstance(exponent, int)
    power = len(digits) - 1 + exponent
    rest = "".join(str(d) for d in digits[1:]) or "0"
    return f"{'-' if sign else ''}{digits[0]}.{rest}E{power}"


def java_float(value: float, single: bool = False) -> str:
    """A double (or real) as Trino, which is Java, prints it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    shortest = str(np.float32(value)) if single else repr(value)
    if value != 0 and not 1e-3 <= abs(value) < 1e7:
        return _scientific(shortest)
    plain = format(Decimal(shortest), "f")
    return plain if "." in plain else plain + ".0"


def _nested(value: Any) -> str:
    if value is None:
        return "null"
    return text(value, None)


def text(value: Any, t: AthenaType | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_float(value, single=t is not None and t.name == "real")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M:%S.")
            + f"{value.microsecond // 1000:03d}"
            + (f" {value.tzname()}" if value.tzinfo else "")
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and t is not None and t.name == "map":
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    return str(value)


def data_rows(table: pa.Table, types: list[AthenaType]) -> list[dict[str, Any]]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [
        {
            "Data": [
                {} if col[r] is None else {"VarCharValue": text(col[r], t)}
                for col, t in zip(columns, types, strict=True)
            ]
        }
        for r in range(table.num_rows)
    ]


def header_row(names: list[str]) -> dict[str, Any]:
    return {"Data": [{"VarCharValue": n} for n in names]}


class ResultPages:
    """A finished SELECT's rows as GetQueryResults pages: the header row counts as one of the
    first page's rows; NextToken is opaque and names the query it belongs to."""

    def __init__(self, execution_id: str, names: list[str], types: list[AthenaType], table: pa.Table) -> None:
        self.execution_id = execution_id
        self.info = [column_info(n, t) for n, t in zip(names, types, strict=True)]
        self.rows = [header_row(names), *data_rows(table, types)]

    def token(self, offset: int) -> str:
        return base64.urlsafe_b64encode(f"{self.execution_id}:{offset}".encode()).decode()

    def offset(self, token: str | None) -> int | None:
        """Where a token points; None for a token that is not this query's."""
        if not token:
            return 0
        try:
            owner, _, start = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        except ValueError:
            return None
        return int(start) if owner == self.execution_id and start.isdigit() else None

    def page(self, offset: int, size: int) -> dict[str, Any]:
        page: dict[str, Any] = {
            "ResultSet": {"Rows": self.rows[offset : offset + size], "ResultSetMetadata": {"ColumnInfo": self.info}},
            "UpdateCount": 0,
        }
        if offset + size < len(self.rows):
            page["NextToken"] = self.token(offset + size)
        return page
