"""The low-level API: capabilities this host does not lend, the component path, threads."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bachata_common import CapabilityUnavailable, policy

CLEANUP_SETTINGS = {
    "max-temp-age-hours": 24,
    "max-cache-size-gb": 5,
    "cache-low-water-ratio": 0.8,
    "memory-warning-threshold": 0.85,
    "disk-warning-threshold": 0.9,
    "memory-critical-threshold": 0.9,
}


def test_cleanup_run_needs_host_fs():
    with pytest.raises(CapabilityUnavailable, match="host-fs is not available in this host"):
        policy.cleanup_run(CLEANUP_SETTINGS, now=1_700_000_000, dry_run=True)


def test_pose_detect_reports_that_host_pose_is_not_available():
    yolo = policy.load_config({})["val"]["yolo"]
    frame = {"id": 1, "width": 640, "height": 480, "scale": 1.0, "pad-x": 0.0, "pad-y": 80.0}
    result = policy.pose_detect([frame], yolo)
    assert result["tag"] == "err"
    assert result["val"]["error-code"] == "MOVE_ANALYSIS_ERROR"
    assert "host-pose is not available in this host" in result["val"]["message"]


def test_cleanup_assess_is_pure():
    snapshot = {
        "taken-at": 0,
        "memory": {"total": 100, "available": 5, "used": 95, "used-ratio": 0.95, "container-limited": False},
        "disk": {"total": 100, "free": 50, "used": 50, "used-ratio": 0.5},
        "cpu-ratio": 0.1,
        "load-average": (0.1, 0.1, 0.1),
        "areas": [],
    }
    assessment = policy.cleanup_assess(CLEANUP_SETTINGS, snapshot)
    assert assessment["emergency-cleanup"] is True
    assert [(w["resource"], w["level"]) for w in assessment["warnings"]] == [("memory", "critical")]


def test_code_of_and_compact_problem_json():
    assert policy.code_of({"tag": "service-unavailable", "val": None}) == "SERVICE_UNAVAILABLE_ERROR"
    text = policy.problem_json(policy.make_error({"tag": "generation"}, "m"))
    assert json.loads(text)["status"] == 500
    assert ": " not in text and ", " not in text


def test_calls_from_many_threads():
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(policy.http_status, ["VALIDATION_ERROR", "RESOURCE_ERROR"] * 16))
    assert statuses == [400, 503] * 16


def test_bachata_policy_names_the_component_file(tmp_path):
    script = "from bachata_common import policy; print(policy.http_status('VALIDATION_ERROR'))"
    env = {**os.environ, "BACHATA_POLICY": str(tmp_path / "missing.wasm")}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "PolicyNotFound" in run.stderr and "missing.wasm" in run.stderr
