"""The low-level API: capabilities this host does not lend, the component path, threads."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import wasmtime
from wasmtime import component as wc

from bachata_common import CapabilityUnavailable, _component, _values, policy

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


def test_cleanup_run_takes_its_options_as_keywords():
    with pytest.raises(CapabilityUnavailable, match="host-fs is not available in this host"):
        policy.cleanup_run(CLEANUP_SETTINGS, now=1_700_000_000, force=True, dry_run=False, max_samples=10)


def test_open_scan_errs_with_an_io_error():
    """``host-fs.open-scan`` has an error case, so it answers with it (as a value of the type the
    component imports) instead of trapping."""
    loaded = _component._loaded().part("cleanup")
    host_fs = loaded.component.type.imports(loaded.engine)[loaded.imported["host-fs"]]
    open_scan = host_fs.ty.exports(loaded.engine)["open-scan"].ty
    answer = _component.HOST_FUNCTIONS["host-fs"]["open-scan"]("temp")
    assert answer == {"tag": "err", "val": {"tag": "io", "val": "host-fs is not available in this host"}}
    assert _values.lift(open_scan.result, _values.lower(open_scan.result, answer)) == answer


#: A component that imports ``host-fs``'s ``scan`` resource and calls ``scan.next`` on the scan it
#: is given: the stock policy cannot reach ``next`` here, since it never gets a scan.
SCAN_NEXT_CALLER = r"""
(component
  (import "bachata:common/host-fs@1.2.0" (instance $fs
    (export "scan" (type $scan (sub resource)))
    (export "[method]scan.next" (func (param "self" (borrow $scan)) (param "max" u32) (result u32)))
  ))
  (alias export $fs "scan" (type $scan))
  (alias export $fs "[method]scan.next" (func $next))
  (core func $next-lowered (canon lower (func $next)))
  (core module $m
    (import "fs" "next" (func $next (param i32 i32) (result i32)))
    (func (export "next-of") (param i32) (result i32)
      local.get 0
      i32.const 10
      call $next))
  (core instance $fs-core (export "next" (func $next-lowered)))
  (core instance $i (instantiate $m (with "fs" (instance $fs-core))))
  (func (export "next-of") (param "scan" (own $scan)) (result u32)
    (canon lift (core func $i "next-of")))
)
"""


def test_scan_resource_links_and_its_next_method_traps():
    assert _component.VERSION in SCAN_NEXT_CALLER
    loaded = _component._Policy(wasmtime.wat2wasm(SCAN_NEXT_CALLER))
    store = wasmtime.Store(loaded.engine)
    store.set_epoch_deadline(100)  # the engine interrupts by epoch; a raw store sets its own deadline
    instance = loaded.linker.instantiate(store, loaded.component)
    next_of = instance.get_func(store, loaded.component.get_export_index("next-of"))
    scan = wc.ResourceHost.own(1, loaded.host_resources[("host-fs", "scan")])
    with pytest.raises(CapabilityUnavailable, match="host-fs is not available in this host"):
        next_of(store, scan)


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
