"""Threads per task role: training gets every core, a prediction task its own fixed size."""

from __future__ import annotations

import os

import pytest

from domain.errors import SpecError
from entrypoints.settings import Settings


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    monkeypatch.delenv("BATCHML_PREDICT_THREADS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_environment()


def test_a_prediction_task_is_one_thread_whatever_the_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    settings = _settings(monkeypatch)
    for concurrency in (1, 2, 8):
        env = settings.thread_environment(concurrency)
        assert env["predict"]["OMP_NUM_THREADS"] == "1"
        assert env["predict"]["BATCHML_DUCKDB_THREADS"] == "1"
        assert env["train"]["OMP_NUM_THREADS"] == "8"


def test_predict_threads_never_oversubscribe_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    settings = _settings(monkeypatch, BATCHML_PREDICT_THREADS="4")
    assert settings.thread_environment(1)["predict"]["OMP_NUM_THREADS"] == "4"
    assert settings.thread_environment(4)["predict"]["OMP_NUM_THREADS"] == "2"


def test_openmp_spins_briefly_instead_of_never_or_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _settings(monkeypatch).thread_environment(2)
    for role in ("train", "predict"):
        assert env[role]["GOMP_SPINCOUNT"] == "10000"
        assert "OMP_WAIT_POLICY" not in env[role]


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
@pytest.mark.parametrize("name", ["BATCHML_PREDICT_THREADS", "BATCHML_DUCKDB_THREADS", "BATCHML_TASK_ATTEMPT"])
def test_a_bad_number_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, bad: str) -> None:
    with pytest.raises(SpecError, match=f"{name}='{bad}': expected a whole number of at least 1"):
        _settings(monkeypatch, **{name: bad})
