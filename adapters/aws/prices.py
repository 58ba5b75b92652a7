"""AWS list prices per region (adapters/aws/prices.toml), and what a usage costs at them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from adapters.aws.aws_usage import AwsUsage
from domain.errors import SpecError

PRICES_FILE = "prices.toml"
# The layout of prices.toml this code reads (its `schema`); `version` counts the file's data
# updates and changes with every new figure, which needs no code change.
PRICES_SCHEMA = 1
Architecture = Literal["x86", "arm"]
# The services a run's cost is broken down by, in the order it is shown.
SERVICES = ("athena", "lambda", "fargate", "step_functions", "s3", "vpc_endpoints")
# The prices every region's table of each service holds, besides `source`, `read_from` and `date`.
FIELDS: dict[str, tuple[str, ...]] = {
    "athena": ("usd_per_tb_scanned", "min_mb_billed_per_query"),
    "fargate": (
        "x86_usd_per_vcpu_hour",
        "x86_usd_per_gb_hour",
        "arm_usd_per_vcpu_hour",
        "arm_usd_per_gb_hour",
        "min_billed_seconds",
    ),
    "lambda": ("x86_usd_per_gb_second", "arm_usd_per_gb_second", "usd_per_million_requests"),
    "step_functions": ("usd_per_thousand_transitions",),
    "s3": ("usd_per_thousand_puts", "usd_per_thousand_gets", "usd_per_gb_month"),
    "vpc_endpoints": ("usd_per_endpoint_az_hour", "usd_per_gb_processed"),
}
HOURS_PER_MONTH = 730  # AWS's own month for hourly prices


@dataclass(frozen=True)
class Prices:
    region: str
    values: Mapping[str, Mapping[str, float]]  # service -> price name -> USD
    dates: Mapping[str, str]  # service -> when its prices were read
    sources: Mapping[str, str]  # service -> the AWS pricing page

    def __call__(self, service: str, name: str) -> float:
        return self.values[service][name]

    def describe(self) -> str:
        return f"{PRICES_FILE} {self.region} (read {min(self.dates.values())})"

    @property
    def min_billed_bytes_per_query(self) -> int:
        return int(self("athena", "min_mb_billed_per_query") * 1_000_000)


def load_prices_file(text: str | None = None) -> dict[str, Any]:
    raw = text if text is not None else resources.files("adapters.aws").joinpath(PRICES_FILE).read_text()
    data: dict[str, Any] = tomllib.loads(raw)
    if data.get("schema") != PRICES_SCHEMA:
        raise SpecError(f"{PRICES_FILE}: schema {data.get('schema')!r}, this batchml reads schema {PRICES_SCHEMA}")
    return data


def regions(data: Mapping[str, Any] | None = None) -> list[str]:
    return sorted((data or load_prices_file())["regions"])


def prices_for(region: str, data: Mapping[str, Any] | None = None) -> Prices:
    """The region's prices; a SpecError naming the regions there are if it has none."""
    data = data or load_prices_file()
    table = data["regions"].get(region)
    if table is None:
        raise SpecError(
            f"{PRICES_FILE} has no prices for region {region!r} (it has {', '.join(regions(data))}); "
            "README's 'Cost and limits' says how to add one"
        )
    values: dict[str, dict[str, float]] = {}
    for service, names in FIELDS.items():
        section = table.get(service, {})
        missing = [n for n in (*names, "source", "date") if n not in section]
        if missing:
            raise SpecError(f"{PRICES_FILE} [regions.{region}.{service}]: missing {missing}")
        values[service] = {n: float(section[n]) for n in names}
    return Prices(
        region=region,
        values=values,
        dates={s: str(table[s]["date"]) for s in FIELDS},
        sources={s: str(table[s]["source"]) for s in FIELDS},
    )


def cost(
    usage: AwsUsage, prices: Prices, arch: Architecture = "x86", endpoint_az_hours: float = 0.0
) -> dict[str, float]:
    """Dollars per service for `usage`; `endpoint_az_hours`: interface endpoint hours the run
    keeps (endpoints x zones x the run's hours)."""
    p = prices
    return {
        "athena": usage.athena_bytes_billed / 1e12 * p("athena", "usd_per_tb_scanned"),
        "lambda": usage.lambda_gb_seconds * p("lambda", f"{arch}_usd_per_gb_second")
        + usage.lambda_invocations / 1e6 * p("lambda", "usd_per_million_requests"),
        "fargate": usage.fargate_vcpu_seconds / 3600 * p("fargate", f"{arch}_usd_per_vcpu_hour")
        + usage.fargate_gb_seconds / 3600 * p("fargate", f"{arch}_usd_per_gb_hour"),
        "step_functions": usage.transitions / 1000 * p("step_functions", "usd_per_thousand_transitions"),
        "s3": usage.s3_puts / 1000 * p("s3", "usd_per_thousand_puts")
        + usage.s3_gets / 1000 * p("s3", "usd_per_thousand_gets")
        + usage.s3_gb_hours / HOURS_PER_MONTH * p("s3", "usd_per_gb_month"),
        "vpc_endpoints": endpoint_az_hours * p("vpc_endpoints", "usd_per_endpoint_az_hour"),
    }
