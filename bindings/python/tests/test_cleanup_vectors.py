"""``tests/vectors/cleanup.json`` through the Python host: each case's tree built on disk, the
component's ``cleanup.run`` over it with this host lending ``host-fs``, the report and the disk
compared with the case — the same file the native host runs (``tests/e2e/cleanup_vectors.rs``)."""

import fcntl
import os
import time

import pytest
from conftest import vectors

from bachata_common import ResourceManager
from bachata_common.fs import names

CLEANUP = vectors("cleanup.json")


def on_disk(root, path: str) -> bytes:
    """A vector path (names in the hosts' form) under ``root``, as bytes."""
    return os.path.join(os.fsencode(root), *(names.decode(part) for part in path.split("/")))


def build(root, tree) -> list[int]:
    """Builds a case's tree; returns the descriptors holding its locks."""
    for entry in tree:
        path = on_disk(root, entry["path"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if entry.get("directory"):
            os.makedirs(path, exist_ok=True)
        elif "symlink" in entry:
            os.symlink(entry["symlink"], path)
        else:
            with open(path, "wb") as file:
                file.write(b"x" * entry["size"])
    now = time.time()
    for entry in sorted(tree, key=lambda entry: entry["path"].count("/"), reverse=True):
        when = now - entry["age-hours"] * 3600.0
        os.utime(on_disk(root, entry["path"]), (when, when), follow_symlinks=False)
    held = []
    for entry in tree:
        if entry.get("locked"):
            fd = os.open(on_disk(root, entry["path"]), os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
            held.append(fd)
    return held


def observed(report: dict) -> tuple[dict, list]:
    keys = ("files-removed", "bytes-freed", "directories-removed")
    totals = {
        "temporary-files": {key: report["temporary-files"][key] for key in keys},
        "cache-cleanup": {key: report["cache-cleanup"][key] for key in keys},
        "directories-processed": report["directories-processed"],
        "skipped-in-use": report["skipped-in-use"],
        "vanished": report["vanished"],
        "error-count": report["error-count"],
        "dry-run": report["dry-run"],
    }
    removals = sorted(report["removals"], key=lambda removal: (removal["area"], removal["path"]))
    return totals, removals


@pytest.mark.parametrize("case", CLEANUP["cases"], ids=lambda case: case["name"][:60])
def test_cleanup_vector(case, tmp_path):
    held = build(tmp_path, case["tree"])
    manager = ResourceManager(data_dir=tmp_path / "data", areas=CLEANUP["areas"])
    try:
        report = manager.run_cleanup(force=case["force"], dry_run=case["dry-run"], settings=case["settings"])
    finally:
        for fd in held:
            os.close(fd)
        manager.areas.close()
    totals, removals = observed(report)
    assert totals == case["expect"]["report"]
    assert removals == case["expect"]["removals"]
    for path in case["expect"]["present"]:
        assert os.path.lexists(on_disk(tmp_path, path)), path
    for path in case["expect"]["absent"]:
        assert not os.path.lexists(on_disk(tmp_path, path)), path
