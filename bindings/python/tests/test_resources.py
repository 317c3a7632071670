"""The original app's ``resource_manager`` API over the Python host: resources, cleanup by age
and cache size, warnings, monitoring, one schedule, shutdown."""

import asyncio
import os
import threading
import time

import pytest

import bachata_common
from bachata_common import ResourceError, ResourceManager, resource_manager
from bachata_common.resources import ResourceManager as ResourceManagerClass


def aged(path, hours: float, size: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = time.time() - hours * 3600
    os.utime(path, (when, when))


@pytest.fixture
def manager(tmp_path):
    manager = ResourceManager(data_dir=tmp_path / "data")
    yield manager
    manager.shutdown()
    manager.areas.close()


def test_the_original_names_and_attributes():
    assert ResourceManager is ResourceManagerClass
    assert isinstance(resource_manager, ResourceManager)
    fresh = ResourceManager(data_dir="unused")
    assert fresh.max_temp_age_hours == 24
    assert fresh.max_cache_size_gb == 5
    assert fresh.memory_warning_threshold == 85
    assert fresh.disk_warning_threshold == 90
    fresh.max_temp_age_hours = 1
    assert fresh.cleanup_settings()["max-temp-age-hours"] == 1
    fresh.memory_warning_threshold = 50
    assert fresh.cleanup_settings()["memory-warning-threshold"] == 0.5
    assert "ResourceManager" in bachata_common.__all__ and "resource_manager" in bachata_common.__all__


def test_nothing_happens_on_import_and_configuration_is_read_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHATA_DATA_DIR", str(tmp_path / "configured"))
    monkeypatch.chdir(tmp_path)
    manager = ResourceManager()
    assert not (tmp_path / "configured").exists()
    assert manager.data_dir == (tmp_path / "configured").resolve()
    assert sorted(p.name for p in (tmp_path / "configured").iterdir()) == ["cache", "output", "temp"]
    manager.areas.close()


def test_get_system_resources_has_the_original_shape(manager):
    aged(manager.data_dir / "temp" / "a.bin", 1, size=3 * 1024 * 1024)
    resources = manager.get_system_resources()
    memory, disk = resources["memory"], resources["disk"]
    for key in ("total_gb", "available_gb", "used_gb", "percent_used"):
        assert isinstance(memory[key], float)
    assert 0 <= memory["percent_used"] <= 100
    assert memory["total_bytes"] >= memory["used_bytes"]
    for key in ("total_gb", "free_gb", "used_gb", "percent_used"):
        assert isinstance(disk[key], float)
    temp = resources["temp_directories"][str(manager.data_dir / "temp")]
    assert temp == {"exists": True, "size_mb": 3.0, "size_bytes": 3 * 1024 * 1024, "file_count": 1}
    assert set(resources["temp_directories"]) == {str(manager.data_dir / name) for name in ("temp", "cache", "output")}


def test_cleanup_temporary_files_removes_old_files_and_keeps_new_ones(manager):
    temp = manager.data_dir / "temp"
    aged(temp / "old.tmp", 48, size=100)
    aged(temp / "deep" / "old.tmp", 48, size=20)
    aged(temp / "new.tmp", 1, size=7)
    result = asyncio.run(manager.cleanup_temporary_files())
    assert result["files_removed"] == 2
    assert result["bytes_freed"] == 120
    assert result["directories_processed"] == 3
    assert not (temp / "old.tmp").exists() and (temp / "new.tmp").exists()
    forced = asyncio.run(manager.cleanup_temporary_files(force=True))
    assert forced["files_removed"] == 1 and not (temp / "new.tmp").exists()


def test_a_dry_run_changes_nothing(manager):
    aged(manager.data_dir / "temp" / "old.tmp", 48)
    result = manager.cleanup_temporary_files_sync(dry_run=True)
    assert result["files_removed"] == 1 and result["dry_run"] is True
    assert (manager.data_dir / "temp" / "old.tmp").exists()


def test_cleanup_cache_directory_trims_the_oldest_first(manager):
    cache = manager.data_dir / "cache"
    for index, hours in enumerate([10, 9, 8, 7]):
        aged(cache / f"{index}.bin", hours, size=400)
    manager.max_cache_size_gb = 1024 / 1024**3
    result = asyncio.run(manager.cleanup_cache_directory())
    assert result["files_removed"] == 2 and result["bytes_freed"] == 800
    assert sorted(p.name for p in cache.iterdir()) == ["2.bin", "3.bin"]
    # The age rule is not this call's business: an old temp file stays.
    aged(manager.data_dir / "temp" / "old.tmp", 48)
    assert manager.cleanup_cache_directory_sync()["files_removed"] == 0
    assert (manager.data_dir / "temp" / "old.tmp").exists()


def test_a_locked_file_is_kept(manager):
    import fcntl

    path = manager.data_dir / "temp" / "busy.tmp"
    aged(path, 48)
    with open(path, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        result = manager.cleanup_temporary_files_sync(force=True)
    assert result["skipped_in_use"] == 1 and result["files_removed"] == 0
    assert path.exists()


def test_one_cleanup_at_a_time_per_data_directory(manager):
    import fcntl

    fd = os.open(manager.data_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ResourceError, match="already running"):
            manager.cleanup_temporary_files_sync()
    finally:
        os.close(fd)


def test_warnings_follow_the_thresholds(manager, caplog):
    manager.memory_warning_threshold = 0.0
    manager.disk_warning_threshold = 0.0
    with caplog.at_level("WARNING", logger="bachata_common"):
        assessment = manager.check_resources()
    resources = {warning["resource"] for warning in assessment["warnings"]}
    assert resources == {"memory", "disk"}
    assert any("memory" in record.getMessage() for record in caplog.records)


def test_start_monitoring_starts_a_task_and_returns_at_once(manager):
    async def scenario():
        started = manager.start_monitoring(interval_seconds=0.05)
        assert await asyncio.wait_for(started, 1) is None
        task = manager.monitoring_task
        assert isinstance(task, asyncio.Task) and not task.done()
        await asyncio.sleep(0.3)
        assert manager.monitoring_active
        again = manager.start_monitoring(interval_seconds=0.05)
        assert again.task is task, "monitoring already running is left as it is"
        await asyncio.wait_for(manager.stop_monitoring(), 5)
        assert task.done() and not manager.monitoring_active
        manager.start_monitoring(interval_seconds=0.05)
        assert manager.monitoring_active, "monitoring can start again"
        await asyncio.wait_for(manager.shutdown(), 10)
        assert not manager.monitoring_active

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_monitoring_without_an_event_loop_runs_in_a_thread(manager, caplog):
    manager.memory_warning_threshold = 0.0
    with caplog.at_level("WARNING", logger="bachata_common"):
        manager.start_monitoring(interval_seconds=0.05)
        thread = manager.monitoring_task
        assert isinstance(thread, threading.Thread) and manager.monitoring_active
        deadline = time.time() + 10
        while not any("memory" in r.getMessage() for r in caplog.records) and time.time() < deadline:
            time.sleep(0.05)
    assert any("memory" in r.getMessage() for r in caplog.records)
    assert manager.stop_monitoring().wait()
    assert not thread.is_alive() and not manager.monitoring_active


def test_schedule_cleanup_starts_a_task_and_returns_at_once(manager):
    async def scenario():
        started = manager.schedule_cleanup(interval_hours=6)
        assert await asyncio.wait_for(started, 1) is None
        first = started.task
        second = manager.schedule_cleanup(interval_hours=1).task
        await asyncio.sleep(0)
        assert first is not second
        assert first.cancelled() or first.done()
        assert manager.cleanup_task is second and not second.done()
        assert manager.cleanup_tasks == [second]
        await asyncio.wait_for(manager.shutdown(), 10)
        assert second.done() and manager.cleanup_tasks == []

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_schedule_cleanup_without_an_event_loop_runs_in_a_thread(manager):
    aged(manager.data_dir / "temp" / "old.tmp", 48)
    thread = manager.schedule_cleanup(interval_hours=0.5 / 3600).task
    assert isinstance(thread, threading.Thread)
    deadline = time.time() + 10
    while (manager.data_dir / "temp" / "old.tmp").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not (manager.data_dir / "temp" / "old.tmp").exists()
    assert manager.schedule_cleanup(interval_hours=6).task is not thread
    manager.shutdown()
    thread.join(5)
    assert not thread.is_alive()
    with pytest.raises(ValueError):
        manager.schedule_cleanup(interval_hours=0)
    with pytest.raises(ValueError):
        manager.start_monitoring(interval_seconds=0)


def test_shutdown_stops_everything_runs_a_last_cleanup_and_is_bounded(manager):
    aged(manager.data_dir / "temp" / "old.tmp", 48)
    aged(manager.data_dir / "temp" / "new.tmp", 0)

    async def scenario():
        await manager.start_monitoring(interval_seconds=3600)
        await manager.schedule_cleanup(interval_hours=6)
        began = time.monotonic()
        await asyncio.wait_for(manager.shutdown(), 30)
        return time.monotonic() - began

    took = asyncio.run(scenario())
    assert took < 30
    assert not manager.monitoring_active and manager.cleanup_tasks == []
    assert not (manager.data_dir / "temp" / "old.tmp").exists(), "the last cleanup removes expired files"
    assert (manager.data_dir / "temp" / "new.tmp").exists()


def test_after_shutdown_the_manager_works_again(manager):
    manager.shutdown()
    assert manager.cleanup_temporary_files_sync()["files_removed"] == 0
    manager.start_monitoring(interval_seconds=60)
    assert manager.monitoring_active
    manager.shutdown(final_cleanup=False)
    assert not manager.monitoring_active


def test_shutdown_without_areas_creates_nothing(tmp_path):
    manager = ResourceManager(data_dir=tmp_path / "never")
    manager.shutdown()
    assert not (tmp_path / "never").exists()


def test_an_area_root_that_is_a_link_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "data" / "temp").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="symbolic link"):
        ResourceManager(data_dir=tmp_path / "data").areas


def test_cgroup_limits_from_fixture_trees(tmp_path):
    from bachata_common._metrics import effective_memory, read_cgroup_memory

    v2 = tmp_path / "v2"
    (v2 / "app.slice").mkdir(parents=True)
    (v2 / "memory.max").write_text("max\n")
    (v2 / "app.slice" / "memory.max").write_text("1073741824\n")
    (v2 / "app.slice" / "memory.current").write_text("268435456\n")
    assert read_cgroup_memory(v2, "0::/app.slice\n") == (1 << 30, 1 << 28)
    assert read_cgroup_memory(v2, "0::/\n") == (None, None)
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert read_cgroup_memory(v1, "") == (None, None)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("2147483648\n")
    (v1 / "memory" / "memory.usage_in_bytes").write_text("1073741824\n")
    assert read_cgroup_memory(v1, "") == (1 << 31, 1 << 30)
    assert read_cgroup_memory(tmp_path / "none", "") is None
    limited = effective_memory(16 << 30, 8 << 30, (1 << 30, 1 << 28))
    assert limited == {
        "total": 1 << 30, "available": 3 << 28, "used": 1 << 28, "used-ratio": 0.25, "container-limited": True,
    }
    unlimited = effective_memory(16 << 30, 12 << 30, (None, 5))
    assert unlimited["total"] == 16 << 30 and unlimited["used"] == 4 << 30 and not unlimited["container-limited"]


def test_an_open_sqlite_database_keeps_its_files(manager):
    import subprocess
    import sys

    temp = manager.data_dir / "temp"
    database = temp / "other.sqlite3"
    # Another program holds the database open (WAL), with committed rows still in its -wal.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(database)!r}, isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "c.executescript('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);')\n"
            "print('ready', flush=True); sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        names = ["other.sqlite3", "other.sqlite3-wal", "other.sqlite3-shm"]
        old = time.time() - 100 * 3600
        for name in names:
            os.utime(temp / name, (old, old))
        result = manager.cleanup_temporary_files_sync(force=True)
        assert all((temp / name).exists() for name in names), result
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # Closed, it is an ordinary old file again.
    assert manager.cleanup_temporary_files_sync(force=True)["files_removed"] >= 1
    assert not database.exists()
