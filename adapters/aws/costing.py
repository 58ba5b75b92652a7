"""An AWS usage plan priced: dollars per stage and per service, at one region's prices."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.aws.aws_usage import AwsUsage, total
from adapters.aws.cost_shape import AwsPlan
from adapters.aws.deployment import Deployment
from adapters.aws.prices import SERVICES, Prices, cost


@dataclass(frozen=True)
class PricedPlan:
    plan: AwsPlan
    prices: Prices
    deployment: Deployment
    by_stage: dict[str, float]
    by_service: dict[str, float]
    transitions: int  # counted (a finished AWS run) or the plan's

    @property
    def total(self) -> float:
        return sum(self.by_service.values())

    @property
    def usage(self) -> AwsUsage:
        return total(self.plan.stages)


def price_plan(
    plan: AwsPlan, prices: Prices, deployment: Deployment, counted_transitions: int | None = None
) -> PricedPlan:
    """Each stage priced on its own usage, with its share of the interface endpoints' hours
    (they are billed by the hour whether a run is going or not: the run's share is its hours).
    `counted_transitions`: the executions' own count, which replaces the plan's in the total."""
    endpoint_azs = deployment.endpoint_count * deployment.vpc_endpoint_az_count
    by_stage: dict[str, float] = {}
    by_service = dict.fromkeys(SERVICES, 0.0)
    for stage, usage in plan.stages.items():
        dollars = cost(usage, prices, deployment.cpu_architecture, endpoint_azs * usage.wall_seconds / 3600)
        by_stage[stage] = sum(dollars.values())
        for service, amount in dollars.items():
            by_service[service] += amount
    planned = total(plan.stages).transitions
    transitions = planned if counted_transitions is None else counted_transitions
    if counted_transitions is not None:
        by_service["step_functions"] = transitions / 1000 * prices("step_functions", "usd_per_thousand_transitions")
    return PricedPlan(plan, prices, deployment, by_stage, by_service, transitions)
