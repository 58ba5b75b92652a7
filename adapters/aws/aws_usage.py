"""What a stage uses of each billed AWS service: the quantities the prices apply to."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class AwsUsage:
    rows: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    athena_queries: int = 0
    athena_bytes_scanned: int = 0  # what the queries read
    athena_bytes_billed: int = 0  # with each query's 10 MB minimum
    lambda_invocations: int = 0
    lambda_seconds: float = 0.0
    lambda_gb_seconds: float = 0.0
    fargate_tasks: int = 0
    fargate_vcpu_seconds: float = 0.0  # billed: from image pull to stop, at least a minute per task
    fargate_gb_seconds: float = 0.0
    transitions: int = 0
    s3_puts: int = 0  # PUT, COPY, POST and LIST requests (one price)
    s3_gets: int = 0
    s3_gb_hours: float = 0.0  # intermediate tables, for as long as the run keeps them
    wall_seconds: float = 0.0

    def __iadd__(self, other: AwsUsage) -> AwsUsage:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def total(usages: dict[str, AwsUsage]) -> AwsUsage:
    out = AwsUsage()
    for usage in usages.values():
        out += usage
    return out
