"""The CLI's numbers are checked as it parses them: a usage error naming the flag, never a
traceback from deep inside the data generator."""

from __future__ import annotations

import pytest

from entrypoints.cli import parser


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--rows", "-5"], "argument --rows: must be >= 1, got -5"),
        (["demo", "--rows", "0"], "argument --rows: must be >= 1, got 0"),
        (["demo", "--rows", "1e6"], "argument --rows: '1e6' is not a whole number"),
        (["demo", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
        (["demo", "--malformed-fraction", "1.5"], "argument --malformed-fraction: must be within [0, 1], got 1.5"),
        (["demo", "--rows-per-batch", "0"], "argument --rows-per-batch: must be >= 1, got 0"),
        (["demo", "--max-concurrency", "0"], "argument --max-concurrency: must be >= 1, got 0"),
        (["query", "SELECT 1", "--limit", "-1"], "argument --limit: must be >= 0, got -1"),
    ],
)
def test_a_bad_number_is_a_usage_error_naming_its_flag(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_good_numbers_pass_through() -> None:
    args = parser().parse_args(["demo", "--rows", "1000", "--seed", "0", "--malformed-fraction", "0"])
    assert (args.rows, args.seed, args.malformed_fraction) == (1000, 0, 0.0)
