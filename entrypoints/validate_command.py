"""`batchml validate SPEC`: everything that can be checked before a run, without running it.

The spec and its SQL files (load_spec), the model parameters against their library, both SQL
files parsed as Athena SQL, and a dry run of the real staging and features stages on the
first lines of the source (a folder, or S3 for an AWS spec) with the local engine in a
throw-away folder: a label spelled wrong, a features SELECT that drops the id or a type no
model takes shows up in a second, not after staging the whole lake (on AWS: after Athena
scanned it).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from domain.errors import BatchmlError, SpecError
from domain.ml.features import training_schema
from domain.pipeline import run_function_stage
from domain.spec import PipelineSpec
from domain.sql import substitute
from entrypoints import containers
from entrypoints.arg_types import at_least
from entrypoints.native_output import native_stderr_silenced
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec, root_note

DEFAULT_SAMPLE_LINES = 1000
SHOWN_COLUMNS = 25
# A sample mostly rejected means a wrong id_field or path, not dirty data: the run would fail.
MOST_REJECTED = 0.5


def check_model_params(spec_file: Path, spec: PipelineSpec) -> None:
    """[model] params against the estimator's library, before any data is read. Importing
    scikit-learn or LightGBM costs the CLI ~1 s, so a local run leaves this to its training
    stage (which fails on a bad parameter without retrying); `validate`, and AWS runs, where a
    late failure costs Athena scans and Fargate start-ups, check up front."""
    from domain.ml.params import check_params

    try:
        with native_stderr_silenced():  # LightGBM prints its refusal before raising it
            check_params(spec.model.estimator, spec.model.params)
    except SpecError as exc:
        raise SpecError(f"{spec_file}: {exc}") from None


def check_sql_parses(spec: PipelineSpec) -> None:
    """Both SELECTs parse as Athena SQL (placeholders filled with table names); raises
    QueryError naming the file."""
    for name, sql, placeholder in (
        (spec.sql.staging, spec.sql.staging_sql, "source"),
        (spec.sql.features, spec.sql.features_sql, "staging"),
    ):
        containers.check_athena_select(substitute(sql, {placeholder: placeholder}), sql_name=name)


def dry_run(spec_file: Path, spec: PipelineSpec, lines: int) -> dict[str, dict[str, Any]]:
    """Staging and features, the real stage services on the local engine, over a sample."""
    with tempfile.TemporaryDirectory(prefix="batchml-validate-") as folder:
        sample = Path(folder) / "sample.jsonl"
        found = containers.write_source_sample(spec.source.path, lines, sample)
        if found == 0:
            raise SpecError(f"[source] path: {spec.source.path} has no lines to read")
        sampled = spec.model_copy(
            update={
                "pipeline": spec.pipeline.model_copy(update={"backend": "local"}),
                # A sample's rejects are reported, not judged: the run judges the whole source.
                "source": spec.source.model_copy(update={"path": str(sample), "max_reject_ratio": 1.0}),
                "output": spec.output.model_copy(update={"root": str(Path(folder) / "lake")}),
            }
        )
        container = containers.build_container(sampled, Settings.from_environment(backend="local"), spec_file)
        ctx = containers.run_context(container, sampled, "validate")
        report = {stage: run_function_stage(ctx, stage) for stage in ("staging", "features")}
        inputs = {"features": ctx.layout.features}
        schema = ctx.ports.engine.query("SELECT * FROM {{ features }} LIMIT 0", inputs, sql_name="dry run").schema
        features = training_schema(schema, ctx.id_column, ctx.label)  # what training would refuse
        report["features"]["categorical"] = features.categorical
        report["staging"]["first_keys"] = _first_keys(sample)
        return report


def _first_keys(sample: Path) -> list[str]:
    """The top-level keys of the sample's first JSON object: what id_field could have been."""
    with sample.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                return list(record)
    return []


def judge_sample(spec: PipelineSpec, report: dict[str, dict[str, Any]], lines: int) -> None:
    """SpecError when the dry run shows the run would fail: most of the sample rejected (and
    the likely cause), or no labelled row to train on."""
    staged, features = report["staging"], report["features"]
    reasons: dict[str, int] = staged.get("reject_reasons") or {}
    total = staged["source_lines"]
    if total and staged["rejected_rows"] / total > MOST_REJECTED:
        cause = max(reasons, key=lambda r: reasons[r])
        keys = staged.get("first_keys") or []
        likely = {
            "missing_id": f"[source] id_field = {spec.source.id_field!r} is not a key of the records"
            + (f" (the first record's keys: {', '.join(keys[:12])})" if keys else ""),
            "invalid_json": f"the lines are not JSON: is [source] path = {spec.source.path!r} the right files?",
            "duplicate_id": f"[source] id_field = {spec.source.id_field!r} repeats: it does not identify a record",
        }.get(cause, f"[source] path = {spec.source.path!r}")
        raise SpecError(
            f"the dry run rejected {staged['rejected_rows']:,} of {total:,} sample lines{_reasons(staged)}: "
            f"likely cause: {likely}"
        )
    if features["labelled_rows"] == 0:
        raise SpecError(
            f"no row of the {lines:,}-line sample has a value for the label {spec.model.label!r}: check [model] "
            "label and the features SQL's label column (or --sample more lines, if labels are rare)"
        )


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    spec = load_spec(args.spec)
    check_model_params(args.spec, spec)
    check_sql_parses(spec)
    report = None
    if args.sample:
        try:
            report = dry_run(args.spec, spec, args.sample)
        except BatchmlError as exc:
            raise SpecError(
                f"{args.spec}: dry run on the first {args.sample:,} source lines: {exc} (--sample 0 skips the dry run)"
            ) from None
    if report is not None:
        try:
            judge_sample(spec, report, args.sample)
        except SpecError as exc:
            raise SpecError(f"{args.spec}: {exc}") from None
    console.print(f"{args.spec}: valid (pipeline {spec.pipeline.name}, results table {spec.output.table})")
    note = root_note(args.spec, spec)
    if note:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if report is None:
        return 0
    staged, features = report["staging"], report["features"]
    console.print(
        f"  dry run on the first {staged['source_lines']:,} source lines: {staged['staged_rows']:,} staged, "
        f"{staged['rejected_rows']:,} rejected{_reasons(staged)}",
        highlight=False,
    )
    names: list[str] = features["feature_columns"]
    # A wide features SELECT would flood the terminal: the first names say enough.
    columns = ", ".join(names[:SHOWN_COLUMNS]) + (
        f", ... ({len(names) - SHOWN_COLUMNS} more)" if len(names) > SHOWN_COLUMNS else ""
    )
    console.print(
        f"  features: {features['labelled_rows']:,} rows labelled ({spec.model.label}), "
        f"{features['scoring_rows']:,} to score; {len(features['feature_columns'])} feature columns "
        f"({len(features['categorical'])} categorical): {escape(columns)}",
        highlight=False,
    )
    return 0


def _reasons(staged: dict[str, Any]) -> str:
    reasons = staged.get("reject_reasons") or {}
    return f" ({', '.join(f'{n:,} {reason}' for reason, n in reasons.items())})" if reasons else ""


def add_validate_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = sub.add_parser(
        "validate", help="check a spec, its SQL and model parameters, and dry-run the SQL on a sample"
    )
    validate.add_argument("spec", type=Path, help="the pipeline's spec file")
    validate.add_argument(
        "--sample",
        type=at_least(0),
        default=DEFAULT_SAMPLE_LINES,
        help=f"source lines to dry-run staging and features on (default {DEFAULT_SAMPLE_LINES}; 0: none)",
    )
    validate.set_defaults(func=cmd_validate)
