"""Batch planning by footers, held to S3's documented limits (adapters/aws/limits.py).

On AWS the batch planning Lambda reads every features file's footer and writes one slices
object per batch, IO_THREADS requests at a time; each prediction task makes a handful of ranged
GETs. No emulator enforces S3's request rates or Lambda's 900 s, so the arithmetic is the test.
"""

from __future__ import annotations

from botocore.endpoint import MAX_POOL_CONNECTIONS

from adapters.aws.limits import (
    LAMBDA_TIMEOUT_SECONDS,
    S3_READ_RPS_PER_PREFIX,
    S3_SMALL_REQUEST_LATENCY_MS,
    S3_WRITE_RPS_PER_PREFIX,
)
from domain.parquet_ranges import TAIL_BYTES
from domain.services.batch_slices import IO_THREADS

# "Tens of milliseconds": its lower end gives the highest rate, ten times it a slow request.
FASTEST_REQUEST_S = S3_SMALL_REQUEST_LATENCY_MS.value / 1000
SLOW_REQUEST_S = 10 * FASTEST_REQUEST_S


def test_the_parallel_footer_reads_and_slice_writes_stay_under_s3_request_rates() -> None:
    most_per_second = IO_THREADS / FASTEST_REQUEST_S
    assert most_per_second <= S3_READ_RPS_PER_PREFIX.value / 2  # half left for the tasks and Athena
    assert most_per_second <= S3_WRITE_RPS_PER_PREFIX.value / 2


def test_the_threads_fit_boto3s_connection_pool() -> None:
    # More threads than pooled connections would open and discard connections (and warn).
    assert MAX_POOL_CONNECTIONS >= IO_THREADS  # boto3's default, which the S3 client keeps


def test_a_footer_read_is_a_small_request() -> None:
    assert TAIL_BYTES < 512 * 1024  # "small" as the latency figure means it


def test_footers_of_ten_thousand_files_fit_one_lambda_invocation_when_every_request_is_slow() -> None:
    # 10,000 features files is ten times the seed's 900 source objects (Athena writes fewer),
    # and 10,000 batches the spec's default max_batches.
    files, batches = 10_000, 10_000
    requests = 2 * files + batches  # two GETs per footer at most, one PUT per batch
    seconds = requests * SLOW_REQUEST_S / IO_THREADS
    assert seconds < LAMBDA_TIMEOUT_SECONDS.value / 2, seconds
