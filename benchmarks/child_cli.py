"""The command line shared by the benchmarks that run as their own process on a spec
(`python -m benchmarks.floor`, `python -m benchmarks.ceiling`): --spec, --work, --report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def spec_work_main(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str | None,
    work_help: str,
    run: Callable[[Path, Path], dict[str, Any]],
) -> int:
    """Parse the arguments, `run(spec, work)`, write its report as JSON."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help=work_help)
    parser.add_argument("--report", type=Path, required=True, help="where to write the JSON report")
    args = parser.parse_args(argv)
    args.report.write_text(json.dumps(run(args.spec, args.work), indent=1))
    return 0
