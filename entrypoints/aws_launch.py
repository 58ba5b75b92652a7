"""`batchml run SPEC --backend aws [--resume RUN_ID]`: upload the spec (or find the resumed
run's own copy), start the state machine, watch it.

The execution's history is translated into the same events a local run emits, so the
progress display and the summary are the same; the summary reads the run state the Lambda
stages wrote to S3.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from domain.errors import RunInterrupted, SpecError
from domain.ports.event_log import EventLog
from domain.run_lifecycle import check_resumable, record_watched_stages, run_fingerprints
from domain.run_state import RunState
from domain.spec import STAGE_NAMES, PipelineSpec
from entrypoints import containers
from entrypoints.run_ledger import record_or_warn
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_source import SPEC_NAME, load_spec_uri, run_spec_prefix, upload_spec


def run_on_aws(
    spec_file: Path, spec: PipelineSpec, settings: Settings, console: Console, run_id: str, resume: bool = False
) -> tuple[RunState | None, str]:
    """Returns the run's final state (None if the run never wrote one) and the execution's status."""
    aws = AwsSettings.from_environment()
    if not aws.state_machine_arn:
        raise SpecError(
            "BATCHML_STATE_MACHINE_ARN is not set: export it (and the other BATCHML_* variables) from "
            "`terraform output` (see terraform/README.md)"
        )
    container = containers.build_container(spec, settings, "", aws)
    changed = containers.deployed_differences(container, spec, aws.state_machine_arn)
    if changed:
        # Terraform deploys one spec's compilation; this spec's concurrency, retries or timeouts
        # would otherwise be another's (issue 13, finding 5).
        shown = "; ".join(changed[:8]) + (f"; and {len(changed) - 8} more" if len(changed) > 8 else "")
        raise SpecError(
            f"the deployed state machine is not {spec_file}'s compilation ({len(changed)} difference(s): {shown}). "
            f"Deploy this spec's: `batchml deploy {spec_file}`, or render it for Terraform "
            f"(`batchml asl {spec_file} --out terraform/statemachine/pipeline.asl.json`) and apply"
        )
    if resume:
        spec_uri = resumed_spec(container, spec, run_id)
        execution_name = f"{run_id}-resume-{int(time.time())}"  # names are unique per machine for 90 days
        console.print(f"run {run_id}: resuming with its spec {spec_uri}; starting {aws.state_machine_arn}")
    else:
        spec_uri, execution_name = upload_spec(spec_file, container.object_store(), run_id), run_id
        console.print(f"run {run_id}: spec uploaded to {spec_uri}; starting {aws.state_machine_arn}")
    ended = StageEnds()
    with containers.progress_display(len(STAGE_NAMES), console) as display:
        launcher = containers.launcher(container, aws.state_machine_arn, display, ended)
        running = launcher.running(run_id) if resume else []
        if running:
            raise SpecError(
                f"run {run_id} is still running in {running[0]}: wait for it to end, or stop it "
                "(aws stepfunctions stop-execution --execution-arn ...), then resume"
            )
        execution_arn = launcher.start(run_id, spec_uri, execution_name, resume=resume)
        try:
            status = launcher.watch(execution_arn)
        except KeyboardInterrupt:
            # Only the watching stops: the execution is Step Functions' and goes on.
            raise RunInterrupted(
                f"stopped watching run {run_id}; its execution goes on in Step Functions. Stop it with "
                f"`aws stepfunctions stop-execution --execution-arn {execution_arn}`"
            ) from None
    ctx = containers.run_context(container, spec, run_id)
    state = ctx.ports.run_store.load(run_id)
    if state is not None:
        record_watched_stages(ctx, state, ended.stages)
        record_or_warn(console, ctx, state, "aws", settings, sfn=container.sfn(), execution_arn=execution_arn)
    return state, status


class StageEnds(EventLog):
    """Each stage the watched execution finished: its attempts and seconds."""

    def __init__(self) -> None:
        self.stages: dict[str, tuple[int, float]] = {}

    def emit(self, event: str, **fields: Any) -> None:
        if event == "stage_succeeded":
            self.stages[str(fields["stage"])] = (int(fields.get("attempts", 1)), float(fields.get("seconds", 0.0)))


def resumed_spec(container: containers.Container, spec: PipelineSpec, run_id: str) -> str:
    """The run's own copy of its spec (a resume never replaces it), once the checks the first
    stage makes have passed here too: a resume that would be refused starts no execution.

    The user's spec must say what the copy says; the checks then run on the copy, which is what
    the execution reads (its SQL files may have been renamed when it was uploaded)."""
    ctx = containers.run_context(container, spec, run_id)
    state = ctx.ports.run_store.load(run_id)
    key = run_spec_prefix(run_id) + SPEC_NAME
    uri = ctx.ports.store.uri(key)
    if state is not None and not ctx.ports.store.exists(key):
        raise SpecError(f"run {run_id} has no spec at {uri}: it was not started on AWS")
    own = load_spec_uri(uri, containers.s3_client(AwsSettings.from_environment())) if state else spec
    changed = spec.differences(own)
    if changed:
        raise SpecError(
            f"run {run_id} cannot be resumed: your spec differs from the run's own copy ({uri}) in "
            f"{', '.join(changed)} (a resumed run computes what it started with); start a new run instead"
        )
    own_ctx = containers.run_context(container, own, run_id)
    check_resumable(own_ctx, state, True, run_fingerprints(own_ctx))
    return uri
