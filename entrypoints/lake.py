"""Which lake a command works on: a spec's `[output] root`, or a folder given with `--root`.

`runs`, `rollback` and `report` take either; with `--root` alone they need no spec file
(the demo's summary names its spec, but a lake folder is what a user has at hand), and the
results table is the root's only published table unless `--table` names one.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from domain.context import Ports
from domain.errors import SpecError
from domain.layout import published_history_key
from domain.spec import PipelineSpec
from entrypoints import containers
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec

RESULTS, _, HISTORY_NAME = published_history_key("*").partition("/*/")


@dataclass(frozen=True)
class Lake:
    ports: Ports
    table: str | None  # None: nothing published under a --root yet
    root: str
    spec_file: Path | None
    spec: PipelineSpec | None

    def command(self, name: str) -> str:
        """How to run another command on this lake, for hints."""
        where = str(self.spec_file) if self.spec_file else f"--root {self.root}"
        return f"batchml {name} {where}"


def add_lake_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, nargs="?", help="the pipeline's spec file (or give --root)")
    parser.add_argument("--root", type=Path, help="a local lake folder (a spec's [output] root), instead of the spec")
    parser.add_argument("--table", help="with --root: the results table, if the lake holds several")
    parser.add_argument("--backend", choices=containers.BACKENDS, help="override the spec's [pipeline] backend")


def open_lake(args: argparse.Namespace, run_id: str) -> Lake:
    if args.spec and args.root:
        raise SpecError("give a spec or --root, not both")
    if args.spec:
        spec = load_spec(args.spec)
        container = containers.build_container(spec, Settings.from_environment(backend=args.backend), args.spec)
        ports = containers.run_context(container, spec, run_id).ports
        return Lake(ports, spec.output.table, spec.output.root, args.spec, spec)
    if not args.root:
        raise SpecError("which lake? give the pipeline's spec file, or --root with its [output] root folder")
    root: Path = args.root
    if not (root / "runs").is_dir():
        raise SpecError(f"--root {root}: no batchml lake there (no runs/ folder); give the spec's [output] root")
    ports = containers.lake_ports(containers.lake_container(root, Settings.from_environment()), run_id)
    return Lake(ports, args.table or _only_table(root), str(root), None, None)


def _only_table(root: Path) -> str | None:
    tables = sorted(p.parent.name for p in (root / RESULTS).glob(f"*/{HISTORY_NAME}"))
    if len(tables) <= 1:
        return tables[0] if tables else None
    raise SpecError(f"--root {root} holds tables {tables}: name one with --table")
