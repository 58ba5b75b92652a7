"""`batchml validate`: the checks it makes before a run, in process, on the houses example:
the real staging and features stages on a sample, in a folder that is thrown away."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from entrypoints.cli import main
from tests.e2e.projects import houses_project, listing_lines, write_lines

pytestmark = pytest.mark.integration


def validate(spec: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", str(spec), *args])
    captured = capsys.readouterr()
    return code, " ".join(captured.out.split()), " ".join(captured.err.split())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_good_spec_is_dry_run_on_a_sample_and_nothing_is_left_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = houses_project(tmp_path, 300)
    with (tmp_path / "data" / "listings.jsonl").open("a") as lines:
        lines.write("not json\n")

    code, out, err = validate(spec, capsys, "--sample", "2000")

    assert (code, err) == (0, "")
    assert f"{spec}: valid (pipeline houses, results table house_prices)" in out
    assert "dry run on the first 301 source lines: 300 staged, 1 rejected (1 invalid_json)" in out
    match = re.search(r"features: (\d+) rows labelled \(sale_price\), (\d+) to score; 5 feature columns", out)
    assert match is not None, out
    assert int(match.group(1)) + int(match.group(2)) == 300
    assert "(1 categorical): city, rooms, area_m2, age_years, m2_per_room" in out
    assert not (tmp_path / "lake").exists()  # the dry run wrote only to its own temporary folder


def test_the_sample_is_the_first_lines_across_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = houses_project(tmp_path, 0)
    write_lines(tmp_path / "data" / "a.jsonl.gz", listing_lines(30, seed=1), gz=True)
    write_lines(tmp_path / "data" / "b.jsonl", listing_lines(30, seed=2))

    code, out, _ = validate(spec, capsys, "--sample", "45")

    assert code == 0
    assert "dry run on the first 45 source lines: 45 staged, 0 rejected" in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("spec.toml", 'label = "sale_price"', 'label = "sale_prise"'),
            "dry run on the first 1,000 source lines: [features] features.sql must return the id column "
            "'listing_id' and the label 'sale_prise'; missing ['sale_prise']",
        ),
        (
            ("spec.toml", 'label = "sale_price"', 'label = "city"'),
            "the label 'city' is string; a regression needs a number: cast it in the features SQL",
        ),
        (
            ("features.sql", "FROM {{ staging }}", "FROM {{ staging }} WHERE"),
            "features.sql: SQL does not parse as Athena/Trino SQL: WHERE is not followed by its condition or "
            "expression at line 9, column 18, after '...0 THEN area_m2 / rooms END AS m2_per_room FROM staging WHERE'",
        ),
        (
            ("features.sql", "    2025 - built AS age_years,\n", "    current_date AS listed,\n"),
            "feature type date32[day] is not supported; cast it to a number, boolean or varchar in the features SQL",
        ),
    ],
    ids=["label typo", "string label", "syntax error", "date feature"],
)
def test_mistakes_are_found_before_a_run_naming_what_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str, str], expected: str
) -> None:
    spec = houses_project(tmp_path, 200)
    file, old, new = change
    edit(tmp_path / file, old, new)

    code, out, err = validate(spec, capsys)

    assert (code, out) == (2, "")
    assert expected in err


def test_sample_zero_checks_the_spec_and_sql_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = houses_project(tmp_path, 0)  # no data at all: nothing reads it
    code, out, _ = validate(spec, capsys, "--sample", "0")
    assert code == 0
    assert "valid (pipeline houses" in out and "dry run" not in out


def test_a_source_with_no_lines_is_an_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = houses_project(tmp_path, 0)
    (tmp_path / "data").mkdir()
    code, _, err = validate(spec, capsys)
    assert code == 2
    assert f"[source] path: {tmp_path / 'data'} has no lines to read" in err


def test_a_wide_features_select_lists_its_first_columns_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = houses_project(tmp_path, 100)
    extra = "".join(f"    rooms * {i} AS extra_{i:02d},\n" for i in range(30))
    edit(tmp_path / "features.sql", "    rooms,\n", "    rooms,\n" + extra)

    code, out, _ = validate(spec, capsys)

    assert code == 0
    assert "35 feature columns (1 categorical): city, rooms, extra_00," in out
    assert "extra_22, ... (10 more)" in out and "extra_23" not in out


def test_a_reserved_results_table_name_is_refused_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to pass, and the run failed late in publish, after three retries."""
    spec = houses_project(tmp_path, 50, output={"table": "batchml_tables"})
    code, _out, err = validate(spec, capsys)
    assert code == 2
    assert "[output] table: results table name 'batchml_tables' is reserved for batchml's own tables" in err


def test_an_output_root_through_a_symlink_or_out_of_the_spec_folder_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both used to be followed without a word."""
    project = tmp_path / "project"
    project.mkdir()
    elsewhere = tmp_path / "big-disk" / "lake"
    elsewhere.mkdir(parents=True)
    (project / "lake").symlink_to(elsewhere)
    spec = houses_project(project, 50, output={"root": "lake"})
    _code, out, _err = validate(spec, capsys)
    assert f"note: [output] root 'lake' is {elsewhere} (a symbolic link leads there)" in out
    edit(spec, 'root = "lake"', 'root = "../outside"')
    _code, out, _err = validate(spec, capsys)
    assert f"note: [output] root '../outside' is {tmp_path / 'outside'}, outside the spec's folder" in out
    edit(spec, 'root = "../outside"', 'root = "nested/../lake2"')
    _code, out, _err = validate(spec, capsys)
    assert "note:" not in out  # stays in the spec's folder, no link: nothing to say


def test_a_lightgbm_parameter_it_refuses_is_one_line_naming_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """LightGBM prints its refusal to the process's stderr (descriptor 2, with a C++ source
    path) before raising it: validate says it once, as its own error line."""
    spec = houses_project(tmp_path, 0)
    edit(spec, 'estimator = "ridge"', 'estimator = "lightgbm"')
    edit(spec, "alpha = 1.0", "num_leaves = 1")

    code = main(["validate", str(spec), "--sample", "0"])

    captured = capfd.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.strip().splitlines() == [
        f"error: {spec}: [model] params: LightGBM refuses them: Check failed: (num_leaves) > (1)"
    ]
