"""checkov over terraform/ must report no failed check (scripts/check_terraform.sh).

Skips are inline in the .tf files, each with its reason; the script installs checkov into its
own environment on first use, so the first run takes a minute longer.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_terraform.sh"


def run_check(terraform_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=REPO,
        env={**os.environ, "TERRAFORM_DIR": str(terraform_dir)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_checkov_passes_on_the_deployment() -> None:
    result = run_check(REPO / "terraform")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout
    assert "Passed checks: 0," not in result.stdout, "checkov scanned nothing"


def test_checkov_fails_on_a_failed_check(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecr_repository" "mutable" {\n'
        '  name                 = "x"\n'
        '  image_tag_mutability = "MUTABLE"\n'
        "}\n"
    )
    result = run_check(tmp_path)
    assert result.returncode != 0
    assert "CKV_AWS_51" in result.stdout
