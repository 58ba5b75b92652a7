"""The deployment's sizes the cost model and the limit checks need, with where each comes from.

Terraform's defaults (terraform/variables.tf; tests/unit/test_cost_shape.py keeps them equal)
and the AWS execution shape's own constants (the state machine's design, /work/team/aws-design.md
as implemented in adapters/aws/state_machine.py). A deployment with other variables plans with
`Deployment(...)` built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from adapters.aws.asl_states import INLINE_LIMIT, POLL_WAIT_SECONDS

GIB = 1024**3


@dataclass(frozen=True)
class Deployment:
    # terraform/variables.tf
    cpu_architecture: Literal["x86", "arm"] = "x86"  # var.cpu_architecture (X86_64)
    train_cpu: int = 1024  # CPU units (1024 = 1 vCPU): var.train_cpu
    train_memory_mib: int = 4096  # var.train_memory
    predict_cpu: int = 512  # var.predict_cpu
    predict_memory_mib: int = 2048  # var.predict_memory
    lambda_memory_mb: int = 1024  # var.lambda_memory_mb: the SQL and control stages
    athena_bytes_scanned_cutoff: int = 10 * GIB  # var.athena_bytes_scanned_cutoff
    interface_endpoints: tuple[str, ...] = field(
        default=("ecr.api", "ecr.dkr", "logs", "athena", "glue")  # var.interface_endpoints
    )
    vpc_endpoint_az_count: int = 2  # var.vpc_endpoint_az_count
    ingest_lambda_memory_mb: int = 2048  # var.ingest_lambda_memory_mb: >= 1,769 MB, one full vCPU for the splitter
    # The execution shape (adapters/aws/state_machine.py)
    inline_map_threshold: int = INLINE_LIMIT  # above this many items a map is a Distributed Map
    sql_wait_seconds: float = 45.0  # a SQL Lambda waits this long per invocation (lambda_handlers.WAIT_SECONDS)
    loop_wait_seconds: float = POLL_WAIT_SECONDS  # then the machine Waits this long and invokes it again

    @property
    def train_vcpu(self) -> float:
        return self.train_cpu / 1024

    @property
    def predict_vcpu(self) -> float:
        return self.predict_cpu / 1024

    @property
    def endpoint_count(self) -> int:
        return len(self.interface_endpoints)
