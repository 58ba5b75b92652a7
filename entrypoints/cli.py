"""`batchml`: run the demo, run a spec, query the results."""

from __future__ import annotations

import argparse
import importlib.metadata
import secrets
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from domain.context import Ports
from domain.errors import BatchmlError, RunInterrupted, SpecError, StageError
from domain.identifiers import check_run_id
from domain.run_lifecycle import LOCK_STALE_AFTER_SECONDS, start_run
from domain.run_state import RunState
from domain.services.publishing import rollback
from domain.spec import STAGE_NAMES, PipelineSpec
from entrypoints import containers
from entrypoints.arg_types import at_least, fraction
from entrypoints.asl_command import add_asl_command
from entrypoints.chart_warm_up import WarmUpAfterPreCleanup
from entrypoints.demo import DEFAULT_DEMO_DIR, prepare_demo
from entrypoints.deploy_command import add_deploy_command
from entrypoints.lake import add_lake_arguments, open_lake
from entrypoints.plan_command import add_plan_command
from entrypoints.query_command import add_query_command
from entrypoints.report_command import add_report_command, write_run_report
from entrypoints.runs_command import add_runs_command
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec, root_note
from entrypoints.summary import print_summary
from entrypoints.validate_command import add_validate_command, check_model_params, check_sql_parses


def new_run_id() -> str:
    return time.strftime("%Y%m%dt%H%M%Sz", time.gmtime()) + "-" + secrets.token_hex(2)


def run_pipeline(
    spec_file: Path, spec: PipelineSpec, settings: Settings, console: Console, resume: str | None = None
) -> RunState:
    faults = settings.fault_plan(spec)  # checked before anything is locked
    if settings.backend_for(spec) == "aws":
        return run_pipeline_on_aws(spec_file, spec, settings, console, resume)
    container = containers.build_container(spec, settings, spec_file)
    run_id = resume or new_run_id()
    resume_command = f"batchml run {spec_file} --resume {run_id}"
    try:
        with containers.progress_display(len(STAGE_NAMES), console) as display:
            # The report's chart engine starts while the run works, once past its pre-cleanup.
            warm_up = WarmUpAfterPreCleanup(containers.warm_up_charts)
            ctx = containers.run_context(container, spec, run_id, display, warm_up)
            # The local orchestrator renews the lock every 30 s: five silent minutes mean it died.
            state = start_run(ctx, time.time(), resume=resume is not None, stale_after=LOCK_STALE_AFTER_SECONDS)
            state = containers.orchestrator(container, ctx, faults).execute(state)
        from entrypoints.run_ledger import record_or_warn  # the cost model: loaded once the run has ended

        record_or_warn(console, ctx, state, settings.backend_for(spec), settings)
    except KeyboardInterrupt:
        # Like a killed run: finished stages and batches are kept, the lock is taken over at once.
        raise RunInterrupted(
            f"run {run_id} stopped; the published results are unchanged. Resume it: {resume_command}"
        ) from None
    report = write_run_report(ctx.ports, spec, state, console)  # with the run's own events log
    print_summary(
        console,
        state,
        root=spec.output.root,
        table=spec.output.table,
        resume_command=resume_command,
        spec_file=str(spec_file),
        report=report,
    )
    return state


def run_pipeline_on_aws(
    spec_file: Path, spec: PipelineSpec, settings: Settings, console: Console, resume: str | None
) -> RunState:
    from entrypoints.aws_launch import run_on_aws  # boto3 and the AWS adapters: only for AWS runs

    check_model_params(spec_file, spec)
    check_sql_parses(spec)
    from entrypoints.cost_plan import check_aws_limits

    check_aws_limits(spec, settings, console)  # before anything is uploaded or started
    run_id = resume or new_run_id()
    state, status = run_on_aws(spec_file, spec, settings, console, run_id, resume=resume is not None)
    if state is None:
        raise StageError("pre_cleanup", f"execution {status}: the run never recorded its state (see CloudWatch Logs)")
    resume_command = f"batchml run {spec_file} --backend aws --resume {run_id}"
    print_summary(
        console,
        state,
        root=spec.output.root,
        table=spec.output.table,
        resume_command=resume_command,
        query_from=f"--spec {spec_file}",
        spec_file=str(spec_file),
        report=write_run_report(lake_ports(spec, settings, spec_file, run_id), spec, state, console),
    )
    return state


def lake_ports(spec: PipelineSpec, settings: Settings, spec_file: Path, run_id: str) -> Ports:
    return containers.run_context(containers.build_container(spec, settings, spec_file), spec, run_id).ports


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    if args.resume:
        try:
            check_run_id(args.resume)  # it becomes part of storage paths
        except ValueError as exc:
            raise SpecError(f"--resume: {exc}") from None
    spec = load_spec(args.spec)
    # A typo in the SQL is found now, with its line, not after staging has read the whole source.
    check_sql_parses(spec)
    settings = Settings.from_environment(backend=args.backend, task_runner=args.task_runner)
    note = root_note(args.spec, spec)
    if note:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    state = run_pipeline(args.spec, spec, settings, console, resume=args.resume)
    return 0 if state.status == "SUCCEEDED" else 1


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    batches = {
        k: v for k, v in (("rows_per_batch", args.rows_per_batch), ("max_concurrency", args.max_concurrency)) if v
    }
    spec_file = prepare_demo(
        args.dir,
        args.rows,
        seed=args.seed,
        malformed_fraction=args.malformed_fraction,
        console=console,
        batches=batches,
    )
    spec = load_spec(spec_file)
    settings = Settings.from_environment(task_runner=args.task_runner)
    state = run_pipeline(spec_file, spec, settings, console)
    return 0 if state.status == "SUCCEEDED" else 1


def cmd_rollback(args: argparse.Namespace, console: Console) -> int:
    lake = open_lake(args, "rollback")
    if lake.table is None:
        raise SpecError(f"--root {lake.root}: no published table there to roll back")
    report = rollback(lake.ports, lake.table, args.to)
    console.print(f"table {report['table']} now shows run {report['run_id']} ({report['location']})", soft_wrap=True)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="batchml", description="Batch ML over a data lake, locally or on AWS.")
    top.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = top.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate the age example's data and run its pipeline")
    # Checked here, so a bad number is a usage error naming its flag, not a traceback.
    demo.add_argument("--rows", type=at_least(1), default=1_000_000, help="records to generate (default 1,000,000)")
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path(DEFAULT_DEMO_DIR),
        help=f"folder for the data, the spec and the lake (default {DEFAULT_DEMO_DIR})",
    )
    demo.add_argument("--seed", type=at_least(0), default=42, help="random seed of the generated data (default 42)")
    demo.add_argument(
        "--malformed-fraction",
        type=fraction,
        default=0.001,
        help="share of lines deliberately broken, to exercise the rejects (default 0.001)",
    )
    demo.add_argument("--rows-per-batch", type=at_least(1), help="override the example spec's [batches] rows_per_batch")
    demo.add_argument(
        "--max-concurrency", type=at_least(1), help="override the example spec's [batches] max_concurrency"
    )
    demo.add_argument("--task-runner", choices=containers.TASK_RUNNERS, help="how local tasks run (default forkserver)")
    demo.set_defaults(func=cmd_demo)
    run = sub.add_parser("run", help="run the pipeline a spec describes")
    run.add_argument("spec", type=Path, help="the pipeline's spec file (spec.toml)")
    run.add_argument(
        "--backend", choices=containers.BACKENDS, help="where to run, overriding the spec's [pipeline] backend"
    )
    run.add_argument("--task-runner", choices=containers.TASK_RUNNERS, help="how local tasks run (default forkserver)")
    run.add_argument("--resume", metavar="RUN_ID", help="continue a failed or killed run where it stopped")
    run.set_defaults(func=cmd_run)
    add_query_command(sub)
    add_runs_command(sub)
    back = sub.add_parser("rollback", help="point the results table back at an earlier published run")
    add_lake_arguments(back)
    back.add_argument(
        "--to", metavar="RUN_ID", help="the run to restore (default: the one published before the shown one)"
    )
    back.set_defaults(func=cmd_rollback)
    add_report_command(sub)
    add_asl_command(sub)
    add_deploy_command(sub)
    add_validate_command(sub)
    add_plan_command(sub)
    return top


def package_version() -> str:
    try:
        return importlib.metadata.version("batchml")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console()
    # Errors on stderr, like argparse's: `batchml query --format csv > out.csv` must not write
    # an error into the file. Soft-wrapped: the terminal wraps them, so a path or a command in
    # a message is copied whole, not cut by inserted line breaks.
    errors = Console(stderr=True)
    try:
        code: int = args.func(args, console)
        return code
    except RunInterrupted as exc:
        errors.print(f"\n[yellow]interrupted:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 130  # the shell's code for a command ended by SIGINT
    except (BatchmlError, OSError) as exc:
        # Messages name spec sections as "[model] ...": printed as text, not read as markup. An
        # OSError (a full disk when taking the lock, a missing file) is said in one line too.
        errors.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
