"""The report's chart engine starts once the run is past its pre-cleanup, exactly once: started
with the run, its import held the pre-cleanup up by 0.35 s (entrypoints/chart_warm_up.py)."""

from __future__ import annotations

from entrypoints.chart_warm_up import WarmUpAfterPreCleanup


def _watch(*events: tuple[str, str]) -> int:
    started: list[int] = []
    log = WarmUpAfterPreCleanup(lambda: started.append(1))
    for event, stage in events:
        log.emit(event, stage=stage, run_id="r")
    return len(started)


def test_it_waits_for_the_stage_after_the_pre_cleanup_and_starts_once() -> None:
    assert _watch(("run_started", ""), ("stage_started", "pre_cleanup")) == 0
    assert _watch(("stage_started", "pre_cleanup"), ("stage_succeeded", "pre_cleanup")) == 0
    assert _watch(("stage_started", "pre_cleanup"), ("stage_started", "staging"), ("stage_started", "features")) == 1


def test_a_resumed_run_starts_it_at_the_first_skipped_stage() -> None:
    assert _watch(("stage_started", "pre_cleanup"), ("stage_skipped", "staging"), ("stage_skipped", "features")) == 1
