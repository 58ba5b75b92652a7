"""`batchml asl SPEC [--out FILE]`: print or write the Step Functions definition of a spec.

The definition is a Terraform template (ARNs are `${...}` placeholders), compiled from the
same stage graph the local orchestrator runs; `terraform/statemachine/pipeline.asl.json` is
this command's output for `examples/age/spec.toml`, never edited by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from entrypoints import containers
from entrypoints.spec_loader import load_spec


def cmd_asl(args: argparse.Namespace, console: Any = None) -> int:
    text = containers.render_asl(load_spec(args.spec))
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


def add_asl_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `asl` on the CLI's sub-parsers; `func` follows the CLI's (args, console) convention."""
    asl = subparsers.add_parser("asl", help="compile a spec's stage graph into the Step Functions definition")
    asl.add_argument("spec", type=Path, help="the pipeline's spec file")
    asl.add_argument("--out", type=Path, help="write the definition here instead of printing it")
    asl.set_defaults(func=cmd_asl)
    parser: argparse.ArgumentParser = asl
    return parser
