"""Read a pipeline spec file: TOML, paths resolved, SQL files read, everything validated.

Errors name the file and the key (`spec.toml: [model] estimator: ...`), and all of them
are reported before anything runs.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.errors import SpecError
from domain.spec import PipelineSpec


def _is_uri(value: str) -> bool:
    return "://" in value


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return f"[{parts[0]}]"
    return f"[{parts[0]}] " + ".".join(parts[1:])


def _describe(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling against the spec reference in README.md)"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _resolve(base: Path, value: str) -> str:
    return value if _is_uri(value) else str((base / value).resolve())


def root_note(spec_file: Path, spec: PipelineSpec) -> str | None:
    """Where a local [output] root really is, when the spec does not make that plain: a symbolic
    link leads elsewhere, or '..' takes it out of the spec's folder. The loader resolves both;
    this says so, so a lake never lands somewhere unexpected without a word."""
    try:
        literal = tomllib.loads(spec_file.read_text(encoding="utf-8")).get("output", {}).get("root")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(literal, str) or _is_uri(literal):
        return None
    real = Path(spec.output.root)
    lexical = Path(os.path.normpath(spec_file.parent.absolute() / literal))
    if lexical != real:
        return f"[output] root {literal!r} is {real} (a symbolic link leads there)"
    if ".." in Path(literal).parts and not real.is_relative_to(spec_file.parent.resolve()):
        return f"[output] root {literal!r} is {real}, outside the spec's folder"
    return None


def _read_sql(spec_file: Path, section: dict[str, Any], key: str, problems: list[str]) -> None:
    name = section.get(key)
    if not isinstance(name, str):
        return  # pydantic reports the missing or mistyped key
    path = (spec_file.parent / name).resolve()
    try:
        section[f"{key}_sql"] = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"[sql] {key}: file {path} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"[sql] {key}: cannot read {path}: {exc}")
    section[key] = name


def load_spec(spec_file: Path, overrides: dict[str, dict[str, Any]] | None = None) -> PipelineSpec:
    try:
        data = tomllib.loads(spec_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"spec file {spec_file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{spec_file}: not valid TOML: {exc}") from None
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    problems: list[str] = []
    base = spec_file.parent
    for section, key in (("source", "path"), ("output", "root")):
        entries = data.get(section)
        if isinstance(entries, dict) and isinstance(entries.get(key), str):
            entries[key] = _resolve(base, entries[key])
    sql = data.get("sql")
    if isinstance(sql, dict):
        for key in ("staging_sql", "features_sql"):
            if key in sql:
                problems.append(f"[sql] {key}: unknown key (name the SQL file in 'staging' / 'features')")
        _read_sql(spec_file, sql, "staging", problems)
        _read_sql(spec_file, sql, "features", problems)
    if not problems:
        try:
            return PipelineSpec.model_validate(data)
        except ValidationError as exc:
            problems += [f"{_where(e['loc'])}: {_describe(e)}" for e in exc.errors()]
    raise SpecError(f"{spec_file}: " + ("\n  " if len(problems) > 1 else "") + "\n  ".join(problems))
