"""A workgroup's configuration as the emulator enforces it, and the one Terraform deploys.

`deployed_workgroup` reads terraform/glue_athena.tf with the defaults of terraform/variables.tf
(python-hcl2, as tests/terraform/hcl_checks.py parses the configuration), so a test can run the
engine against the workgroup as deployed rather than one it made up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.aws.athena_emulation.limits import MIN_BYTES_SCANNED_CUTOFF
from tests.terraform.hcl_checks import Config

TERRAFORM = Path(__file__).resolve().parents[4] / "terraform"


@dataclass(frozen=True)
class WorkGroup:
    name: str = "primary"
    enforce: bool = False  # EnforceWorkGroupConfiguration: the workgroup's settings override the client's
    output_location: str | None = None
    bytes_scanned_cutoff: int | None = None  # BytesScannedCutoffPerQuery

    def __post_init__(self) -> None:
        if self.bytes_scanned_cutoff is not None and self.bytes_scanned_cutoff < MIN_BYTES_SCANNED_CUTOFF:
            # Athena refuses such a workgroup (CreateWorkGroup/UpdateWorkGroup), so none can exist.
            raise ValueError(f"BytesScannedCutoffPerQuery must be at least {MIN_BYTES_SCANNED_CUTOFF}")

    def configuration(self) -> dict[str, Any]:
        """GetWorkGroup's `Configuration`."""
        config: dict[str, Any] = {
            "EnforceWorkGroupConfiguration": self.enforce,
            "PublishCloudWatchMetricsEnabled": True,
            "RequesterPaysEnabled": False,
            "EngineVersion": {
                "SelectedEngineVersion": "Athena engine version 3",
                "EffectiveEngineVersion": "Athena engine version 3",
            },
        }
        if self.output_location:
            config["ResultConfiguration"] = {"OutputLocation": self.output_location}
        if self.bytes_scanned_cutoff is not None:
            config["BytesScannedCutoffPerQuery"] = self.bytes_scanned_cutoff
        return config


_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def _resolve(text: Any, config: Config, references: Mapping[str, str]) -> str:
    """Interpolate `${var.x}`, `${local.x}` and the given resource references; anything else is
    an error naming the expression (it would need more than this small reader knows)."""
    variables = {name: body.get("default") for name, body in config.variables().items()}
    local_values = config.locals()

    def value(expression: str) -> str:
        expression = expression.strip()
        if expression in references:
            return references[expression]
        kind, _, name = expression.partition(".")
        if kind == "var" and variables.get(name) is not None:
            return str(variables[name])
        if kind == "local" and name in local_values:
            return _resolve(local_values[name], config, references)
        raise ValueError(f"cannot resolve ${{{expression}}} from the Terraform defaults; pass it in `references`")

    return _REFERENCE.sub(lambda m: value(m.group(1)), str(text))


@functools.cache  # parsing terraform/ takes most of a second; the files do not change under a test run
def deployed_workgroup(bucket: str, terraform: Path = TERRAFORM) -> WorkGroup:
    """The `aws_athena_workgroup.main` of the Terraform configuration, with the variables'
    defaults; `bucket` stands for the data bucket (its name needs the account id)."""
    config = Config.load(terraform)
    body = config.resources()[("aws_athena_workgroup", "main")]
    settings = body["configuration"][0]
    references = {"aws_s3_bucket.data.bucket": bucket}
    result = settings.get("result_configuration", [{}])[0]
    cutoff = settings.get("bytes_scanned_cutoff_per_query")
    return WorkGroup(
        name=_resolve(body["name"], config, references),
        enforce=str(settings.get("enforce_workgroup_configuration", False)).lower() == "true",
        output_location=_resolve(result["output_location"], config, references) if result else None,
        bytes_scanned_cutoff=int(_resolve(cutoff, config, references)) if cutoff is not None else None,
    )
