"""The measured rates file (adapters/shared/rates.json, written by `python -m benchmarks
--write-rates`), read into the cost model's Rates."""

from __future__ import annotations

import functools
import json
from importlib import resources

from domain.cost.rates import Rates, rates_from_mapping

RATES_FILE = "rates.json"


@functools.cache
def load_rates() -> Rates:
    text = resources.files("adapters.shared").joinpath(RATES_FILE).read_text()
    return rates_from_mapping(json.loads(text), f"adapters/shared/{RATES_FILE}")
