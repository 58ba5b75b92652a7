"""BATCHML_FAULTS: every rule either fires or is refused when parsed (issue 14, finding 7)."""

from __future__ import annotations

import pytest

from domain.faults import FaultPlan


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("garbage", "fault rule 'garbage' is not understood; expected stage=STAGE:transient=N"),
        ("stage=PUBLISH:permanent", "fault rule 'stage=PUBLISH:permanent': no stage 'PUBLISH' (stages: pre_cleanup,"),
        ("batch=-1:permanent", "fault rule 'batch=-1:permanent': a batch is a number from 0"),
        ("kill=before_stage:nonexistent", "no stage 'nonexistent'"),
        ("kill=after_batches:0", "expected one kill=after_batches:N with N >= 1"),
        ("stage=features:transient=0", "transient=0 never fails"),
        ("batch=2:permanent;batch=2:transient=1", "a second rule for the same target"),
        ("kill=before_stage:staging;kill=before_stage:features", "only one kill=before_stage rule"),
        ("stage=features:transient=2;", None),
    ],
)
def test_a_rule_that_cannot_fire_is_refused_by_name(text: str, message: str | None) -> None:
    if message is None:
        assert FaultPlan.parse(text).stages == {"features": 2}
        return
    with pytest.raises(ValueError) as raised:
        FaultPlan.parse(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_training_and_prediction_stage_rules_are_kept() -> None:
    plan = FaultPlan.parse("stage=training:permanent;stage=prediction:transient=1")
    assert plan.stages == {"training": None, "prediction": 1}


def test_batches_beyond_the_spec_or_the_plan_are_named() -> None:
    plan = FaultPlan.parse("batch=12:permanent")
    with pytest.raises(ValueError, match="batch=12: batches are numbered 0 to 9"):
        plan.check_batches(10)
    assert plan.unused_batch_rules([0, 1, 2], pending=3) == "fault rule batch=12: the run planned batches 0 to 2"
    late_kill = FaultPlan.parse("kill=after_batches:4")
    assert late_kill.unused_batch_rules([0, 1, 2], pending=3) == (
        "fault rule kill=after_batches:4: only 3 batch(es) left to run"
    )
    assert FaultPlan.parse("batch=1:permanent").unused_batch_rules([0, 1], pending=2) is None
