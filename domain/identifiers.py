"""Validation of names that end up inside SQL or storage paths.

Identifiers from a spec are never pasted into SQL raw: they must match a conservative
pattern that is a valid unquoted identifier in both Trino and DuckDB.
"""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
RUN_ID = re.compile(r"^[0-9]{8}t[0-9]{6}z?(-[a-z0-9]{1,12})?$|^[a-z0-9][a-z0-9_-]{0,63}$")


def is_identifier(name: str) -> bool:
    return bool(IDENTIFIER.fullmatch(name)) and len(name) <= 128


def check_identifier(name: str, what: str) -> str:
    """Return `name` if it is a safe SQL identifier, else raise ValueError naming `what`."""
    if not is_identifier(name):
        raise ValueError(
            f"{what} {name!r} is not a valid identifier: use lower-case letters, digits and "
            "underscores, starting with a letter or underscore (pattern ^[a-z_][a-z0-9_]*$)"
        )
    return name


def check_run_id(run_id: str) -> str:
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"run id {run_id!r} is not valid: use lower-case letters, digits, '-' and '_'")
    return run_id
