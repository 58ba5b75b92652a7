from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.spec import PipelineSpec
from tests.unit.conftest import spec_data


def test_defaults_fill_what_the_user_left_out() -> None:
    spec = PipelineSpec.model_validate(spec_data())
    assert spec.source.max_reject_ratio == 0.01
    assert spec.model.estimator == "lightgbm"
    assert spec.retry_for("prediction").max_attempts == 3


def test_unknown_key_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        PipelineSpec.model_validate(spec_data(model={"lable": "x"}))
    assert ("model", "lable") in [e["loc"] for e in err.value.errors()]


@pytest.mark.parametrize("table", ["Results", "drop table x;--", "1abc", "a-b", ""])
def test_table_name_must_be_a_safe_identifier(table: str) -> None:
    with pytest.raises(ValidationError, match="not a valid identifier"):
        PipelineSpec.model_validate(spec_data(output={"table": table}))


def test_stage_retry_overrides_the_default_key_by_key() -> None:
    spec = PipelineSpec.model_validate(
        spec_data(retry={"default": {"max_attempts": 5, "interval_seconds": 2.0}, "prediction": {"max_attempts": 7}})
    )
    assert spec.retry_for("prediction").max_attempts == 7
    assert spec.retry_for("prediction").interval_seconds == 2.0
    assert spec.retry_for("staging").max_attempts == 5


def test_retry_for_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown stage"):
        PipelineSpec.model_validate(spec_data(retry={"predictoin": {"max_attempts": 2}}))


def test_sql_may_only_use_its_own_placeholders() -> None:
    sql = {"features_sql": "SELECT * FROM {{ source }}"}
    with pytest.raises(ValidationError, match=r"features.sql refers to unknown table"):
        PipelineSpec.model_validate(spec_data(sql=sql))


def test_fingerprint_changes_with_the_sql_but_not_the_backend() -> None:
    base = PipelineSpec.model_validate(spec_data())
    other_sql = PipelineSpec.model_validate(
        spec_data(sql={"features_sql": "SELECT id, label, x + 1 AS x FROM {{ staging }}"})
    )
    other_backend = PipelineSpec.model_validate(spec_data(pipeline={"name": "demo", "backend": "aws"}))
    assert base.fingerprint() != other_sql.fingerprint()
    assert base.fingerprint() == other_backend.fingerprint()


def test_differences_compare_sql_by_role_and_text_not_by_file_name() -> None:
    base = PipelineSpec.model_validate(spec_data())
    renamed = PipelineSpec.model_validate(spec_data(sql={"staging": "/abs/staging.sql", "features": "f2.sql"}))
    assert base.fingerprints() != renamed.fingerprints()  # the file names are part of those
    assert base.differences(renamed) == []
    edited = PipelineSpec.model_validate(
        spec_data(sql={"features_sql": "SELECT id, label, x * 2 AS x FROM {{ staging }}"}, model={"seed": 7})
    )
    assert base.differences(edited) == ["features SQL", "model"]


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ("batchml_tables", "reserved for batchml's own tables"),
        ("batchml_anything", "reserved"),
        ("__in_source", "reserved"),
        ("_private", "reserved"),
        ("ages__0a1b2c3d", "reserved"),
        ("staging", "the name of a run's own table"),
        ("a" * 121, "at most 120"),
    ],
)
def test_reserved_and_internal_table_names_are_refused(table: str, why: str) -> None:
    """`table = "batchml_tables"` passed validation and failed late, after three retries."""
    with pytest.raises(ValueError, match=why):
        PipelineSpec.model_validate(spec_data(output={"table": table}))
