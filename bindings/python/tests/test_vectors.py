"""Runs every shared test vector (tests/vectors/*.json) against the component."""

import json

import pytest
from conftest import vectors

from bachata_common import policy

CONFIG = vectors("config.json")["cases"]
ERRORS = vectors("errors.json")
MONITOR = vectors("monitor.json")

#: ``ranking-totals`` before the first page.
ZERO_TOTALS = {
    "judged": 0,
    "with-relevant": 0,
    "precision-sum": 0.0,
    "recall-sum": 0.0,
    "hits": 0,
    "reciprocal-rank-sum": 0.0,
    "ndcg-sum": 0.0,
    "first-relevant": 0,
}


def secret_store(secrets: dict):
    """``host-secrets`` as a vector describes it: ``some`` when listed, ``none`` otherwise."""
    return lambda _project, name: secrets.get(name)


def subset(actual: dict, wanted: dict) -> dict:
    """The keys of ``actual`` that ``wanted`` lists."""
    return {key: actual.get(key) for key in wanted}


def close(value):
    """``value`` with every float made ``pytest.approx`` (absolute tolerance 1e-9), recursively."""
    if isinstance(value, float):
        return pytest.approx(value, abs=1e-9, rel=0)
    if isinstance(value, list):
        return [close(item) for item in value]
    if isinstance(value, dict):
        return {key: close(item) for key, item in value.items()}
    return value


def as_lists(pairs) -> list:
    """Tuples to lists, to compare with JSON."""
    return [list(pair) for pair in pairs]


@pytest.mark.parametrize("case", CONFIG, ids=[case["name"] for case in CONFIG])
def test_config(case):
    result = policy.load_config(case["env"], case["dotenv"], secret_store(case.get("secrets", {})))
    expect = case["expect"]
    if "settings" in expect:
        assert result["tag"] == "ok", result["val"]
        settings = {setting["name"]: setting for setting in result["val"]["settings"]}
        missing = sorted(set(expect["settings"]) - set(settings))
        assert not missing, f"settings not reported: {missing}"
        actual = {name: subset(settings[name], wanted) for name, wanted in expect["settings"].items()}
        assert actual == expect["settings"]
    else:
        assert result["tag"] == "err", result["val"]["settings"]
        error, wanted = result["val"], expect["error"]
        assert error["error"]["error-code"] == wanted["error-code"], error["error"]["message"]
        actual = [subset(problem, want) for problem, want in zip(error["problems"], wanted["problems"])]
        assert len(error["problems"]) == len(wanted["problems"]), error["problems"]
        assert actual == wanted["problems"]


@pytest.mark.parametrize(
    "entry", ERRORS["messages"], ids=[f"{e['error-code']}/{e['error-type']}" for e in ERRORS["messages"]]
)
def test_user_friendly_message(entry):
    assert policy.user_friendly_message(entry["error-code"], entry["error-type"]) == entry["message"]


@pytest.mark.parametrize(
    "entry", ERRORS["http-status"], ids=[e["error-code"] or "empty" for e in ERRORS["http-status"]]
)
def test_http_status(entry):
    assert policy.http_status(entry["error-code"]) == entry["status"]


@pytest.mark.parametrize(
    "case", ERRORS["make-error"], ids=[f"{c['kind']['tag']}: {c['message']}" for c in ERRORS["make-error"]]
)
def test_make_error_and_problem_json(case):
    error = policy.make_error(case["kind"], case["message"], case["details"])
    expect = case["expect"]
    assert error["error-code"] == expect["error-code"]
    assert error["message"] == expect["message"]
    assert as_lists(error["details"]) == expect["details"]
    assert error["kind"] == case["kind"]
    for problem in case["problem"]:
        document = json.loads(policy.problem_json(error, problem["error-type"], problem["instance"]))
        assert document == problem["json"]


def test_catalog():
    entries = policy.catalog()
    assert len(entries) == ERRORS["catalog"]["count"]
    for entry in ERRORS["catalog"]["contains"]:
        assert entry in entries


def names(cases):
    return [case["name"] for case in cases]


@pytest.mark.parametrize("case", MONITOR["satisfaction"], ids=names(MONITOR["satisfaction"]))
def test_monitor_satisfaction(case):
    assert policy.monitor_satisfaction(case["feedback"]) == close(case["expect"])


@pytest.mark.parametrize("case", MONITOR["summarize"], ids=names(MONITOR["summarize"]))
def test_monitor_summarize(case):
    operational = policy.monitor_summarize(case["window"], case["top"])
    assert subset(operational, case["expect"]) == close(case["expect"])


@pytest.mark.parametrize(
    "entry", MONITOR["relevance"], ids=[f"{e['feedback-type'] or 'empty'}={e['value']}" for e in MONITOR["relevance"]]
)
def test_monitor_relevance(entry):
    assert policy.monitor_relevance(entry["feedback-type"], entry["value"]) is entry["expect"]


@pytest.mark.parametrize("case", MONITOR["rank"], ids=names(MONITOR["rank"]))
def test_monitor_rank_and_ranking(case):
    totals = case.get("totals", ZERO_TOTALS)
    for page in case["pages"]:
        totals = policy.monitor_rank(case["k"], totals, page)
    assert totals == close(case["expect"]["totals"])
    assert policy.monitor_ranking(case["k"], totals) == close(case["expect"]["metrics"])


@pytest.mark.parametrize("case", MONITOR["daily"], ids=names(MONITOR["daily"]))
def test_monitor_daily(case):
    assert policy.monitor_daily(case["days"]) == close(case["expect"])
