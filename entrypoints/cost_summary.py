"""The ledger in the end-of-run summary and in `batchml runs`: what the run cost (or would cost)
on AWS, and the plan's estimate beside what was measured."""

from __future__ import annotations

from rich.console import Console

from domain.run_state import RunState
from entrypoints.cost_format import about, dollars, duration


def stage_seconds(state: RunState) -> float:
    """What the run's stages took, as the run recorded them (what the plan estimates)."""
    return sum(record.seconds for record in state.stages.values())


def print_cost(console: Console, state: RunState) -> None:
    ledger = state.ledger
    if ledger is None or ledger.aws_cost is None:
        return
    cost = ledger.aws_cost
    services = ", ".join(f"{name.replace('_', ' ')} {dollars(d)}" for name, d in cost.by_service.items() if d)
    if ledger.backend == "aws":
        head = f"{about(cost.total)} on AWS ({services}), from what the run recorded"
    else:
        head = f"on AWS this run would cost {about(cost.total)} ({services})"
    console.print(f"Cost:    {head}; {cost.prices}", highlight=False, soft_wrap=True)
    plan = ledger.plan
    if plan:
        measured = stage_seconds(state)
        error = (plan["wall_seconds"] - measured) / measured if measured else 0.0
        where = "on AWS" if ledger.backend == "aws" else "here"
        off = f"the plan is {abs(error):.0%} {'over' if error > 0 else 'under'}" if measured else "nothing ran"
        console.print(
            f"Plan:    {duration(plan['wall_seconds'])} {where} and {about(plan['aws_cost_usd'])} on AWS for "
            f"this source; the stages took {duration(measured)}: {off}",
            highlight=False,
            soft_wrap=True,
        )


def cost_cell(state: RunState) -> str:
    """`batchml runs`' cost column: the run's cost on AWS (~ for a local run's estimate)."""
    ledger = state.ledger
    if ledger is None or ledger.aws_cost is None:
        return ""
    return ("" if ledger.backend == "aws" else "~") + dollars(ledger.aws_cost.total)
