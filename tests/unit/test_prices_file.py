"""The shipped prices file (adapters/aws/prices.toml): every region it lists has every price,
each with the AWS page, the copy it was read from and the date, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.aws.prices import FIELDS, SERVICES, load_prices_file, regions

DATA = load_prices_file()
PROVENANCE = {"source", "read_from", "date"}


@pytest.mark.parametrize("region", regions(DATA))
def test_every_region_has_every_price_of_every_service_and_no_other_key(region: str) -> None:
    table: dict[str, Any] = DATA["regions"][region]
    assert sorted(table) == sorted(SERVICES), region
    for service, names in FIELDS.items():
        section = table[service]
        # An extra key is most often a misspelt price name, which would leave the real one missing.
        expected = set(names) | PROVENANCE
        assert set(section) == expected, (region, service, sorted(set(section) ^ expected))
        for name in names:
            value = section[name]
            assert isinstance(value, int | float) and not isinstance(value, bool) and value > 0, (region, service, name)
        assert all(isinstance(section[key], str) and section[key].strip() for key in PROVENANCE), (region, service)


def test_the_regions_issue_15_asked_for_are_all_priced() -> None:
    # Listed only when every figure was found for the region (the file's rule).
    assert {"us-east-1", "eu-west-1", "eu-central-1", "us-west-2", "ap-southeast-1"} <= set(regions(DATA))
