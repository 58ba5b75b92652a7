"""`python -m benchmarks.profile` without py-spy says what is missing before generating data
(it was a FileNotFoundError traceback after the data set was built)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.profile import main


def test_a_missing_py_spy_is_a_one_line_error_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "bench"), "--py-spy", str(tmp_path / "no-such-py-spy")])
    assert exit_info.value.code == 2
    assert "py-spy not found" in capsys.readouterr().err
    assert not (tmp_path / "bench").exists()  # no data generated
