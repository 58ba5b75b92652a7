"""`batchml deploy SPEC`: make the deployed state machine the spec's compilation.

Terraform deploys the state machine compiled from one spec (`statemachine/pipeline.asl.json`,
the example's unless a spec is rendered there); a spec with other batches, concurrency,
retries or timeouts needs its own. This replaces the definition in place (UpdateStateMachine,
with the ARNs Terraform filled in read back from it); `batchml run --backend aws` refuses to
start while the two differ. A later `terraform apply` puts Terraform's file back.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from domain.errors import SpecError
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_loader import load_spec


def cmd_deploy(args: argparse.Namespace, console: Any) -> int:
    spec = load_spec(args.spec)
    aws = AwsSettings.from_environment()
    if not aws.state_machine_arn:
        raise SpecError("BATCHML_STATE_MACHINE_ARN is not set: export the BATCHML_* variables from `terraform output`")
    container = containers.build_container(spec, Settings.from_environment(backend="aws"), "", aws)
    changed = containers.deployed_differences(container, spec, aws.state_machine_arn, deploy=True)
    if not changed:
        console.print(f"{aws.state_machine_arn} already runs {args.spec}'s compilation: nothing to deploy")
        return 0
    console.print(f"deployed {args.spec}'s compilation to {aws.state_machine_arn}; {len(changed)} change(s):")
    for line in changed:
        console.print(f"  {line}", markup=False, soft_wrap=True)
    return 0


def add_deploy_command(subparsers: Any) -> argparse.ArgumentParser:
    deploy = subparsers.add_parser(
        "deploy", help="make the deployed Step Functions state machine this spec's compilation (AWS)"
    )
    deploy.add_argument("spec", type=Path, help="the pipeline's spec file")
    deploy.set_defaults(func=cmd_deploy)
    parser: argparse.ArgumentParser = deploy
    return parser
