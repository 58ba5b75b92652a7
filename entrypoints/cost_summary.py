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
    """A run's cost on AWS ("~" marks a local run's estimate), or "" without a ledger."""
    ledger = state.ledger
    if ledger is None or ledger.aws_cost is None:
        return ""
    text = dollars(ledger.aws_cost.total)
    return text if ledger.backend == "aws" or text.startswith("<") else "~" + text


def print_run_costs(console: Console, states: list[RunState]) -> None:
    """`batchml runs`: each listed run's cost on AWS from its ledger, below the runs table (a
    column of its own would push that table past a terminal's width)."""
    costs = [(state.run_id, cost_cell(state), state.ledger) for state in states if cost_cell(state)]
    if not costs:
        return
    console.print("Cost on AWS, from each run's ledger (~: a local run's estimate):", highlight=False)
    for run_id, cell, ledger in costs:
        assert ledger is not None and ledger.aws_cost is not None
        console.print(f"  {run_id}  {cell:>9}  ({ledger.aws_cost.prices})", highlight=False, soft_wrap=True)
