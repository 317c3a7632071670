"""The resource manager's lifecycle under awkward use inside event loops: a shutdown awaited twice
or twice at once, and a loop ended by ``asyncio.run`` without a shutdown, leave nothing running and
the manager able to start again."""

import asyncio
import os
import threading
import time

import pytest

from bachata_common.config import EnvironmentConfig
from bachata_common.resources import ResourceManager


def _manager(tmp_path):
    return ResourceManager(data_dir=tmp_path / "data", config=EnvironmentConfig(None, environ={}))


def _ours():
    return [thread for thread in threading.enumerate() if thread.name in ("bachata-monitor", "bachata-cleanup")]


def test_a_shutdown_awaited_twice_or_twice_at_once_stops_everything(tmp_path):
    manager = _manager(tmp_path)

    async def main():
        await manager.start_monitoring(0.05)
        await manager.schedule_cleanup(1)
        await asyncio.sleep(0.1)
        shutdown = manager.shutdown()
        await shutdown
        await shutdown
        assert not manager.monitoring_active and manager.cleanup_tasks == []
        await manager.start_monitoring(0.05)
        await asyncio.gather(manager.shutdown(), manager.shutdown())
        assert not manager.monitoring_active

    asyncio.run(main())
    assert _ours() == []


def test_a_loop_ended_by_asyncio_run_without_shutdown_leaves_the_manager_restartable(tmp_path):
    manager = _manager(tmp_path)

    async def main():
        await manager.start_monitoring(0.05)
        await manager.schedule_cleanup(1)
        await asyncio.sleep(0.1)

    asyncio.run(main())
    assert not manager.monitoring_active and manager.cleanup_tasks == []
    started = manager.start_monitoring(3600)
    try:
        assert isinstance(started.task, threading.Thread) and manager.monitoring_active
    finally:
        manager.shutdown(final_cleanup=False)
    assert _ours() == []


def test_concurrent_starts_leave_one_monitor_and_one_schedule_and_shutdown_stops_them(tmp_path):
    manager = ResourceManager(data_dir=tmp_path / "data", config=EnvironmentConfig(None, environ={}))
    barrier = threading.Barrier(8)

    def go(index: int) -> None:
        barrier.wait()
        if index % 2:
            manager.start_monitoring(3600)
        else:
            manager.schedule_cleanup(1)

    for _ in range(5):
        threads = [threading.Thread(target=go, args=(index,)) for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    manager.shutdown(final_cleanup=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _background_threads():
        time.sleep(0.05)
    assert _background_threads() == []


def _background_threads() -> list:
    return [t.name for t in threading.enumerate() if t.name in ("bachata-monitor", "bachata-cleanup") and t.is_alive()]


def test_a_closed_loop_leaves_no_task_that_looks_alive(tmp_path):
    manager = ResourceManager(data_dir=tmp_path / "data", config=EnvironmentConfig(None, environ={}))
    loop = asyncio.new_event_loop()

    async def start() -> None:
        await manager.start_monitoring(3600)
        await manager.schedule_cleanup(1)

    loop.run_until_complete(start())
    loop.close()
    assert not manager.monitoring_active and manager.cleanup_tasks == []
    started = manager.start_monitoring(3600)
    assert isinstance(started.task, threading.Thread) and manager.monitoring_active
    manager.shutdown(final_cleanup=False)
    assert not manager.monitoring_active


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 1e300, -1, 0, "six"])
def test_intervals_no_thread_can_wait_are_refused(tmp_path, bad):
    manager = ResourceManager(data_dir=tmp_path / "data", config=EnvironmentConfig(None, environ={}))
    with pytest.raises(ValueError):
        manager.schedule_cleanup(bad)
    with pytest.raises(ValueError):
        manager.start_monitoring(bad)
    assert manager.cleanup_tasks == [] and not manager.monitoring_active


def test_shutdown_from_another_thread_waits_for_the_loop_and_runs_the_last_cleanup(tmp_path):
    manager = ResourceManager(data_dir=tmp_path / "data", config=EnvironmentConfig(None, environ={}))
    old = tmp_path / "data" / "temp" / "old.tmp"
    manager.areas
    old.write_bytes(b"x")
    os.utime(old, (1, 1))
    ready = threading.Event()
    finished = threading.Event()

    async def serve() -> None:
        await manager.start_monitoring(0.05)
        await manager.schedule_cleanup(1)
        ready.set()
        while not finished.is_set():
            await asyncio.sleep(0.01)

    runner = threading.Thread(target=lambda: asyncio.run(serve()))
    runner.start()
    assert ready.wait(10)
    task = manager.monitoring_task
    manager.shutdown()
    assert task.done(), "shutdown waited for the task of the other thread's loop"
    assert not old.exists(), "the last cleanup ran"
    finished.set()
    runner.join(10)
