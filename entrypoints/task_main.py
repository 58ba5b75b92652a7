"""The container main: `train` or `predict --batch N`, the command of every Fargate task
(and of every local task process). Exit 0 done, 3 permanent failure, 1 otherwise."""

from __future__ import annotations

import argparse
import json
import sys
import time

# Every task fits or applies a model: scikit-learn is loaded with this module (the domain
# imports it lazily for the orchestrator's sake), so the fork server preloads it once.
import domain.ml.training  # noqa: F401
from domain.errors import BatchmlError
from domain.faults import FaultPlan
from domain.pipeline import run_task
from domain.ports.task_runner import PERMANENT_EXIT_CODE, TASK_ERROR_MARK
from domain.retry import is_retryable
from entrypoints.containers import build_container, run_context, s3_client
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_source import load_spec_from


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batchml-task", description=__doc__)
    parser.add_argument("--spec", required=True, help="the spec: a local path, or an s3:// URI (on Fargate)")
    parser.add_argument("role", choices=["train", "predict"])
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--batch", type=int)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()  # the task's own clock: its seconds go with its output, into the ledger
    args = parse(argv)
    try:
        spec = load_spec_from(args.spec, lambda: s3_client(AwsSettings.from_environment()))
        settings = Settings.from_environment()
        ctx = run_context(build_container(spec, settings, args.spec), spec, args.run_id)
        if args.batch is not None:
            FaultPlan.parse(settings.faults).check_batch(args.batch, settings.task_attempt)
        report = run_task(ctx, args.role, args.batch, elapsed=lambda: time.monotonic() - started)
        ctx.ports.events.emit("task_succeeded", **{"role": args.role, **report})
        return 0
    except Exception as exc:  # the task's whole job is to report any failure as an exit code
        message = str(exc) if isinstance(exc, BatchmlError) else f"{type(exc).__name__}: {exc}"
        print(TASK_ERROR_MARK + json.dumps({"error": message, "type": type(exc).__name__}), file=sys.stderr)
        return 1 if is_retryable(exc) else PERMANENT_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
