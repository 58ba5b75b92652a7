"""`batchml run SPEC --backend aws`: upload the spec, start the state machine, watch it.

The execution's history is translated into the same events a local run emits, so the
progress display and the summary are the same; the summary reads the run state the Lambda
stages wrote to S3.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from domain.errors import SpecError
from domain.run_state import RunState
from domain.spec import STAGE_NAMES, PipelineSpec
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_source import upload_spec


def run_on_aws(
    spec_file: Path, spec: PipelineSpec, settings: Settings, console: Console, run_id: str
) -> tuple[RunState | None, str]:
    """Returns the run's final state (None if the run never wrote one) and the execution's status."""
    aws = AwsSettings.from_environment()
    if not aws.state_machine_arn:
        raise SpecError(
            "BATCHML_STATE_MACHINE_ARN is not set: export it (and the other BATCHML_* variables) from "
            "`terraform output` (see terraform/README.md)"
        )
    container = containers.build_container(spec, settings, "", aws)
    spec_uri = upload_spec(spec_file, container.object_store(), run_id)
    console.print(f"run {run_id}: spec uploaded to {spec_uri}; starting {aws.state_machine_arn}")
    with containers.progress_display(len(STAGE_NAMES), console) as display:
        launcher = containers.launcher(container, aws.state_machine_arn, display)
        status = launcher.watch(launcher.start(run_id, spec_uri))
    return container.run_store().load(run_id), status
