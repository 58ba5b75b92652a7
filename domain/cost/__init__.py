"""Cost and time: measured rates, the volumes a run handles, the local time model and the
ledger a run records. Arithmetic only; AWS prices, limits and the AWS execution shape live in
adapters/aws (cost_shape.py, prices.py, limit_checks.py)."""
