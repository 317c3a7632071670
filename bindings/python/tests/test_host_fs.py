"""The Python host's ``host-fs``: the native host's rules, case by case — no climbing paths, no
link followed, no other mount entered, locked files and directories kept, names in the hosts'
form — and the audit that stops a policy breaking them."""

import fcntl
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bachata_common import PolicyViolation, ResourceManager, _component, _lend
from bachata_common.fs import names
from bachata_common.fs.areas import Areas
from bachata_common.fs.locks import parse_proc_locks
from bachata_common.fs.remove import IN_USE, OUT_OF_BOUNDS, REFUSED, REMOVED, VANISHED

REPOSITORY = Path(__file__).resolve().parents[3]
TEST_POLICIES = REPOSITORY / "target" / "test-policies" / "wasm32-wasip2" / "wasm-release" / "examples"


@pytest.fixture
def scene(tmp_path):
    """A data directory with an old file, files outside the areas and links out of them."""
    (tmp_path / "outside" / "dir").mkdir(parents=True)
    (tmp_path / "outside" / "precious.txt").write_text("keep me")
    (tmp_path / "outside" / "dir" / "inner.txt").write_text("keep me too")
    areas = Areas(tmp_path / "data", ["temp", "cache"])
    temp = tmp_path / "data" / "temp"
    (temp / "a").mkdir()
    (temp / "a" / "old.tmp").write_text("stale")
    (temp / "file-link").symlink_to(tmp_path / "outside" / "precious.txt")
    (temp / "dir-link").symlink_to(tmp_path / "outside" / "dir")
    (tmp_path / "data" / "outside-areas.txt").write_text("next to the areas")
    yield tmp_path, areas
    areas.close()


def digest(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            out[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            out[str(path)] = path.read_bytes()
        else:
            out[str(path)] = "dir"
    return out


def test_climbing_paths_are_out_of_bounds_and_nothing_moves(scene):
    root, areas = scene
    before = digest(root)
    hostile = ["../outside-areas.txt", "/etc/passwd", "a/../../outside-areas.txt", "./a/old.tmp",
               "a//old.tmp", "", "dir-link/inner.txt", "a/old.tmp\0", "\\x2e\\x2e/x", "a/\\x41"]
    outcomes = areas.remove("temp", hostile)
    assert [outcome.status for outcome in outcomes] == [OUT_OF_BOUNDS] * len(hostile)
    assert all(outcome.reason for outcome in outcomes)
    assert [o.status for o in areas.remove("etc", ["passwd"])] == [OUT_OF_BOUNDS]
    assert digest(root) == before


def test_links_are_removed_never_followed(scene):
    root, areas = scene
    outcomes = areas.remove("temp", ["file-link", "dir-link"])
    assert [outcome.status for outcome in outcomes] == [REMOVED, REMOVED]
    assert (root / "outside" / "precious.txt").read_text() == "keep me"
    assert (root / "outside" / "dir" / "inner.txt").read_text() == "keep me too"


def test_a_scan_lists_links_as_links_and_never_enters_them(scene):
    _root, areas = scene
    walker = areas.walk("temp")
    entries = {value[0]: value[1] for tag, value in walker if tag == "entry"}
    assert entries == {"a": 1, "a/old.tmp": 0, "file-link": 2, "dir-link": 2}


def test_locked_files_and_everything_in_locked_directories_are_in_use(scene):
    root, areas = scene
    temp = root / "data" / "temp"
    (temp / "busy.bin").write_text("in use")
    with open(temp / "busy.bin", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        assert areas.remove("temp", ["busy.bin"])[0].status == IN_USE
    fd = os.open(temp / "a", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert [o.status for o in areas.remove("temp", ["a/old.tmp", "a"])] == [IN_USE, IN_USE]
    finally:
        os.close(fd)
    assert (temp / "a" / "old.tmp").exists()
    assert [o.status for o in areas.remove("temp", ["a/old.tmp", "a", "busy.bin"])] == [REMOVED] * 3


def test_vanished_entries_are_not_errors(scene):
    _root, areas = scene
    assert [o.status for o in areas.remove("temp", ["gone.tmp", "nowhere/gone.tmp"])] == [VANISHED, VANISHED]


def test_a_directory_turned_into_a_link_during_the_call_is_refused(scene):
    root, areas = scene
    temp = root / "data" / "temp"
    import time

    since = time.time_ns() - 1_000_000_000  # the call began a second ago
    shutil.rmtree(temp / "a")
    (temp / "a").symlink_to(root / "outside" / "dir")
    outcome = areas.remove("temp", ["a/inner.txt"], since_ns=since)[0]
    assert outcome.status == REFUSED and "became a symbolic link" in outcome.reason
    assert (root / "outside" / "dir" / "inner.txt").exists()


def test_names_round_trip_and_only_the_canonical_form_is_accepted():
    for raw in [b"caf\xe9.wav", b"\xff\xfe", b"back\\slash", b"\\x41", b"mixed\\\xc3("]:
        name = raw.decode("utf-8", "surrogateescape")
        encoded = names.encode(name)
        assert "/" not in encoded
        assert names.decode(encoded) == raw
    assert names.encode(b"caf\xe9".decode("utf-8", "surrogateescape")) == "caf\\xe9"
    assert names.encode("line\nbreak") == "line\nbreak"
    for bad in ["\\x2e\\x2e", "\\x2f", "\\x00", "\\x41", "\\xFF", "\\", "\\q", "\\x4"]:
        with pytest.raises(ValueError):
            names.decode(bad)


def test_proc_locks_parsing():
    text = (
        "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF\n"
        "1: -> FLOCK  ADVISORY  WRITE 4243 08:01:1234567 0 EOF\n"
        "2: POSIX  ADVISORY  READ 99 fd:00:77 0 EOF\n"
        "garbage\n"
    )
    assert parse_proc_locks(text) == {(8, 1, 1234567), (0xFD, 0, 77)}


def test_another_mount_is_never_entered(tmp_path):
    """A bind mount inside an area (the same filesystem: only mount ids tell it apart)."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting needs root and mount(8)")
    source = tmp_path / "elsewhere"
    source.mkdir()
    (source / "theirs.txt").write_text("not ours")
    manager = ResourceManager(data_dir=tmp_path / "data")
    point = manager.data_dir / "temp" / "mnt"
    point.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(source), str(point)], capture_output=True)
    if mounted.returncode != 0:
        manager.areas.close()
        pytest.skip(f"`mount --bind` is not permitted here: {mounted.stderr.decode().strip()}")
    try:
        listed = [value[0] for tag, value in manager.areas.walk("temp") if tag == "entry"]
        assert listed == []
        outcome = manager.areas.remove("temp", ["mnt/theirs.txt"])[0]
        assert outcome.status == REFUSED and "mount" in outcome.reason
        manager.cleanup_temporary_files_sync(force=True)
        assert (source / "theirs.txt").read_text() == "not ours"
    finally:
        subprocess.run(["umount", str(point)], check=True)
        manager.areas.close()


def test_a_packed_batch_must_end_with_a_nul(scene):
    _root, areas = scene
    lent = _lend.Lent(areas=areas)
    with pytest.raises(PolicyViolation, match="NUL"):
        _lend.remove(lent, "temp", "age", "a/old.tmp")
    assert _lend.remove(lent, "temp", "age", "") == ""


def test_a_cancelled_call_stops(scene):
    _root, areas = scene
    cancel = threading.Event()
    cancel.set()
    lent = _lend.Lent(areas=areas, cancel=cancel)
    with pytest.raises(_lend.Cancelled):
        _lend.open_scan(lent, "temp")


def hostile(name: str) -> bytes:
    path = TEST_POLICIES / f"{name}.wasm"
    if not path.is_file():
        pytest.skip(f"{path} is built by the Rust suite (cargo test)")
    return path.read_bytes()


@pytest.mark.parametrize(
    "fixture, reason",
    [
        ("escape", "which is outside the area"),
        ("flood", "65537 paths"),
        ("pager", "after the scan ended"),
        ("rescan", "more than 16 scans"),
    ],
)
def test_hostile_policies_fail_the_call_and_change_nothing(fixture, reason, scene, monkeypatch):
    root, _areas = scene
    manager = ResourceManager(data_dir=root / "data", areas=["temp", "cache"])
    manager.cleanup_settings()  # the configuration, read with the stock policy
    monkeypatch.setattr(_component, "_policy", _component._Policy(hostile(fixture)))
    (root / "data" / "temp" / "locked.bin").write_text("in use")
    before = digest(root)
    with open(root / "data" / "temp" / "locked.bin", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        with pytest.raises(PolicyViolation, match=reason):
            manager.cleanup_temporary_files_sync(force=True)
    assert digest(root) == before
    manager.areas.close()


def test_a_policy_sees_the_lent_metrics(scene, monkeypatch):
    root, _areas = scene
    manager = ResourceManager(data_dir=root / "data", areas=["temp", "cache"])
    manager.cleanup_settings()
    monkeypatch.setattr(_component, "_policy", _component._Policy(hostile("metrics_probe")))
    with pytest.raises(Exception) as raised:
        manager.cleanup_temporary_files_sync()
    assert "memory" in str(raised.value)
    manager.areas.close()


@pytest.mark.parametrize("fixture, reason", [("spin", "deadline of 500 ms"), ("memory_bomb", "memory cap of 64 MiB")])
def test_a_policy_that_loops_or_hoards_memory_is_stopped(fixture, reason, scene, monkeypatch):
    from bachata_common import PolicyError

    root, _areas = scene
    manager = ResourceManager(data_dir=root / "data", areas=["temp", "cache"])
    manager.cleanup_settings()
    monkeypatch.setattr(_component, "_policy", _component._Policy(hostile(fixture)))
    monkeypatch.setenv("BACHATA_POLICY_TIMEOUT_MS", "500")
    before = digest(root)
    with pytest.raises(PolicyError, match=reason):
        manager.cleanup_temporary_files_sync(force=True)
    assert digest(root) == before
    manager.areas.close()


def test_time_in_host_functions_does_not_count_against_the_deadline(scene, monkeypatch):
    root, _areas = scene
    manager = ResourceManager(data_dir=root / "data", areas=["temp", "cache"])
    manager.cleanup_settings()
    monkeypatch.setenv("BACHATA_POLICY_TIMEOUT_MS", "200")
    slow_metrics = manager.metrics.snapshot

    def slow():
        time.sleep(0.5)
        return slow_metrics()

    monkeypatch.setattr(manager.metrics, "snapshot", slow)
    report = manager.run_cleanup(dry_run=True)
    assert report["dry-run"] is True
    manager.areas.close()


def test_bad_limit_settings_are_refused(monkeypatch):
    from bachata_common import policy

    monkeypatch.setenv("BACHATA_POLICY_TIMEOUT_MS", "soon")
    with pytest.raises(ValueError, match="BACHATA_POLICY_TIMEOUT_MS"):
        policy.http_status("VALIDATION_ERROR")
