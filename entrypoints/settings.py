"""Runtime settings: the one place that reads the environment.

Precedence: command-line flag, then environment variable, then the spec, then default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from domain.errors import SpecError
from domain.faults import FaultPlan
from domain.spec import PipelineSpec

# OpenMP busy-waits this many spins before sleeping (see Settings.thread_environment); the
# composition root starts the fork server with the same value.
SPIN_COUNT = "10000"


def _positive_int(env: os._Environ[str], name: str, default: int) -> int:
    """A whole number of at least 1 from the environment; a bad value is a SpecError (exit 2,
    one line naming the variable), not a traceback."""
    text = env.get(name)
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SpecError(f"{name}={text!r}: expected a whole number of at least 1")
    return int(text)


def _fault_plan(text: str) -> str:
    """BATCHML_FAULTS, checked whole here, before any run takes a lock: a rule that cannot be
    honoured is a one-line SpecError (exit 2), never a traceback mid-run or a rule that never fires."""
    try:
        FaultPlan.parse(text)
    except ValueError as exc:
        raise SpecError(f"BATCHML_FAULTS={text!r}: {exc}") from None
    return text


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS deployment's pieces are; Terraform sets these on every Lambda and task."""

    region: str
    endpoint_url: str | None  # an emulator (moto, LocalStack) instead of AWS
    athena_workgroup: str
    athena_output: str | None  # s3:// for query results (the workgroup does not enforce its own)
    athena_encryption_option: str | None  # SSE_S3 or SSE_KMS, for query results and CTAS output
    athena_kms_key: str | None
    glue_database: str
    ecs_cluster: str
    train_task_definition: str
    predict_task_definition: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    container_name: str
    state_machine_arn: str | None

    def athena_encryption(self) -> dict[str, str] | None:
        """Athena's EncryptionConfiguration for what queries write (results and CTAS tables)."""
        if not self.athena_encryption_option:
            return None
        configuration = {"EncryptionOption": self.athena_encryption_option}
        if self.athena_kms_key:
            configuration["KmsKey"] = self.athena_kms_key
        return configuration

    @classmethod
    def from_environment(cls) -> AwsSettings:
        env = os.environ

        def listed(name: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in env.get(name, "").split(",") if v.strip())

        return cls(
            region=env.get("BATCHML_AWS_REGION") or env.get("AWS_REGION") or "us-east-1",
            endpoint_url=env.get("BATCHML_AWS_ENDPOINT_URL") or None,
            athena_workgroup=env.get("BATCHML_ATHENA_WORKGROUP", "primary"),
            athena_output=env.get("BATCHML_ATHENA_OUTPUT") or None,
            athena_encryption_option=env.get("BATCHML_ATHENA_ENCRYPTION") or None,
            athena_kms_key=env.get("BATCHML_ATHENA_KMS_KEY") or None,
            glue_database=env.get("BATCHML_GLUE_DATABASE", "batchml"),
            ecs_cluster=env.get("BATCHML_ECS_CLUSTER", "batchml"),
            train_task_definition=env.get("BATCHML_TRAIN_TASK_DEFINITION", "batchml-train"),
            predict_task_definition=env.get("BATCHML_PREDICT_TASK_DEFINITION", "batchml-predict"),
            subnets=listed("BATCHML_SUBNETS"),
            security_groups=listed("BATCHML_SECURITY_GROUPS"),
            container_name=env.get("BATCHML_CONTAINER_NAME", "batchml"),
            state_machine_arn=env.get("BATCHML_STATE_MACHINE_ARN") or None,
        )


@dataclass(frozen=True)
class Settings:
    backend: str | None  # None: use the spec's [pipeline] backend
    task_runner: str  # "forkserver" (default), "subprocess" or "docker": see entrypoints/containers.py
    duckdb_threads: int | None
    duckdb_memory_limit: str | None
    predict_threads: int  # threads per prediction task, as a Fargate task's vCPUs
    docker_image: str
    faults: str  # fault injection plan, for tests (see domain/faults.py); empty: none
    task_attempt: int  # which attempt a task process is (set by the local orchestrator)

    @classmethod
    def from_environment(cls, backend: str | None = None, task_runner: str | None = None) -> Settings:
        env = os.environ
        return cls(
            backend=backend or env.get("BATCHML_BACKEND") or None,
            task_runner=task_runner or env.get("BATCHML_TASK_RUNNER", "forkserver"),
            duckdb_threads=_positive_int(env, "BATCHML_DUCKDB_THREADS", 0) or None,
            # Unset: DuckDB's own default (up to 80% of RAM). A cap makes it spill to disk, but not
            # every operator can: capped at 1.5 GB, aggregation ran out of memory at 10M rows.
            duckdb_memory_limit=env.get("BATCHML_DUCKDB_MEMORY_LIMIT") or None,
            predict_threads=_positive_int(env, "BATCHML_PREDICT_THREADS", 1),
            docker_image=env.get("BATCHML_IMAGE", "batchml:latest"),
            faults=_fault_plan(env.get("BATCHML_FAULTS", "")),
            task_attempt=_positive_int(env, "BATCHML_TASK_ATTEMPT", 1),
        )

    def thread_environment(self, max_concurrency: int) -> dict[str, dict[str, str]]:
        """Threads per task role. Training runs alone and gets every core. A prediction task
        gets `predict_threads` (default 1), whatever max_concurrency is: like a Fargate task's
        vCPUs, a task's size is its own, and the fan-out is the parallelism. Threads beyond
        the cores left per task would only oversubscribe them.

        OpenMP spins only briefly before it sleeps (GOMP_SPINCOUNT): long spinning let
        concurrent tasks starve each other (an 11k-row fit took 30 s instead of 3 s on two
        busy cores), never spinning (OMP_WAIT_POLICY=PASSIVE) made a lone 200k-row fit 2.9x
        slower (8.1 s against 2.8 s); 10,000 spins cost nothing measurable (2.85 s)."""
        cores = os.cpu_count() or 1
        per_batch = str(max(1, min(self.predict_threads, cores // max(1, max_concurrency))))
        base = {"GOMP_SPINCOUNT": SPIN_COUNT}
        return {
            "train": {**base, "OMP_NUM_THREADS": str(cores)},
            "predict": {**base, "OMP_NUM_THREADS": per_batch, "BATCHML_DUCKDB_THREADS": per_batch},
        }

    def fault_plan(self, spec: PipelineSpec) -> FaultPlan:
        """The fault plan, checked against the spec (batch numbers within max_batches); faults
        are applied by the local orchestrator, so an AWS run refuses them instead of ignoring them."""
        plan = FaultPlan.parse(self.faults)
        if self.faults.strip() and self.backend_for(spec) == "aws":
            raise SpecError("BATCHML_FAULTS: fault injection works for local and hybrid runs, not on AWS")
        try:
            plan.check_batches(spec.batches.max_batches)
        except ValueError as exc:
            raise SpecError(f"BATCHML_FAULTS={self.faults!r}: {exc}") from None
        return plan

    def backend_for(self, spec: PipelineSpec) -> str:
        """The backend a command uses: the flag or BATCHML_BACKEND, else the spec's."""
        return self.backend or spec.pipeline.backend

    def task_environment(self) -> dict[str, str]:
        """What a task process must see to build the same adapters as its orchestrator."""
        env = {"BATCHML_TASK_RUNNER": self.task_runner}
        if self.backend:
            env["BATCHML_BACKEND"] = self.backend
        if self.duckdb_threads:
            env["BATCHML_DUCKDB_THREADS"] = str(self.duckdb_threads)
        if self.duckdb_memory_limit:
            env["BATCHML_DUCKDB_MEMORY_LIMIT"] = self.duckdb_memory_limit
        return env
