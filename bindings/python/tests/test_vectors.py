"""Runs every shared test vector (tests/vectors/*.json) against the component."""

import json
import math

import pytest
from conftest import vectors

from bachata_common import _component, policy

CONFIG = vectors("config.json")["cases"]
ERRORS = vectors("errors.json")
MONITOR = vectors("monitor.json")
GROWTHBOOK = vectors("growthbook.json")
EXPERIMENTS = vectors("experiments.json")
ORGANIZER = vectors("organizer.json")
EVENTS = vectors("events.json")
COUPLE = vectors("couple.json")["cases"]

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


def truncated(value):
    """``value`` truncated to 8 decimal places, recursively, as GrowthBook's ``json.test.ts`` rounds
    both sides (``Math.floor(n * 1e8) / 1e8``)."""
    if isinstance(value, (list, tuple)):
        return [truncated(item) for item in value]
    return math.floor(value * 1e8) / 1e8


def within(decimals: int):
    """The tolerance of a value rounded to ``decimals`` places: half a unit of that place."""
    return 0.5 * 10.0**-decimals + 1e-12


def near(value, decimals: int):
    """``value`` (a number or ``None``) to compare within :func:`within` ``decimals``."""
    return None if value is None else pytest.approx(value, abs=within(decimals), rel=0)


@pytest.mark.parametrize(
    "seed, value, version, expect",
    GROWTHBOOK["hash"],
    ids=[f"v{version}: {seed!r} {value!r}" for seed, value, version, _ in GROWTHBOOK["hash"]],
)
def test_growthbook_hash(seed, value, version, expect):
    assert policy.experiments_hash(seed, value, version) == expect


@pytest.mark.parametrize(
    "name, arguments, expect", GROWTHBOOK["getBucketRange"], ids=[row[0] for row in GROWTHBOOK["getBucketRange"]]
)
def test_growthbook_bucket_ranges(name, arguments, expect):
    count, coverage, weights = arguments
    assert truncated(policy.experiments_bucket_ranges(count, coverage, weights)) == truncated(expect)


@pytest.mark.parametrize(
    "name, n, ranges, expect", GROWTHBOOK["chooseVariation"], ids=[row[0] for row in GROWTHBOOK["chooseVariation"]]
)
def test_growthbook_choose_variation(name, n, ranges, expect):
    assert policy.experiments_choose_variation(n, ranges) == expect


@pytest.mark.parametrize(
    "name, unit, namespace, expect", GROWTHBOOK["inNamespace"], ids=[row[0] for row in GROWTHBOOK["inNamespace"]]
)
def test_growthbook_in_namespace(name, unit, namespace, expect):
    namespace_id, start, end = namespace
    assert policy.experiments_in_namespace(unit, {"id": namespace_id, "start": start, "end": end}) is expect


@pytest.mark.parametrize(
    "count, expect", GROWTHBOOK["getEqualWeights"], ids=[str(row[0]) for row in GROWTHBOOK["getEqualWeights"]]
)
def test_growthbook_equal_weights(count, expect):
    assert truncated(policy.experiments_equal_weights(count)) == truncated(expect)


#: The fields of a comparison an ``analyze`` case may list, besides the estimates.
COMPARISON_VALUES = ("control-mean", "mean")
#: The estimates of a comparison an ``analyze`` case may list (records, or ``null`` for none).
COMPARISON_ESTIMATES = ("relative", "absolute", "bayesian")


@pytest.mark.parametrize("case", EXPERIMENTS["analyze"], ids=names(EXPERIMENTS["analyze"]))
def test_experiments_analyze(case):
    definition = {**EXPERIMENTS["definition"], "success-metrics": case["success-metrics"]}
    analysis_input = {"definition": definition, "arms": case["arms"], "multi-exposed": 0, "correction": "none"}
    result = policy.experiments_analyze(analysis_input)
    assert result["tag"] == "ok", result["val"]
    comparison, expect, decimals = result["val"]["comparisons"][0], case["expect"], case["decimals"]
    unknown = sorted(set(expect) - set(COMPARISON_VALUES) - set(COMPARISON_ESTIMATES))
    assert not unknown, f"fields the runner does not know: {unknown}"
    actual, wanted = {}, {}
    for field in COMPARISON_VALUES:
        if field in expect:
            actual[field], wanted[field] = comparison[field], near(expect[field], decimals)
    for field in COMPARISON_ESTIMATES:
        if field not in expect:
            continue
        estimate, fields = comparison[field], expect[field]
        if fields is None:
            actual[field], wanted[field] = estimate, None
        else:
            assert estimate is not None, f"{field} is none: {comparison['problem']}"
            actual[field] = subset(estimate, fields)
            wanted[field] = {key: near(value, decimals) for key, value in fields.items()}
    assert actual == wanted


@pytest.mark.parametrize("case", EXPERIMENTS["sample-ratio-p"], ids=names(EXPERIMENTS["sample-ratio-p"]))
def test_experiments_sample_ratio_p(case):
    assert policy.experiments_sample_ratio_p(case["units"], case["weights"]) == near(case["expect"], case["decimals"])


@pytest.mark.parametrize("case", EXPERIMENTS["adjust"], ids=names(EXPERIMENTS["adjust"]))
def test_experiments_adjust(case):
    adjusted = policy.experiments_adjust(case["p-values"], case["correction"])
    assert adjusted == [near(value, case["decimals"]) for value in case["expect"]]


def mapping(value):
    """A vector's mapping: the component's stock mapping when ``null``."""
    return policy.organizer_stock_mapping() if value is None else value


def test_organizer_stock_mapping():
    assert policy.organizer_stock_mapping() == ORGANIZER["stock-mapping"]


@pytest.mark.parametrize(
    "label, expect", ORGANIZER["normalize-label"], ids=[repr(row[0]) for row in ORGANIZER["normalize-label"]]
)
def test_organizer_normalize_label(label, expect):
    assert policy.organizer_normalize_label(label) == expect


def categorize_id(case) -> str:
    """A ``categorize`` case's test id: its label, and what it adds to the stock mapping."""
    suffix = "" if case["mapping"] is None else " (own mapping)"
    if case["default-category"] is not None:
        suffix += f" (default {case['default-category']})"
    return repr(case["label"]) + suffix


@pytest.mark.parametrize("case", ORGANIZER["categorize"], ids=[categorize_id(case) for case in ORGANIZER["categorize"]])
def test_organizer_categorize(case):
    got = policy.organizer_categorize(case["label"], mapping(case["mapping"]), case["default-category"])
    assert (None if got is None else list(got)) == case["expect"]


@pytest.mark.parametrize("case", ORGANIZER["check-mapping"], ids=names(ORGANIZER["check-mapping"]))
def test_organizer_check_mapping(case):
    result = policy.organizer_check_mapping(mapping(case["mapping"]))
    if case["expect"] == "ok":
        assert result["tag"] == "ok", result.get("val")
    else:
        assert result["tag"] == "err", result
        assert result["val"]["error-code"] == case["expect"], result["val"]["message"]


#: The fields of a ``placement`` a ``plan`` case may list (``reason`` is not compared).
PLACEMENT_FIELDS = ("clip-id", "current-path", "target-path", "target-category", "status")


@pytest.mark.parametrize("case", ORGANIZER["plan"], ids=names(ORGANIZER["plan"]))
def test_organizer_plan(case):
    result = policy.organizer_plan(case["clips"], mapping(case["mapping"]), case["default-category"])
    if isinstance(case["expect"], str):
        assert result["tag"] == "err", result
        assert result["val"]["error-code"] == case["expect"], result["val"]["message"]
        return
    assert result["tag"] == "ok", result["val"]
    placements, expect = result["val"], case["expect"]
    assert len(placements) == len(expect), placements
    for placement, wanted in zip(placements, expect):
        unknown = sorted(set(wanted) - set(PLACEMENT_FIELDS))
        assert not unknown, f"fields the runner does not know: {unknown}"
        assert subset(placement, wanted) == wanted


def exact(value):
    """``value`` to compare exactly: every number a float with its sign (so ``-0.0`` is not
    ``0.0``), tuples as lists, recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return (float(value), math.copysign(1.0, value))
    if isinstance(value, (list, tuple)):
        return [exact(item) for item in value]
    return {key: exact(item) for key, item in value.items()}


def sent(base: dict, events: list) -> list:
    """A case's events: each the file's base record with the case's fields in their place."""
    return [{**base, **event} for event in events]


@pytest.mark.parametrize("case", EVENTS["check-decisions"], ids=names(EVENTS["check-decisions"]))
def test_events_check_decisions(case):
    decisions = sent(EVENTS["decision"], case["events"])
    result = _component.call("events", "check-decisions", decisions, EVENTS["now"], case["batch-start"])
    assert exact(result) == exact(case["expect"])


@pytest.mark.parametrize("case", EVENTS["check-feedback"], ids=names(EVENTS["check-feedback"]))
def test_events_check_feedback(case):
    feedback = sent(EVENTS["feedback"], case["events"])
    result = _component.call("events", "check-feedback", feedback, EVENTS["now"], case["batch-start"])
    assert exact(result) == exact(case["expect"])


@pytest.mark.parametrize("case", EVENTS["refused"], ids=names(EVENTS["refused"]))
def test_events_refused(case):
    error = _component.call("events", "refused", case["refusal"], case["index"])
    assert exact(error) == exact(case["expect"])


#: The tracker's state before a video's first frame.
NO_TRACKS = {"tracks": [], "next-id": 0}


@pytest.mark.parametrize("case", COUPLE, ids=names(COUPLE))
def test_couple_frame_by_frame(case):
    state = NO_TRACKS
    for boxes, expect in zip(case["frames"], case["expect"], strict=True):
        result = _component.call("couple", "update", state, [boxes], case["config"])
        assert result["tag"] == "ok", result["val"]
        state, (roles,) = result["val"]
        assert roles == expect
        lead_follow = _component.call("couple", "lead-follow", boxes)
        assert lead_follow == {"tag": "ok", "val": {"lead": expect["lead"], "follow": expect["follow"]}}
    assert exact(state) == exact(case["state"])


@pytest.mark.parametrize("case", COUPLE, ids=names(COUPLE))
def test_couple_all_frames_in_one_call(case):
    result = _component.call("couple", "update", NO_TRACKS, case["frames"], case["config"])
    assert result["tag"] == "ok", result["val"]
    state, roles = result["val"]
    assert roles == case["expect"]
    assert exact(state) == exact(case["state"])


@pytest.mark.parametrize("case", COUPLE, ids=names(COUPLE))
def test_couple_person_tracker(case):
    """The video service's ``PersonTracker`` (the policy deciding) gives each detection its id
    and keeps the state in its dicts as the original did."""
    from bachata_common.couple import PersonPose, PersonTracker

    tracker = PersonTracker(iou_threshold=case["config"]["iou-threshold"])
    tracker.max_age = case["config"]["max-age"]
    for frame_idx, (boxes, expect) in enumerate(zip(case["frames"], case["expect"], strict=True)):
        detections = [
            PersonPose(person_id=-1, keypoints=None, bbox=[box["x1"], box["y1"], box["x2"], box["y2"]],
                       confidence=0.9, frame_idx=frame_idx)
            for box in boxes
        ]
        updated = tracker.update(detections, frame_idx)
        assert [detection.person_id for detection in updated] == expect["ids"]
    state = {
        "tracks": [
            {"id": track_id, "bbox": dict(zip(("x1", "y1", "x2", "y2"), bbox)), "unseen": tracker.track_ages[track_id]}
            for track_id, bbox in tracker.tracks.items()
        ],
        "next-id": tracker.next_id,
    }
    assert list(tracker.track_ages) == list(tracker.tracks)
    assert exact(state) == exact(case["state"])
