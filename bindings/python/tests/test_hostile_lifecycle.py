"""The resource manager's lifecycle under awkward use inside event loops: a shutdown awaited twice
or twice at once, and a loop ended by ``asyncio.run`` without a shutdown, leave nothing running and
the manager able to start again."""

import asyncio
import threading

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
