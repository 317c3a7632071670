"""Reading a video's frames with PyAV for the couple detector (:mod:`bachata_common.couple`).

As the native host does with ``ffprobe``/``ffmpeg``, only the containers of
:data:`CONTAINERS` are read: FFmpeg gets the opened file, never its name, with
``format_whitelist`` set to them and no protocol allowed, so a playlist, a concat script, an
SDP description or an image sequence named ``.mp4`` is refused before any demuxer reads it
(nothing else is opened, no socket is bound). A file that ends before the frames its container
declares is a decoding error, never a shorter video."""

from __future__ import annotations

import errno
import logging
import os
import queue
import stat
import threading
from pathlib import Path
from typing import Any, Iterator, List, Optional

from ._text import printable
from .exceptions import ServiceUnavailableError
from .fs.regular import what_it_is

logger = logging.getLogger("bachata_common")

#: Frames decoded ahead of the inference (each a resized RGB image).
PREFETCH = 8
#: Containers read: MP4/MOV family, Matroska/WebM, AVI, MPEG-TS (FFmpeg's demuxer names, as the
#: native host's ``-format_whitelist``).
CONTAINERS = ("mov", "matroska", "avi", "mpegts")
#: FFmpeg's options of every container opened: only :data:`CONTAINERS`, and no protocol at all
#: (the file is read through PyAV's own I/O; a demuxer asking for another file or a URL is
#: refused).
OPEN_OPTIONS = {"format_whitelist": ",".join(CONTAINERS), "protocol_whitelist": "none"}
#: How much shorter than its declared length a video may decode (seconds, and share of the
#: length; the larger applies) before it counts as cut short.
SHORT_SECONDS = 0.5
SHORT_SHARE = 0.05

_NOT_ALLOWED = (
    "it is not a video file of a container read here (MP4/MOV, Matroska/WebM, AVI or MPEG-TS)"
)


def _av():
    try:
        import av
    except ImportError as error:
        raise ServiceUnavailableError(
            f"video decoding needs PyAV ({error.name} is missing); install it with "
            "`pip install 'bachata_common[pose]'`",
            service_name="av",
        ) from None
    return av


def _reason(error: BaseException) -> str:
    """What went wrong, as shown in a log line: FFmpeg's or the system's text, escaped."""
    return printable(getattr(error, "strerror", None) or error)


class _Source:
    """The opened file as PyAV reads it.

    PyAV drops an exception other than an ``Exception`` raised while FFmpeg reads (Ctrl-C's
    ``KeyboardInterrupt``, a signal handler's ``SystemExit``): it prints it and FFmpeg reads on.
    Here it is kept, the read answered as the end of the file so that FFmpeg stops at once, and
    :meth:`raise_interruption` raises it again once FFmpeg has returned."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.interrupted: Optional[BaseException] = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            if self.interrupted is not None:
                return b""
            return self._file.read(size)
        except Exception:
            raise  # PyAV raises it from the call into FFmpeg
        except BaseException as error:
            self.interrupted = error
            return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            if self.interrupted is not None:
                raise OSError(errno.EINTR, "interrupted")
            return self._file.seek(offset, whence)
        except Exception:
            raise
        except BaseException as error:
            self.interrupted = error
            raise OSError(errno.EINTR, "interrupted") from None

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()

    def raise_interruption(self) -> None:
        """Raises the interruption kept while FFmpeg read, if any."""
        interrupted, self.interrupted = self.interrupted, None
        if interrupted is not None:
            raise interrupted


class _Failed:
    """What the decoding thread hands over when the video cannot be read to its end."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Short(ValueError):
    """The file ended before what its container declares."""


_DONE = object()


class _Sampled:
    """A sampled frame: its index in the stream, time, and the picture resized for the model."""

    __slots__ = ("index", "timestamp", "picture", "width", "height")

    def __init__(self, index: int, timestamp: float, picture: Any, width: int, height: int) -> None:
        self.index = index
        self.timestamp = timestamp
        self.picture = picture
        #: The upright frame's size.
        self.width = width
        self.height = height


def _declared_seconds(container: Any, stream: Any) -> Optional[float]:
    """The stream's length as its container declares it, in seconds: the stream's own
    duration, else Matroska's ``DURATION`` tag of the track, else the file's duration when the
    stream is its only one (another stream may run longer); ``None`` when unknown."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION")
    if tag:
        try:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:
            pass
    if container.duration and len(container.streams) == 1:
        return container.duration / 1_000_000
    return None


class _Video:
    """A video opened with PyAV: its first video stream, decoded in a thread of its own into a
    bounded queue of the sampled frames only (each converted straight to the model's letterbox
    size and turned upright), while the caller runs the inference."""

    def __init__(self, path: Path, file: _Source, container: Any, stream: Any) -> None:
        self.path = path
        self._file = file
        self.container = container
        self.stream = stream
        rate = stream.guessed_rate or stream.average_rate
        self.fps = float(rate) if rate else 0.0
        self.frames = int(stream.frames or 0)
        self._declared = _declared_seconds(container, stream)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=PREFETCH)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        #: The stream's first time (its first frame's when the container has none).
        self._start: Optional[int] = stream.start_time
        self._numpy: Any = None

    @classmethod
    def open(cls, path: Path) -> "_Video":
        """The video at ``path``: a regular file (checked on the file opened without blocking,
        so a FIFO or a device is refused, never read) in one of :data:`CONTAINERS` that FFmpeg
        opens and that has a video stream; ``ValueError("Cannot open video: ...")`` otherwise.
        Ctrl-C while FFmpeg reads raises ``KeyboardInterrupt``, never this error."""
        av = _av()
        cannot = f"Cannot open video: {printable(path)}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except (OSError, ValueError) as error:  # ValueError: a NUL in the name
            logger.warning("%s: %s", cannot, _reason(error))
            raise ValueError(cannot) from error
        try:
            mode = os.fstat(fd).st_mode
        except OSError as error:
            os.close(fd)
            raise ValueError(cannot) from error
        if not stat.S_ISREG(mode):
            os.close(fd)
            reason = f"it is {what_it_is(mode)}, not a video file"
            logger.warning("%s: %s", cannot, reason)
            raise ValueError(cannot) from OSError(reason)
        file = _Source(os.fdopen(fd, "rb"))
        try:
            try:
                container = av.open(file, mode="r", container_options=OPEN_OPTIONS)
            finally:
                file.raise_interruption()
        except Exception as error:  # FFmpeg's refusal: not a video, truncated, empty
            file.close()
            if isinstance(error, InterruptedError) or getattr(error, "errno", None) == errno.EINTR:
                raise  # a signal, not a verdict on the file
            reason = _NOT_ALLOWED if getattr(error, "errno", None) == errno.EINVAL else _reason(error)
            logger.warning("%s: %s", cannot, reason)
            raise ValueError(cannot) from error
        except BaseException:
            file.close()
            raise
        try:
            names = set((container.format.name or "").split(","))
            if not names & set(CONTAINERS):
                reason = f"{_NOT_ALLOWED}: {printable(container.format.name)}"
            elif not container.streams.video:
                reason = "it has no video stream"
            else:
                reason = None
            if reason is not None:
                logger.warning("%s: %s", cannot, reason)
                raise ValueError(cannot)
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            return cls(path, file, container, stream)
        except BaseException:
            try:
                container.close()
            finally:
                file.close()
            raise

    def sampled(self, frame_skip: int, width: int, height: int) -> Iterator[_Sampled]:
        """The frames whose index is a multiple of ``frame_skip``, in order, each resized to fit
        ``width`` × ``height`` (the model's input); decoding runs ahead in a thread, at most
        :data:`PREFETCH` frames. A decoding failure, or a file that ends before the frames or
        the length its container declares, is raised as ``ValueError("Cannot decode video:
        ...")`` after the frames decoded."""
        self._thread = threading.Thread(
            target=self._decode, args=(frame_skip, width, height), name="bachata-video", daemon=True
        )
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                if not isinstance(item.error, Exception):
                    raise item.error
                logger.warning("Cannot decode video %s: %s", printable(self.path), _reason(item.error))
                raise ValueError(f"Cannot decode video: {printable(self.path)}") from item.error
            yield item

    def close(self) -> None:
        """Stops the decoding thread and closes the file."""
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                try:  # unblocks a thread waiting for room
                    while True:
                        self._queue.get_nowait()
                except queue.Empty:
                    pass
                self._thread.join(timeout=0.05)
        else:
            self._release()

    def _release(self) -> None:
        try:
            self.container.close()
        finally:
            self._file.close()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self, frame_skip: int, width: int, height: int) -> None:
        index = 0
        packets = 0
        end: Optional[int] = None
        try:
            from .pose import _modules

            self._numpy = _modules()[0]
            for packet in self.container.demux(self.stream):
                # A packet cut short (a truncated file) is flagged; the decoder's threads would
                # drop it silently, and the video would seem to end there.
                if getattr(packet, "is_corrupt", False):
                    raise ValueError(f"the packet at pts {packet.pts} is damaged or cut short")
                if packet.size or packet.dts is not None:  # not the flush at the end
                    packets += 1
                    if packet.pts is not None:
                        last = packet.pts + (packet.duration or 0)
                        end = last if end is None else max(end, last)
                for frame in packet.decode():
                    if self._stop.is_set():
                        return
                    if index % frame_skip == 0 and not self._put(self._sample(frame, index, width, height)):
                        return
                    index += 1
            self._check_complete(packets, end)
        except BaseException as error:  # reported to the reader, which raises it
            self._put(_Failed(error))
        else:
            self._put(_DONE)
        finally:
            self._release()

    def _check_complete(self, packets: int, end: Optional[int]) -> None:
        """Raises :class:`_Short` when the stream ended before the frames its container
        declares (a file cut between two frames: FFmpeg sees a plain end), or well before its
        declared length (:data:`SHORT_SECONDS`, :data:`SHORT_SHARE`)."""
        if self.frames > 0 and packets < self.frames:
            raise _Short(f"it ends after {packets} of the {self.frames} frames its container declares")
        declared, time_base = self._declared, self.stream.time_base
        if declared is None or end is None or time_base is None:
            return
        start = self.stream.start_time if self.stream.start_time is not None else self._start
        covered = float((end - (start or 0)) * time_base)
        if covered < declared - max(SHORT_SECONDS, SHORT_SHARE * declared):
            raise _Short(f"it ends at {covered:.3f} s of the {declared:.3f} s its container declares")

    def _sample(self, frame: Any, index: int, width: int, height: int) -> _Sampled:
        """The sampled ``frame`` at its time, upright and resized to fit ``width`` × ``height``
        (converted straight from the decoder's pixel format)."""
        from .pose import letterbox_size

        pts = frame.pts if frame.pts is not None else frame.dts
        time_base = self.stream.time_base
        if pts is not None and time_base is not None:
            if self._start is None:
                self._start = pts
            timestamp = float((pts - self._start) * time_base)
        else:
            timestamp = index / self.fps if self.fps else 0.0
        # The display matrix (a phone's portrait clip), in counter-clockwise quarter turns.
        turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
        upright = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
        _scale, new_width, new_height = letterbox_size(upright[0], upright[1], width, height)
        size = (new_height, new_width) if turns % 2 else (new_width, new_height)
        picture = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR").to_ndarray()
        if turns:
            picture = self._numpy.rot90(picture, k=turns)
        return _Sampled(index, timestamp, picture, upright[0], upright[1])


def _batches(items: Iterator[_Sampled], size: int) -> Iterator[List[_Sampled]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch: List[_Sampled] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
