"""The options a new business sets: build vars from the CLI and the baseline rule of the gate."""

from __future__ import annotations

import pytest

from segment_and_predict.cli import main
from segment_and_predict.data.datasets import cdnow
from segment_and_predict.dbt.jobs import job_vars, parse_dbt_vars
from segment_and_predict.ml.propensity import (
    beats_baselines,
    parse_bool_var,
    passes_quality_gate,
)

METRICS = {"roc_auc": 0.849, "pr_auc": 0.39, "f1": 0.42}
RULE_EDGES_PAST = {
    "logistic_regression": {"roc_auc": 0.847, "pr_auc": 0.397},
    "recency_frequency_rule": {"roc_auc": 0.850, "pr_auc": 0.377},
}
GATE = {"roc_auc": 0.80, "pr_auc": 0.30, "f1": 0.33}


def test_a_model_level_with_the_rule_passes_only_when_beating_it_is_not_required():
    assert not beats_baselines(METRICS, RULE_EDGES_PAST)
    assert not passes_quality_gate(METRICS, RULE_EDGES_PAST, GATE)
    assert passes_quality_gate(METRICS, RULE_EDGES_PAST, GATE, must_beat_baselines=False)
    # the thresholds still hold without the baseline requirement
    strict = {**GATE, "pr_auc": 0.45}
    assert not passes_quality_gate(METRICS, RULE_EDGES_PAST, strict, must_beat_baselines=False)
    weaker = {"rule": {"roc_auc": 0.8, "pr_auc": 0.3}}
    assert beats_baselines(METRICS, weaker) and passes_quality_gate(METRICS, weaker, GATE)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("True", True), ("false", False), (" FALSE ", False)],
)
def test_boolean_vars_read_as_dbt_renders_them(value, expected):
    assert parse_bool_var("propensity_gate_must_beat_baselines", value) is expected


@pytest.mark.parametrize("value", ["no", "0", "", None, 1])
def test_other_boolean_var_values_are_refused_by_name(value):
    with pytest.raises(ValueError, match="propensity_gate_must_beat_baselines must be true or"):
        parse_bool_var("propensity_gate_must_beat_baselines", value)


def test_build_vars_parse_as_a_yaml_mapping():
    assert parse_dbt_vars("{propensity_gate_min_f1: 0.33, flag: false}") == {
        "propensity_gate_min_f1": 0.33,
        "flag": False,
    }
    assert parse_dbt_vars("") == {}
    assert job_vars("2026-11-01", {"x": 1}) == {"x": 1, "as_of_date": "2026-11-01"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must be a mapping"),
        ("{a: [}", "not valid YAML"),
        ("{as_of_date: 2026-11-01}", "give as_of_date with --as-of-date"),
        ("{raw_data_path: /x}", "give raw_data_path with --raw-data-path"),
    ],
)
def test_cli_refuses_bad_vars_before_running_dbt(text, message, capsys, tmp_path):
    code = main(["build", "--raw-data-path", str(tmp_path), "--vars", text])
    assert code == 2
    assert message in capsys.readouterr().err


def test_convert_cdnow_explains_a_failed_download(monkeypatch, capsys, tmp_path):
    def no_pypi(dest_dir):
        raise cdnow.CdnowDownloadError("could not download the lifetimes wheel from PyPI")

    monkeypatch.setattr(cdnow, "download_cdnow_master", no_pypi)
    assert main(["convert-cdnow", "--out", str(tmp_path)]) == 2
    assert "could not download the lifetimes wheel" in capsys.readouterr().err
