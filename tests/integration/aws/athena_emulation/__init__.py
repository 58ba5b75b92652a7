"""The parts of the Athena emulator (tests/integration/aws/athena_emulator.py): Athena's limits,
its statements, the lake it reads (moto's S3 and Glue), the SQL run in DuckDB, and its result shape.

Test-only: nothing under adapters/, domain/ or entrypoints/ imports it.
"""
