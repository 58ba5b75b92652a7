"""The CLI's own handling of what users type and do: numbers checked as they are parsed (a
usage error naming the flag, never a traceback from deep inside the data generator), and
Ctrl-C ending in what to do next."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from entrypoints import containers
from entrypoints.cli import main, parser

HOUSES = Path(__file__).resolve().parents[1] / "e2e" / "houses"


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


def test_ctrl_c_ends_with_the_resume_command_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "listings.jsonl").write_text('{"listing_id": "L1", "rooms": 2}\n')

    class Interrupting:
        def execute(self, state: object) -> object:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-stage

    monkeypatch.setattr(containers, "orchestrator", lambda *_args: Interrupting())
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["run", str(tmp_path / "spec.toml")]) == 130
    out = capsys.readouterr().err
    assert "Traceback" not in out
    match = re.search(r"interrupted: run (\S+) stopped; the published results are unchanged\. Resume it: (.+)", out)
    assert match is not None, out
    assert match.group(2) == f"batchml run {tmp_path / 'spec.toml'} --resume {match.group(1)}"


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ("garbage", "BATCHML_FAULTS='garbage': fault rule 'garbage' is not understood"),
        ("stage=PUBLISH:permanent", "no stage 'PUBLISH'"),
        ("batch=-1:transient=1", "a batch is a number from 0"),
        ("kill=after_batches:0", "kill=after_batches:N with N >= 1"),
        ("batch=10000:permanent", "batches are numbered 0 to 9999"),
    ],
)
def test_a_bad_fault_plan_is_refused_before_anything_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], faults: str, message: str
) -> None:
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "listings.jsonl").write_text('{"listing_id": "L1", "rooms": 2}\n')
    monkeypatch.setenv("BATCHML_FAULTS", faults)
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["run", str(tmp_path / "spec.toml")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.rglob("_lock.json*")) and not list(tmp_path.rglob("run.json"))
