"""Background work of the resource manager: starting it as an asyncio task or a thread, asking
it to stop from any thread, and what ``start_monitoring``, ``stop_monitoring``,
``schedule_cleanup`` and ``shutdown`` return (awaitable, as the original's coroutines were)."""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
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
#: Seconds it lets the removal of the temp file manager's live files take.
LIVE_FILES_SECS = 60.0


def bounded(work, seconds: float, what: str) -> bool:
    """Runs ``work()`` in a daemon thread and waits at most ``seconds``; an exception is logged
    (shutdown goes on whatever the work met). True when it ended in time."""
    done = threading.Event()

    def run() -> None:
        try:
            work()
        except Exception as error:
            _log.warning("%s failed: %s", what, error)
        finally:
            done.set()

    threading.Thread(target=run, name=f"bachata-{what.replace(' ', '-')}", daemon=True).start()
    if done.wait(seconds):
        return True
    _log.warning("%s did not end within %.0f s", what, seconds)
    return False


#: Largest interval accepted, in seconds: what a thread can wait (``threading.TIMEOUT_MAX``).
MAX_INTERVAL_SECS = threading.TIMEOUT_MAX

#: A threading event set when each asyncio task started here ends, so that any thread can wait.
_finished: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def check_interval(seconds: float, field: str, given) -> float:
    """``seconds`` when it is a positive, finite number a thread can wait, else a
    :class:`ValidationError` naming ``field``."""
    from .exceptions import ValidationError

    try:
        value = float(seconds)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not (0 < value <= MAX_INTERVAL_SECS):
        raise ValidationError(
            f"{field} must be a positive, finite number at most {MAX_INTERVAL_SECS:.0f} seconds, not {given!r}",
            field=field,
            value=str(given),
        )
    return value


def start(coroutine, thread_target, argument: float, name: str):
    """An asyncio task running ``coroutine`` inside a running event loop, else a daemon thread
    running ``thread_target(argument, stop)`` (the coroutine is then closed)."""
    asyncio = _asyncio()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        task = loop.create_task(coroutine, name=f"bachata-{name}")
        ended = threading.Event()
        _finished[task] = ended
        task.add_done_callback(lambda _task: ended.set())
        return task
    coroutine.close()
    stop = threading.Event()
    thread = threading.Thread(target=thread_target, args=(argument, stop), name=f"bachata-{name}", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread


def is_running(task) -> bool:
    """Whether a task or thread is still running (a task whose event loop is closed is not)."""
    if task is None:
        return False
    if isinstance(task, threading.Thread):
        return task.is_alive() and not task.stop.is_set()  # type: ignore[attr-defined]
    return not task.done() and not task.get_loop().is_closed()


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

    def wait(self, skip_loop=None) -> bool:
        """Waits for threads and for tasks of event loops running in other threads (a task of
        ``skip_loop``, or of a loop that is not running, is not waited for); true when all
        ended."""
        deadline = time.monotonic() + self.timeout
        pending = 0
        for task in self.tasks:
            remaining = max(0.0, deadline - time.monotonic())
            if isinstance(task, threading.Thread):
                if task is not threading.current_thread():
                    task.join(remaining)
                pending += task.is_alive()
                continue
            loop = task.get_loop()
            ended = _finished.get(task)
            if loop is skip_loop or ended is None or not loop.is_running():
                continue
            if not ended.wait(remaining):
                pending += 1
        if pending:
            _log.warning("%d background task(s) did not stop in time", pending)
        return pending == 0

    async def _wait_async(self) -> bool:
        asyncio = _asyncio()
        loop = asyncio.get_running_loop()
        mine = [task for task in self.tasks if not isinstance(task, threading.Thread) and task.get_loop() is loop]
        if mine:
            _done, pending = await asyncio.wait(mine, timeout=self.timeout)
            if pending:
                _log.warning("%d background task(s) did not stop in time", len(pending))
                return False
        return await asyncio.to_thread(self.wait, loop)

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
