"""The training stage's service: it writes the model and its card, and trains once per run."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from domain.context import RunContext
from domain.errors import VerificationError
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


def test_a_model_below_the_quality_gate_fails_training_and_writes_nothing(ctx: RunContext) -> None:
    engine, store = ctx.ports.engine, ctx.ports.store
    assert isinstance(engine, FakeSqlEngine) and isinstance(store, FakeObjectStore)
    noise = regression_table(600)
    rng = np.random.default_rng(1)  # a label the features cannot explain
    noise = noise.set_column(1, "label", pa.array(rng.normal(0, 1, 600)))
    engine.answer(r".", noise)
    gated = ctx.spec.model.model_copy(update={"min_holdout_r2": 0.5})
    ctx = replace(ctx, spec=ctx.spec.model_copy(update={"model": gated}))

    with pytest.raises(VerificationError, match=r"holdout R² -?\d\.\d{4} is below \[model\] min_holdout_r2 0.5"):
        run_training(ctx)
    assert not store.exists(ctx.layout.model_key) and not store.exists(ctx.layout.model_card_key)


def test_a_model_above_the_quality_gate_passes(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r".", regression_table(600))
    gated = ctx.spec.model.model_copy(update={"min_holdout_r2": 0.9})
    report = run_training(replace(ctx, spec=ctx.spec.model_copy(update={"model": gated})))
    assert report["r2"] >= 0.9
