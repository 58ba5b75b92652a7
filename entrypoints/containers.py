"""The composition root: the one module that knows both the domain and the adapters.

`config.backend` selects the adapter set once, here; nothing downstream asks which
backend it is on.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
from dependency_injector import containers, providers
from rich.console import Console

from adapters.local.dialect import athena_to_duckdb
from adapters.local.duckdb_catalog import CATALOG_FILE, DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.local.forkserver_runner import ForkServerTaskRunner
from adapters.local.jsonl_event_log import FanOutEventLog, run_event_log
from adapters.local.orchestrator import LocalOrchestrator
from adapters.local.progress import RichProgressEventLog
from adapters.local.source_sample import SourceMeasure, measure_lines, write_sample
from adapters.local.subprocess_runner import SubprocessTaskRunner
from adapters.shared.keys import split_s3_uri
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from adapters.shared.source_files import SourceFile, local_sources
from domain.context import Ports, RunContext
from domain.errors import DataQualityError, SpecError
from domain.faults import FaultPlan
from domain.graph import build_graph
from domain.ports.event_log import EventLog
from domain.ports.sql_engine import SqlEngine
from domain.spec import PipelineSpec
from entrypoints.settings import SPIN_COUNT, AwsSettings, Settings

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    from mypy_boto3_s3 import S3Client

    from adapters.aws.cost_shape import Assumption
    from adapters.aws.deployment import Deployment
    from adapters.aws.run_plan import CostPlan as CostPlan  # re-exported: the commands annotate with it
    from adapters.aws.s3_store import S3ObjectStore
    from adapters.aws.sfn_launcher import StepFunctionsLauncher
    from domain.cost.ledger import Ledger, StageUse
    from domain.cost.rates import Rates
    from domain.cost.volumes import SourceSize
    from domain.run_state import RunState

T = TypeVar("T")
BACKENDS = ("local", "aws", "hybrid")
# forkserver: a process per task, forked warm (the default); subprocess: a fresh interpreter per
# task; docker: a container of the project image per task, the closest stand-in for Fargate.
TASK_RUNNERS = ("forkserver", "subprocess", "docker")
# On AWS the tasks are ECS tasks on Fargate, whatever BATCHML_TASK_RUNNER says for local runs.
AWS_TASK_RUNNER = "fargate"
TASK_PROGRAM = "batchml-task"  # the image's entry point (pyproject's [project.scripts])


# Every module a provider defers, so a process that will use them can import them up front.
_DEFERRED_MODULES: set[str] = set()


def deferred(path: str) -> Callable[..., Any]:
    """The class at `module:Name`, imported when a provider first builds it. A local run never
    builds an AWS or Docker adapter, and importing them all (boto3, docker, pyarrow.dataset,
    pandas) was 0.3 s of every CLI start (python -X importtime)."""
    module_name, _, name = path.partition(":")
    _DEFERRED_MODULES.add(module_name)

    def build(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module_name), name)(*args, **kwargs)

    build.__qualname__ = name
    return build


def preload_aws_adapters() -> None:
    """Import the AWS adapters (and boto3) now. A Lambda calls this at module import: its
    init phase, once per environment, pays for them instead of the first invocation."""
    import boto3  # noqa: F401

    for module in sorted(m for m in _DEFERRED_MODULES if m.startswith("adapters.aws.")):
        importlib.import_module(module)


@functools.cache
def aws_client(service: str, region: str, endpoint_url: str | None) -> Any:
    """One boto3 client per service and endpoint for the life of the process: created outside
    any handler and reused by every warm Lambda invocation (boto3 clients are thread-safe)."""
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=endpoint_url)  # type: ignore[call-overload]


def s3_client(aws: AwsSettings) -> S3Client:
    client: S3Client = aws_client("s3", aws.region, aws.endpoint_url)
    return client


def pyarrow_s3(region: str, endpoint_url: str | None) -> pafs.S3FileSystem:
    """pyarrow's S3 client (credentials from the usual AWS variables), for DuckDB over S3."""
    import pyarrow.fs as pafs

    if not endpoint_url:
        return pafs.S3FileSystem(region=region)
    scheme, _, host = endpoint_url.partition("://")
    return pafs.S3FileSystem(region=region, endpoint_override=host, scheme=scheme)


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    root = providers.Singleton(Path, config.output_root)

    # AWS: clients, then the adapters over the bucket and prefix of [output] root.
    s3 = providers.Singleton(aws_client, "s3", config.aws.region, config.aws.endpoint_url)
    glue = providers.Singleton(aws_client, "glue", config.aws.region, config.aws.endpoint_url)
    athena = providers.Singleton(aws_client, "athena", config.aws.region, config.aws.endpoint_url)
    ecs = providers.Singleton(aws_client, "ecs", config.aws.region, config.aws.endpoint_url)
    sfn = providers.Singleton(aws_client, "stepfunctions", config.aws.region, config.aws.endpoint_url)
    s3_store = providers.Singleton(
        deferred("adapters.aws.s3_store:S3ObjectStore"), client=s3, bucket=config.s3_bucket, prefix=config.s3_prefix
    )
    glue_tables = providers.Singleton(
        deferred("adapters.aws.glue_tables:GlueTables"),
        client=glue,
        database=config.aws.glue_database,
        bucket=config.s3_bucket,
        prefix=config.s3_prefix,
    )

    glue_catalog = providers.Singleton(
        deferred("adapters.aws.glue_catalog:GlueCatalog"),
        client=glue,
        database=config.aws.glue_database,
        bucket=config.s3_bucket,
        prefix=config.s3_prefix,
    )

    object_store = providers.Selector(
        config.backend,
        local=providers.Singleton(FilesystemObjectStore, root=root),
        aws=s3_store,
        hybrid=s3_store,
    )
    sql_engine = providers.Selector(
        config.backend,
        local=providers.Singleton(
            DuckDBSqlEngine, root=root, threads=config.duckdb_threads, memory_limit=config.duckdb_memory_limit
        ),
        aws=providers.Singleton(
            deferred("adapters.aws.athena_engine:AthenaSqlEngine"),
            athena=athena,
            glue=glue_tables,
            s3=s3,
            store=s3_store,
            workgroup=config.aws.athena_workgroup,
            output_location=config.aws.athena_output,
            encryption=config.aws.athena_encryption,
            journal_prefix=config.aws.journal_prefix,
            wait_seconds=config.aws.wait_seconds,
        ),
        hybrid=providers.Singleton(
            deferred("adapters.local.duckdb_s3_engine:DuckDBOnS3SqlEngine"),
            fs=providers.Singleton(pyarrow_s3, config.aws.region, config.aws.endpoint_url),
            bucket=config.s3_bucket,
            prefix=config.s3_prefix,
            threads=config.duckdb_threads,
            memory_limit=config.duckdb_memory_limit,
        ),
    )
    catalog = providers.Selector(
        config.backend,
        local=providers.Singleton(DuckDBCatalog, root=root),
        aws=glue_catalog,
        hybrid=glue_catalog,
    )
    run_store = providers.Singleton(ObjectStoreRunStore, store=object_store)
    event_log = providers.Selector(
        config.backend,
        local=providers.Factory(run_event_log, root=root),
        aws=providers.Factory(deferred("adapters.aws.stdout_event_log:StdoutEventLog")),
        hybrid=providers.Factory(deferred("adapters.aws.stdout_event_log:StdoutEventLog")),
    )
    task_runner = providers.Selector(
        config.task_runner,
        forkserver=providers.Singleton(
            ForkServerTaskRunner,
            entry="entrypoints.task_main:main",
            args=config.task_args,
            env=config.task_env,
            role_env=config.task_role_env,
            spin_count=SPIN_COUNT,
        ),
        subprocess=providers.Singleton(
            SubprocessTaskRunner, command=config.task_command, env=config.task_env, role_env=config.task_role_env
        ),
        docker=providers.Singleton(
            deferred("adapters.local.docker_runner:DockerTaskRunner"),
            command=config.docker_task_command,
            env=config.task_env,
            role_env=config.task_role_env,
            mounts=config.task_mounts,
            image=config.docker_image,
        ),
        fargate=providers.Singleton(
            deferred("adapters.aws.fargate_runner:FargateTaskRunner"),
            ecs=ecs,
            cluster=config.aws.ecs_cluster,
            task_definitions=config.aws.task_definitions,
            subnets=config.aws.subnets,
            security_groups=config.aws.security_groups,
            container_name=config.aws.container_name,
            command=config.task_command,
        ),
    )


def build_container(
    spec: PipelineSpec,
    settings: Settings,
    spec_file: Path | str,
    aws: AwsSettings | None = None,
    *,
    run_id: str | None = None,
    wait: float | None = None,
) -> Container:
    """`spec_file`: where tasks read the spec (a local path; for aws, the spec's s3:// URI).
    `run_id` and `wait` (aws): a stage invocation journals its run's Athena statements and waits
    for them at most `wait` seconds (entrypoints/lambda_handlers.py)."""
    backend = settings.backend_for(spec)
    if backend not in BACKENDS:
        raise SpecError(f"backend {backend!r} is not available in this build (available: {list(BACKENDS)})")
    if backend == "aws":
        return _aws_container(spec, str(spec_file), aws or AwsSettings.from_environment(), run_id, wait)
    if backend == "hybrid":
        return _hybrid_container(spec, Path(spec_file), settings, aws or AwsSettings.from_environment())
    if settings.task_runner not in TASK_RUNNERS:
        raise SpecError(f"task runner {settings.task_runner!r} is not one of {list(TASK_RUNNERS)}")
    if "://" in spec.output.root:
        raise SpecError(f"[output] root: {spec.output.root} is a URI; the {backend} backend needs a local folder")
    try:  # once, here: later a stage would fail on it with a bare "[Errno 13] ..."
        Path(spec.output.root).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(f"[output] root: cannot create {spec.output.root}: {exc.strerror or exc}") from None
    container = Container()
    container.config.from_dict(
        {
            "backend": backend,
            "task_runner": settings.task_runner,
            "output_root": spec.output.root,
            "duckdb_threads": settings.duckdb_threads,
            "duckdb_memory_limit": settings.duckdb_memory_limit,
            "task_args": ["--spec", str(Path(spec_file).resolve())],
            "task_command": [sys.executable, "-m", "entrypoints.task_main", "--spec", str(Path(spec_file).resolve())],
            "docker_task_command": [TASK_PROGRAM, "--spec", str(Path(spec_file).resolve())],
            "docker_image": settings.docker_image,
            "task_mounts": host_folders(spec, Path(spec_file)),
            "task_env": settings.task_environment(),
            "task_role_env": settings.thread_environment(spec.batches.max_concurrency),
        }
    )
    return container


def lake_container(root: Path, settings: Settings) -> Container:
    """The local adapters over an existing lake folder, without a spec: what `runs`, `rollback`
    and `report` need when given `--root` (no task runner, no source)."""
    container = Container()
    container.config.from_dict(
        {
            "backend": "local",
            "task_runner": settings.task_runner,
            "output_root": str(root),
            "duckdb_threads": settings.duckdb_threads,
            "duckdb_memory_limit": settings.duckdb_memory_limit,
        }
    )
    return container


def lake_ports(container: Container, run_id: str) -> Ports:
    """The ports a command over a lake acts through (events to the run's own log)."""
    return Ports(
        engine=container.sql_engine(),
        store=container.object_store(),
        catalog=container.catalog(),
        run_store=container.run_store(),
        events=container.event_log(run_id=run_id),
    )


def host_folders(spec: PipelineSpec, spec_file: Path) -> list[str]:
    """What a task container must see, mounted at the same paths as on the host: the spec's
    folder, its SQL files' folders, the source and the output root."""
    base = spec_file.resolve().parent
    source = Path(spec.source.path)
    while not source.exists() and source != source.parent:  # a glob: its nearest real folder
        source = source.parent
    folders = {
        base,
        (base / spec.sql.staging).resolve().parent,
        (base / spec.sql.features).resolve().parent,
        source if source.is_dir() else source.parent,
        Path(spec.output.root),  # build_container created it
    }
    return sorted(str(folder) for folder in folders)


def _s3_root(spec: PipelineSpec) -> tuple[str, str]:
    try:
        return split_s3_uri(spec.output.root)
    except ValueError:
        raise SpecError(
            f"[output] root: {spec.output.root} is not an S3 location; the {spec.pipeline.backend} backend "
            'needs root = "s3://bucket/prefix"'
        ) from None


def _aws_container(
    spec: PipelineSpec, spec_uri: str, aws: AwsSettings, run_id: str | None = None, wait: float | None = None
) -> Container:
    bucket, prefix = _s3_root(spec)
    container = Container()
    container.config.from_dict(
        {
            "backend": "aws",
            "task_runner": AWS_TASK_RUNNER,
            "output_root": spec.output.root,
            "s3_bucket": bucket,
            "s3_prefix": prefix,
            "task_command": [TASK_PROGRAM, "--spec", spec_uri],
            "aws": {
                "region": aws.region,
                "endpoint_url": aws.endpoint_url,
                "athena_workgroup": aws.athena_workgroup,
                "athena_output": aws.athena_output,
                "athena_encryption": aws.athena_encryption(),
                "journal_prefix": f"runs/{run_id}/athena/" if run_id and wait is not None else None,
                "wait_seconds": wait,
                "glue_database": aws.glue_database,
                "ecs_cluster": aws.ecs_cluster,
                "task_definitions": {"train": aws.train_task_definition, "predict": aws.predict_task_definition},
                "subnets": list(aws.subnets),
                "security_groups": list(aws.security_groups),
                "container_name": aws.container_name,
            },
        }
    )
    return container


def _hybrid_container(spec: PipelineSpec, spec_file: Path, settings: Settings, aws: AwsSettings) -> Container:
    bucket, prefix = _s3_root(spec)
    container = Container()
    container.config.from_dict(
        {
            "backend": "hybrid",
            "task_runner": "forkserver",
            "output_root": spec.output.root,
            "s3_bucket": bucket,
            "s3_prefix": prefix,
            "duckdb_threads": settings.duckdb_threads,
            "duckdb_memory_limit": settings.duckdb_memory_limit,
            "task_args": ["--spec", str(spec_file.resolve())],
            "task_env": {**settings.task_environment(), "BATCHML_BACKEND": "hybrid"},
            "task_role_env": settings.thread_environment(spec.batches.max_concurrency),
            "aws": {"region": aws.region, "endpoint_url": aws.endpoint_url, "glue_database": aws.glue_database},
        }
    )
    return container


def s3_location(container: Container, key: str) -> tuple[str, str]:
    """(bucket, key in the bucket) of a key under the output root: what a Step Functions Map reads."""
    store: S3ObjectStore = container.s3_store()
    return store.bucket, store.full_key(key)


def run_context(container: Container, spec: PipelineSpec, run_id: str, *displays: EventLog) -> RunContext:
    ports = lake_ports(container, run_id)
    if displays:
        ports = dataclasses.replace(ports, events=FanOutEventLog(ports.events, *displays))
    return RunContext(spec=spec, run_id=run_id, ports=ports)


def orchestrator(container: Container, ctx: RunContext, faults: FaultPlan) -> LocalOrchestrator:
    return LocalOrchestrator(ctx, build_graph(ctx.spec), container.task_runner(), faults=faults)


def check_athena_select(sql: str, sql_name: str) -> None:
    """Raises QueryError (naming `sql_name`, the line and the column) if `sql` is not one
    Athena SELECT."""
    athena_to_duckdb(sql, sql_name=sql_name)


def write_source_sample(source: str, lines: int, out: Path) -> int:
    """The first `lines` lines of the source, a folder or an s3:// prefix, into `out`
    (batchml validate's dry run). S3 is read with the AWS settings of the environment."""
    return _reading_source(source, lambda: write_sample(source_files(source), lines, out))


def measure_source(source: str, lines: int) -> SourceMeasure:
    """The source's files' sizes and the size of its first `lines` lines (batchml plan)."""
    return _reading_source(source, lambda: measure_lines(source_files(source), lines))


def source_files(source: str) -> list[SourceFile]:
    """The source's files, a folder or glob, or an s3:// prefix read with the environment's
    AWS settings (as hybrid runs read it)."""
    if "://" not in source:
        return local_sources(source)
    from adapters.local.duckdb_s3_engine import s3_sources

    aws = AwsSettings.from_environment()
    return s3_sources(pyarrow_s3(aws.region, aws.endpoint_url), source)


def _reading_source(source: str, read: Callable[[], T]) -> T:
    if "://" not in source:
        return read()  # a local folder's errors name the path already
    try:
        return read()
    except OSError as exc:  # pyarrow's S3 errors: no credentials, no bucket, access denied
        raise DataQualityError(f"cannot read the source {source}: {exc}") from None


def workgroup_scan_cutoff(aws: AwsSettings) -> int | None:
    """The deployed workgroup's per-query scan cap in bytes (0: it has none), or None if the
    workgroup cannot be read (the caller keeps Terraform's default)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        group = aws_client("athena", aws.region, aws.endpoint_url).get_work_group(WorkGroup=aws.athena_workgroup)
    except (BotoCoreError, ClientError):
        return None
    if "WorkGroup" not in group:  # moto answers an unknown workgroup with nothing, AWS with an error
        return None
    return int(group["WorkGroup"].get("Configuration", {}).get("BytesScannedCutoffPerQuery", 0))


def deployed(aws: AwsSettings) -> Deployment:
    """Terraform's defaults, with the scan cap the deployed workgroup really has."""
    from adapters.aws.run_plan import deployment_with_cutoff

    return deployment_with_cutoff(workgroup_scan_cutoff(aws))


def cost_rates() -> Rates:
    """The measured rates the plan and the ledger use (adapters/shared/rates.json)."""
    from adapters.shared.rates_file import load_rates

    return load_rates()


def plan_assumptions() -> tuple[Assumption, ...]:
    """What the AWS plan assumes and cannot measure here, each with why."""
    from adapters.aws.cost_shape import ASSUMPTIONS

    return ASSUMPTIONS


def cost_plan(
    spec: PipelineSpec, source: SourceSize, region: str, threads: int, *, deployed_at: AwsSettings | None = None
) -> CostPlan:
    """A run's plan (adapters/aws/run_plan.py, imported when a plan is made); with `deployed_at`,
    against the scan cap its workgroup really has, else Terraform's defaults."""
    from adapters.aws.run_plan import make_plan

    return make_plan(spec, source, region, threads, deployment=deployed(deployed_at) if deployed_at else None)


def cost_ledger(
    spec: PipelineSpec,
    state: RunState,
    uses: dict[str, StageUse],
    backend: str,
    region: str,
    threads: int,
    *,
    transitions: tuple[int | None, str],
    executions: list[str],
) -> Ledger:
    """A finished run's ledger, priced (adapters/aws/run_cost.py)."""
    from adapters.aws import run_cost

    return run_cost.cost_ledger(
        spec, state, uses, backend, region, threads, transitions=transitions, executions=executions
    )


def execution_transitions(sfn: Any, execution_arn: str) -> tuple[int, str]:
    """The transitions counted in an execution's history, and how they were counted."""
    from adapters.aws.sfn_transitions import count_transitions

    found = count_transitions(sfn, execution_arn)
    return found.total, found.describe()


def render_asl(spec: PipelineSpec) -> str:
    """The spec's stage graph compiled into the Step Functions definition (a Terraform template)."""
    from adapters.aws.state_machine import render_spec  # AWS code loads only for the commands that need it

    return render_spec(spec)


def local_catalog_file(root: Path) -> Path:
    """Where a local lake keeps its catalog."""
    return root / CATALOG_FILE


def query_catalog(root: Path, sql: str, run_id: str | None = None) -> pa.Table:
    """Run a user's SQL (DuckDB dialect) over the local catalog's tables (and a run's own)."""
    return DuckDBCatalog(root).query(sql, run_id)


def query_athena(spec: PipelineSpec, sql: str) -> pa.Table:
    """Run a user's SQL (Athena dialect) in the deployment's workgroup and Glue database, where
    the published table is registered; the results come back through GetQueryResults."""
    engine: SqlEngine = _aws_container(spec, "", AwsSettings.from_environment()).sql_engine()
    return engine.query(sql, {}, sql_name="query")


def chart_renderer() -> Any:
    """Vega-Lite to SVG for the run report (vl-convert, imported when a report is drawn)."""
    return deferred("adapters.report.vega_svg:VegaLiteSvgRenderer")()


def warm_up_charts() -> None:
    """Start the report's chart engine on a background thread while a run works."""
    threading.Thread(target=lambda: chart_renderer().warm_up(), name="chart-warm-up", daemon=True).start()


def progress_display(stage_count: int, console: Console) -> RichProgressEventLog:
    return RichProgressEventLog(stage_count, console)


def deployed_differences(
    container: Container, spec: PipelineSpec, state_machine_arn: str, *, deploy: bool = False
) -> list[str]:
    """How the deployed state machine differs from the spec's compilation (empty: it is it);
    with `deploy`, make it the spec's compilation (UpdateStateMachine) and say what changed."""
    from adapters.aws.deployed_definition import DefinitionMismatch, StateMachineDeployment
    from adapters.aws.state_machine import render_spec

    deployment = StateMachineDeployment(container.sfn(), state_machine_arn)
    try:
        if deploy:
            return deployment.deploy(render_spec(spec))
        return deployment.differences(render_spec(spec))
    except DefinitionMismatch as exc:
        raise SpecError(f"state machine {state_machine_arn}: {exc}; redeploy it with terraform apply") from None


def launcher(container: Container, state_machine_arn: str, *events: EventLog) -> StepFunctionsLauncher:
    from adapters.aws.sfn_launcher import StepFunctionsLauncher

    return StepFunctionsLauncher(container.sfn(), state_machine_arn, FanOutEventLog(*events))
