"""The composition root resolves a complete adapter set for every backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import entrypoints
from adapters.aws.athena_engine import AthenaSqlEngine
from adapters.aws.fargate_runner import FargateTaskRunner
from adapters.aws.glue_catalog import GlueCatalog
from adapters.aws.s3_store import S3ObjectStore
from adapters.aws.stdout_event_log import StdoutEventLog
from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.local.forkserver_runner import ForkServerTaskRunner
from adapters.local.jsonl_event_log import JsonlEventLog
from adapters.local.subprocess_runner import SubprocessTaskRunner
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.errors import SpecError
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_loader import load_spec
from tests.integration.aws.fixtures import BUCKET, PREFIX, write_aws_spec

pytestmark = pytest.mark.integration


def test_it_is_this_projects_entrypoints_package() -> None:
    assert Path(entrypoints.__file__).resolve().parent == Path(containers.__file__).resolve().parent


def test_local_backend(tmp_path: Path) -> None:
    spec_file = write_aws_spec(tmp_path)
    spec = load_spec(
        spec_file, overrides={"pipeline": {"backend": "local"}, "output": {"root": str(tmp_path / "lake")}}
    )
    container = containers.build_container(
        spec, Settings.from_environment(backend="local", task_runner="subprocess"), spec_file
    )
    assert isinstance(container.object_store(), FilesystemObjectStore)
    assert isinstance(container.sql_engine(), DuckDBSqlEngine)
    assert isinstance(container.catalog(), DuckDBCatalog)
    assert isinstance(container.run_store(), ObjectStoreRunStore)
    assert isinstance(container.event_log(run_id="r1"), JsonlEventLog)
    assert isinstance(container.task_runner(), SubprocessTaskRunner)


def test_the_fork_server_spins_as_briefly_as_the_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server loads OpenMP, so a task's own GOMP_SPINCOUNT comes too late: the composition
    root starts it with the tasks' value (one source: entrypoints/settings.py)."""
    monkeypatch.setenv("GOMP_SPINCOUNT", "unset")
    monkeypatch.delenv("GOMP_SPINCOUNT")  # restored to the session's own value afterwards
    spec_file = write_aws_spec(tmp_path)
    spec = load_spec(
        spec_file, overrides={"pipeline": {"backend": "local"}, "output": {"root": str(tmp_path / "lake")}}
    )
    settings = Settings.from_environment(backend="local", task_runner="forkserver")
    runner = containers.build_container(spec, settings, spec_file).task_runner()
    assert isinstance(runner, ForkServerTaskRunner)
    tasks = settings.thread_environment(spec.batches.max_concurrency)
    assert os.environ["GOMP_SPINCOUNT"] == tasks["predict"]["GOMP_SPINCOUNT"] == tasks["train"]["GOMP_SPINCOUNT"]


def test_a_local_output_root_that_cannot_be_created_is_a_spec_error(tmp_path: Path) -> None:
    spec_file = write_aws_spec(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    root = tmp_path / "a-file" / "lake"
    spec = load_spec(spec_file, overrides={"pipeline": {"backend": "local"}, "output": {"root": str(root)}})
    with pytest.raises(SpecError, match=rf"^\[output\] root: cannot create {root}: Not a directory$"):
        containers.build_container(spec, Settings.from_environment(backend="local"), spec_file)


@pytest.mark.usefixtures("aws")
def test_aws_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHML_SUBNETS", "subnet-1, subnet-2")
    monkeypatch.setenv("BATCHML_SECURITY_GROUPS", "sg-1")
    monkeypatch.setenv("BATCHML_ATHENA_OUTPUT", f"s3://{BUCKET}/athena/")
    spec = load_spec(write_aws_spec(tmp_path))
    spec_uri = f"s3://{BUCKET}/{PREFIX}/runs/r1/spec/spec.toml"
    container = containers.build_container(spec, Settings.from_environment(), spec_uri, AwsSettings.from_environment())
    store = container.object_store()
    assert isinstance(store, S3ObjectStore) and (store.bucket, store.prefix) == (BUCKET, f"{PREFIX}/")
    engine = container.sql_engine()
    assert isinstance(engine, AthenaSqlEngine) and engine.queries.output_location == f"s3://{BUCKET}/athena/"
    assert engine.store is store  # one store per container, shared by every adapter
    catalog = container.catalog()
    assert isinstance(catalog, GlueCatalog) and catalog.tables.database == "batchml"
    run_store = container.run_store()
    assert isinstance(run_store, ObjectStoreRunStore) and run_store.store is store
    assert isinstance(container.event_log(run_id="r1"), StdoutEventLog)
    runner = container.task_runner()
    assert isinstance(runner, FargateTaskRunner)
    assert runner.command == ["batchml-task", "--spec", spec_uri]
    assert runner.subnets == ["subnet-1", "subnet-2"] and runner.security_groups == ["sg-1"]
    assert runner.task_definitions == {"train": "batchml-train", "predict": "batchml-predict"}
    # Clients are made once per process, whatever the number of containers (Lambda invocations).
    again = containers.build_container(spec, Settings.from_environment(), spec_uri, AwsSettings.from_environment())
    assert again.s3() is container.s3()


@pytest.mark.usefixtures("aws")
def test_aws_backend_needs_an_s3_root(tmp_path: Path) -> None:
    spec = load_spec(write_aws_spec(tmp_path), overrides={"output": {"root": str(tmp_path / "lake")}})
    with pytest.raises(SpecError, match='root = "s3://bucket/prefix"'):
        containers.build_container(spec, Settings.from_environment(), "s3://b/spec.toml")


def _modules_after(statement: str) -> set[str]:
    import subprocess
    import sys

    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_cli_loads_no_aws_code_and_a_lambda_loads_it_at_init() -> None:
    cli = _modules_after("import entrypoints.cli")
    assert not {"boto3", "docker", "adapters.aws.athena_engine", "adapters.local.duckdb_s3_engine"} & cli
    handlers = _modules_after("import entrypoints.lambda_handlers")
    assert {"boto3", "adapters.aws.athena_engine", "adapters.aws.s3_store", "adapters.aws.glue_tables"} <= handlers
