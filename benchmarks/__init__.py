"""A benchmark anyone can rerun: the pipeline end to end, side by side with a hand-written
floor and with the seed's row-by-row scoring (`python -m benchmarks --help`)."""
