"""What a run uses on AWS in the execution shape the state machine runs, and what that costs
at the prices file's figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.aws.aws_usage import AwsUsage, total
from adapters.aws.cost_shape import FARGATE_START_SECONDS, Measured, aws_plan
from adapters.aws.deployment import GIB, Deployment
from adapters.aws.prices import cost, load_prices_file, prices_for, regions
from domain.cost.volumes import SourceSize, plan_volumes, source_size
from domain.errors import SpecError
from tests.unit.cost_fixtures import rates, spec

REPO = Path(__file__).resolve().parents[2]


def plan_for(lines: int, objects: tuple[int, ...] | None = None, compressed: bool = False, **kwargs: object):  # type: ignore[no-untyped-def]
    r, s = rates(), spec(**kwargs)  # type: ignore[arg-type]
    source = source_size(lines, None, r, "--rows")
    if objects is not None:
        source = SourceSize(objects, lines, "test", compressed=compressed)
    volumes = plan_volumes(s, source, r)
    return volumes, aws_plan(volumes, s, r, Deployment())


def test_an_object_larger_than_an_ingest_item_is_cut_into_items_a_compressed_object_is_one() -> None:
    _, plan = plan_for(3_000_000, objects=(int(2.5 * GIB), 1000))
    assert plan.ingest_items == 3 + 1
    _, plan = plan_for(3_000_000, objects=(int(2.5 * GIB), 1000), compressed=True)
    assert plan.ingest_items == 2


def test_each_ingest_item_is_one_lambda_invocation_at_the_measured_per_core_rate() -> None:
    _, plan = plan_for(4_000_000, objects=(4_000_000_000,))  # 1,000 bytes a line: four items of 1M lines
    staging = plan.stages["staging"]
    assert plan.ingest_items == 4
    assert plan.ingest_item_seconds == pytest.approx(1.0 + 1_000_000 / 200_000)  # call + lines / rate
    # Four invocations of 2,048 MB, beside the item plan's and the SQL stage's.
    assert staging.lambda_gb_seconds >= 4 * plan.ingest_item_seconds * 2


def test_small_maps_are_inline_large_ones_distributed_with_child_transitions() -> None:
    # The route, then the Map (a Distributed one reads its own list), each batch its Task and Succeed.
    volumes, plan = plan_for(10_000_000, rows_per_batch=100_000)
    assert volumes.batches > 40
    assert plan.stages["prediction"].transitions == 1 + 1 + 2 * volumes.batches
    # The route, the Task reading the list, the inline Map, the batches.
    volumes, plan = plan_for(1_000_000)
    assert volumes.batches <= 40
    assert plan.stages["prediction"].transitions == 1 + 2 + 2 * volumes.batches


def test_every_fargate_task_is_billed_from_its_start_for_at_least_a_minute() -> None:
    volumes, plan = plan_for(100_000)  # tiny batches: each task far shorter than a minute
    prediction = plan.stages["prediction"]
    assert plan.predict_task_seconds < 60
    assert prediction.fargate_tasks == volumes.batches
    assert prediction.fargate_vcpu_seconds == pytest.approx(volumes.batches * 60 * 0.5)
    assert prediction.fargate_gb_seconds == pytest.approx(volumes.batches * 60 * 2.0)
    assert plan.train_task_seconds > FARGATE_START_SECONDS.value


def test_every_athena_query_bills_at_least_its_minimum() -> None:
    _, plan = plan_for(1_000)
    features = plan.stages["features"]
    assert features.athena_bytes_scanned < features.athena_queries * 10_000_000
    assert features.athena_bytes_billed == features.athena_queries * 10_000_000


def test_what_a_run_measured_replaces_the_models_figures() -> None:
    r, s = rates(), spec()
    volumes = plan_volumes(s, source_size(1_000_000, None, r, "--rows"), r)
    measured = Measured(
        athena_bytes={"features": 5 * 10**9}, stage_seconds={"features": 7.0}, predict_seconds=(30.0, 3)
    )
    plan = aws_plan(volumes, s, r, Deployment(), measured=measured)
    assert plan.stages["features"].athena_bytes_scanned == 5 * 10**9
    assert plan.stages["features"].wall_seconds == 7.0
    assert plan.predict_task_seconds == pytest.approx(FARGATE_START_SECONDS.value + 1.5 + 10.0)


def test_prices_apply_to_each_service_as_the_pricing_pages_state_them() -> None:
    prices = prices_for("us-east-1")
    usage = AwsUsage(
        athena_bytes_billed=10**12,
        lambda_gb_seconds=1_000_000,
        lambda_invocations=1_000_000,
        fargate_vcpu_seconds=3600,
        fargate_gb_seconds=3600,
        transitions=1000,
        s3_puts=1000,
        s3_gets=1000,
        s3_gb_hours=730,
    )
    dollars = cost(usage, prices, "x86", endpoint_az_hours=2)
    assert dollars == pytest.approx(
        {
            "athena": 5.0,
            "lambda": 16.6667 + 0.20,
            "fargate": 0.04048 + 0.004445,
            "step_functions": 0.025,
            "s3": 0.005 + 0.0004 + 0.023,
            "vpc_endpoints": 0.02,
        },
        rel=1e-4,
    )
    assert cost(usage, prices, "arm")["fargate"] == pytest.approx(0.03238 + 0.00356)


def test_every_price_says_which_aws_page_and_date_it_comes_from() -> None:
    data = load_prices_file()
    assert regions(data)
    for region in regions(data):
        prices = prices_for(region, data)
        for service, source in prices.sources.items():
            assert source.startswith("https://aws.amazon.com/") and source.endswith("/pricing/"), (region, service)
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.dates[service])
            assert data["regions"][region][service]["read_from"], (region, service)


def test_a_region_without_prices_is_an_error_naming_the_regions_there_are() -> None:
    with pytest.raises(SpecError, match=r"no prices for region 'mars-1' \(it has ap-southeast-1, .*us-east-1"):
        prices_for("mars-1")


def test_the_deployment_sizes_are_terraforms_defaults() -> None:
    pytest.importorskip("hcl2")
    from tests.terraform.hcl_checks import Config

    declared = {name: body.get("default") for name, body in Config.load(REPO / "terraform").variables().items()}
    d = Deployment()
    assert declared["train_cpu"] == d.train_cpu and declared["train_memory"] == d.train_memory_mib
    assert declared["predict_cpu"] == d.predict_cpu and declared["predict_memory"] == d.predict_memory_mib
    assert declared["lambda_memory_mb"] == d.lambda_memory_mb
    assert declared["ingest_lambda_memory_mb"] == d.ingest_lambda_memory_mb
    assert declared["athena_bytes_scanned_cutoff"] == d.athena_bytes_scanned_cutoff
    assert tuple(declared["interface_endpoints"] or ()) == d.interface_endpoints
    assert declared["vpc_endpoint_az_count"] == d.vpc_endpoint_az_count
    assert declared["cpu_architecture"] == {"x86": "X86_64", "arm": "ARM64"}[d.cpu_architecture]


def test_stage_usages_add_up() -> None:
    _, plan = plan_for(1_000_000)
    summed = total(plan.stages)
    assert summed.transitions == sum(u.transitions for u in plan.stages.values())
    assert summed.wall_seconds == pytest.approx(plan.wall_seconds)


def test_the_states_a_run_enters_are_those_of_the_compiled_state_machine() -> None:
    """The transition counts the cost model uses, against the definition the compiler writes."""
    from adapters.aws import cost_shape as shape
    from adapters.aws.state_machine import compile_state_machine
    from domain.graph import build_graph

    states = compile_state_machine(build_graph(spec()))["States"]

    def path(start: str, processor: dict[str, object]) -> list[str]:
        """States entered from `start` when every Task succeeds first time and no loop repeats."""
        entered: list[str] = []
        name: str | None = start
        while name and name not in entered:
            entered.append(name)
            state = processor[name]
            assert isinstance(state, dict)
            following = state.get("Next") if state["Type"] != "Choice" else state.get("Default")
            name = str(following) if following else None
        return entered

    # A Lambda stage: its Task and its Choice; another round adds the Wait, the Task, the Choice.
    assert path("features", states)[: shape.STAGE_STATES] == ["features", "features_next"]
    loop = next(c["Next"] for c in states["features_next"]["Choices"] if c.get("StringEquals") == "RUNNING")
    assert [loop, states[loop]["Next"], states["features"]["Next"]] == ["features_wait", "features", "features_next"]
    assert shape.LOOP_STATES == 3
    # Training: the Pass that starts its attempt count, then the task.
    assert path("training_start", states)[: shape.TRAINING_STATES] == ["training_start", "training"]
    # The fan-outs: a route, then an inline Map after the Task reading its list, or a Distributed Map.
    assert states["prediction_route"]["Type"] == "Choice" and shape.ROUTE_STATES == 1
    assert states["prediction_items"]["Next"] == "prediction_inline" and shape.INLINE_STATES == 2
    assert "ItemReader" in states["prediction_distributed"] and shape.DISTRIBUTED_STATES == 1
    for prefix, per_item in (("staging_ingest", shape.INGEST_ITEM_STATES), ("prediction", shape.BATCH_ITEM_STATES)):
        processor = states[f"{prefix}_distributed"]["ItemProcessor"]
        assert len(path(processor["StartAt"], processor["States"])) == per_item, prefix
