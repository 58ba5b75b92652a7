"""The benchmark's rates: a stage's time as fixed + per-unit work, fitted over the row counts."""

from __future__ import annotations

import pytest

from benchmarks.rates import fit_line


def test_a_line_through_the_measured_points_is_found() -> None:
    fixed, slope = fit_line([(200_000, 1.5), (1_000_000, 5.5), (3_000_000, 15.5)])
    assert fixed == pytest.approx(0.5) and slope == pytest.approx(5e-6)


def test_small_runs_count_as_much_as_large_ones() -> None:
    # Weighted by 1/seconds^2: an error of 0.5 s on a 2 s run weighs as much as 5 s on a 20 s one.
    points = [(100_000, 2.0), (1_000_000, 11.0), (10_000_000, 100.0)]
    fixed, slope = fit_line(points)
    for units, seconds in points:
        assert abs(fixed + slope * units - seconds) / seconds < 0.1


def test_a_fit_never_gives_a_negative_time() -> None:
    fixed, slope = fit_line([(1_000, 5.0), (2_000, 1.0)])  # noise: slower on less data
    assert fixed >= 0 and slope >= 0
    fixed, slope = fit_line([(1_000_000, 1.0), (2_000_000, 3.0)])  # through zero: no negative fixed cost
    assert fixed == 0 and slope > 0


def test_one_row_count_gives_a_time_proportional_to_it() -> None:
    assert fit_line([(1_000_000, 4.0)]) == (0.0, 4e-6)
