"""Background work of the resource manager: starting it as an asyncio task or a thread, asking
it to stop from any thread, and what ``start_monitoring``, ``stop_monitoring``,
``schedule_cleanup`` and ``shutdown`` return (awaitable, as the original's coroutines were)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .resources import ResourceManager

_log = logging.getLogger("bachata_common")


def _asyncio():
    """``asyncio``, imported on first use."""
    import asyncio

    return asyncio


#: Seconds :meth:`ResourceManager.shutdown` waits for monitoring to stop (the original's bound).
STOP_MONITORING_SECS = 30.0
#: Seconds it waits for the schedule to stop.
STOP_SCHEDULE_SECS = 60.0
#: Seconds the last cleanup may take before it is cancelled.
FINAL_CLEANUP_SECS = 120.0


def is_running(task) -> bool:
    """Whether a task or thread is still running."""
    if task is None:
        return False
    if isinstance(task, threading.Thread):
        return task.is_alive() and not task.stop.is_set()  # type: ignore[attr-defined]
    return not task.done()


def request_stop(task) -> None:
    """Asks a task or thread to stop, from any thread."""
    if task is None:
        return
    if isinstance(task, threading.Thread):
        task.stop.set()  # type: ignore[attr-defined]
        return
    loop = task.get_loop()
    try:
        current = _asyncio().get_running_loop()
    except RuntimeError:
        current = None
    if current is loop:
        task.cancel()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(task.cancel)


class Started:
    """What :meth:`ResourceManager.start_monitoring` and :meth:`ResourceManager.schedule_cleanup`
    return: the work has started; awaiting this returns at once (``None``), as awaiting the
    original's coroutines did. ``task`` is the asyncio task or thread doing the work."""

    def __init__(self, task) -> None:
        self.task = task

    def __await__(self):
        return iter(())

    def __repr__(self) -> str:
        return f"<started {self.task!r}>"


class Stopping:
    """Tasks or threads asked to stop: awaiting this waits for them, at most ``timeout``
    seconds; :meth:`wait` does the same without an event loop."""

    def __init__(self, tasks: list, timeout: float) -> None:
        self.tasks = [task for task in tasks if task is not None]
        self.timeout = timeout

    def wait(self) -> bool:
        """Waits for threads (asyncio tasks end with their loop); true when all ended."""
        deadline = time.monotonic() + self.timeout
        for task in self.tasks:
            if isinstance(task, threading.Thread) and task is not threading.current_thread():
                task.join(max(0.0, deadline - time.monotonic()))
        return not any(isinstance(task, threading.Thread) and task.is_alive() for task in self.tasks)

    async def _wait_async(self) -> bool:
        asyncio = _asyncio()
        loop = asyncio.get_running_loop()
        mine = [task for task in self.tasks if not isinstance(task, threading.Thread) and task.get_loop() is loop]
        if mine:
            _done, pending = await asyncio.wait(mine, timeout=self.timeout)
            if pending:
                _log.warning("%d background task(s) did not stop in time", len(pending))
                return False
        return await asyncio.to_thread(self.wait)

    def __await__(self):
        return self._wait_async().__await__()


class Shutdown:
    """What :meth:`ResourceManager.shutdown` returns: awaiting it waits for the background work
    to stop and runs the last cleanup (once); without a running loop that was done already."""

    def __init__(self, manager: "ResourceManager", stopping: list, final_cleanup: bool) -> None:
        self._manager = manager
        self._stopping = stopping
        self._final = final_cleanup
        self._finished = False

    def finish(self) -> None:
        """Waits and cleans up now (no event loop)."""
        if self._finished:
            return
        self._finished = True
        for stopping in self._stopping:
            stopping.wait()
        self._manager._final_cleanup(self._final)

    async def _finish_async(self) -> None:
        if self._finished:
            return
        self._finished = True
        for stopping in self._stopping:
            await stopping
        await _asyncio().to_thread(self._manager._final_cleanup, self._final)

    def __await__(self):
        return self._finish_async().__await__()
