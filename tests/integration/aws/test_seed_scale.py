"""The seed's workload on AWS, walked through the compiled state machine and the stages' own
cost model: 378M JSON lines (~130 GB) in 900 source objects, ~900 prediction batches.

No AWS account is reachable, so this is the next best proof: the definition the spec compiles to
is held to every limit the limits harness knows, and the cost model (per-core rates this repo
measures, adapters/shared/rates.json; the execution shape of adapters/aws/cost_shape.py, whose
state counts a test checks against a compiled definition) says what each invocation would take.
No invocation may cross a limit: no Lambda past 900 s, no Athena statement past 100 partitions or
its 30 minutes, no state past 256 KiB, no history past 25,000 events. What a deployment sets
(the workgroup's scan cap, the account's Fargate vCPU quota) is set here as the seed's
deployment would set it, and the test pins that the plan names both.
"""

from __future__ import annotations

import math
from pathlib import Path

from adapters.aws.deployment import Deployment
from adapters.aws.run_plan import make_plan
from adapters.aws.state_machine import compile_state_machine
from domain.cost.volumes import SourceSize
from domain.graph import build_graph
from entrypoints.cost_plan import local_threads
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec
from tests.integration.aws.limits_harness import check_definition

EXAMPLE_SPEC = Path(__file__).resolve().parents[3] / "examples" / "age" / "spec.toml"
SEED_LINES = 378_000_000
SEED_BYTES = 130 * 10**9
SEED_OBJECTS = 900
# The seed's own run: 32m51s and about $53 (its README); batchml must do it faster and cheaper.
SEED_SECONDS, SEED_DOLLARS = 32 * 60 + 51, 53.0
# 225 tasks at once, 4 waves: 900 batches of ~262,000 scoring rows (236M to score).
SETTINGS = {"batches": {"max_concurrency": 225, "rows_per_batch": 263_000}}


def test_the_seeds_workload_crosses_no_limit_and_beats_the_seeds_time_and_cost() -> None:
    spec = load_spec(EXAMPLE_SPEC, overrides=SETTINGS)
    checked = check_definition(compile_state_machine(build_graph(spec)))
    assert "staging_ingest_distributed_item" in checked and "prediction_distributed_batch" in checked

    per_object = math.ceil(SEED_BYTES / SEED_OBJECTS)
    source = SourceSize(object_bytes=(per_object,) * SEED_OBJECTS, lines=SEED_LINES, how="the seed's workload")
    # First with Terraform's defaults: the plan names what the seed's deployment must change.
    threads = local_threads(spec, Settings.from_environment(backend="aws"))
    default = make_plan(spec, source, "us-east-1", threads)
    crossed = {check.limit.split(" (")[0]: check.fix for check in default.crossed}
    assert set(crossed) == {"Athena workgroup scan cap", "Fargate On-Demand vCPUs at once"}, crossed
    assert "athena_bytes_scanned_cutoff" in crossed["Athena workgroup scan cap"]
    assert "quota" in crossed["Fargate On-Demand vCPUs at once"]

    # Then as the seed's deployment would be: the cap raised to what the plan asks for, and the
    # account's Fargate quota raised (a Service Quotas request; the plan reads no account).
    cutoff = 2 * max(q.bytes_scanned for q in default.aws.plan.queries)
    plan = make_plan(spec, source, "us-east-1", threads, deployment=Deployment(athena_bytes_scanned_cutoff=cutoff))
    quota = [c for c in plan.crossed if c.limit.startswith("Fargate On-Demand vCPUs")]
    assert [c.limit for c in plan.crossed] == [c.limit for c in quota]  # nothing else crosses
    usage = plan.aws.plan
    assert plan.volumes.batches == 900 and usage.ingest_items == SEED_OBJECTS
    assert usage.ingest_item_seconds < 900 / 10  # an item is far inside Lambda's 900 s
    wall = usage.wall_seconds
    dollars = plan.aws.total
    print(  # the figures the README quotes
        f"\nseed's workload on AWS: {SEED_LINES:,} lines, {SEED_BYTES / 1e9:.0f} GB in {SEED_OBJECTS} objects, "
        f"{plan.volumes.batches} batches at {spec.batches.max_concurrency} at once: wall {wall / 60:.1f} min, "
        f"${dollars:.2f} (the seed: {SEED_SECONDS / 60:.1f} min, ${SEED_DOLLARS:.0f})"
    )
    assert wall < SEED_SECONDS and dollars < SEED_DOLLARS
