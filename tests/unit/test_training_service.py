"""The training stage's service: it writes the model and its card, and trains once per run."""

from __future__ import annotations

import json

from domain.context import RunContext
from domain.services.training import run_training
from tests.unit.fakes import FakeObjectStore, FakeSqlEngine
from tests.unit.ml_data import regression_table


def test_training_writes_model_and_card_then_a_rerun_in_the_same_run_reuses_them(ctx: RunContext) -> None:
    engine, store = ctx.ports.engine, ctx.ports.store
    assert isinstance(engine, FakeSqlEngine) and isinstance(store, FakeObjectStore)
    engine.answer(r".", regression_table(600))
    report = run_training(ctx)
    card = json.loads(store.get(ctx.layout.model_card_key))
    assert report["model_version"] == card["model_version"] and report["training_rows"] == 600
    model = store.get(ctx.layout.model_key)
    sampled = len(engine.queries)

    # A resumed execution on AWS runs the training task again: the card says it is done.
    again = run_training(ctx)
    assert again == report
    assert len(engine.queries) == sampled  # no second sample, no second fit
    assert store.get(ctx.layout.model_key) == model
