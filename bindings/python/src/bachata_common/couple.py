"""Following a couple through a video: the drop-in replacement of the video service's
``video_processing/services/yolov8_couple_detector.py`` (same classes, attributes, defaults and
exceptions), with the decisions taken by the policy's ``couple`` interface.

- :class:`PersonTracker` keeps the original's state (``tracks``, ``track_ages``, ``next_id``,
  ``max_age``) and passes it to ``couple.update``, which matches the detections to the tracks and
  answers the ids and the new state, written back into the same dicts; ``_compute_iou`` is
  ``couple.iou``.
- :class:`YOLOv8CoupleDetector` runs the pose model as :class:`bachata_common.pose.PoseDetector`
  does (ONNX Runtime, ``pose.detect``), decodes videos with PyAV (``pip install
  'bachata_common[pose]'``), and takes lead and follow (``couple.lead-follow``, and the roles
  ``couple.update`` answers) and the detection rate (``couple.rate``) from the policy.

>>> from bachata_common.couple import PersonTracker
>>> tracker = PersonTracker()
>>> tracker._compute_iou([0, 0, 10, 10], [5, 0, 15, 10])
0.3333333333333333
"""

from __future__ import annotations

import logging
import os
import queue
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple

from . import _component
from .exceptions import ChoreographyGenerationError, ServiceUnavailableError
from .fs.regular import what_it_is

if TYPE_CHECKING:  # numpy is imported when first needed: the package imports without it
    import numpy as np

__all__ = ["CouplePose", "PersonPose", "PersonTracker", "YOLOv8CoupleDetector"]

logger = logging.getLogger("bachata_common")

#: Frames decoded ahead of the inference (each a resized RGB image).
PREFETCH = 8
#: Frames per ``pose.detect`` call.
BATCH = 4
#: The overlap above which the model's boxes are merged when ``YOLOV8_IOU_THRESHOLD`` is not set:
#: ultralytics' default for prediction, which the original detector ran with.
NMS_IOU = 0.7


@dataclass
class PersonPose:
    """Single person pose detection result."""

    person_id: int
    keypoints: "np.ndarray"  # Shape: (17, 3) - [x, y, confidence] for COCO format
    bbox: "np.ndarray"  # Shape: (4,) - [x1, y1, x2, y2]
    confidence: float
    frame_idx: int


@dataclass
class CouplePose:
    """Couple pose detection result (lead + follow)."""

    lead_pose: Optional[PersonPose]
    follow_pose: Optional[PersonPose]
    frame_idx: int
    timestamp: float
    has_both_dancers: bool


def _box(bbox: Any) -> dict:
    """A ``couple.bbox`` record of ``[x1, y1, x2, y2]``."""
    x1, y1, x2, y2 = (float(value) for value in bbox[:4])
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def _answer(result: dict) -> Any:
    """The value of a ``result``; its ``app-error`` raised as the matching exception (a
    :class:`~bachata_common.ValidationError` for a field the policy refused)."""
    if result["tag"] == "err":
        raise ChoreographyGenerationError.from_app_error(result["val"])
    return result["val"]


class PersonTracker:
    """IoU-based person tracker for maintaining consistent IDs across frames.

    The state is the original's: ``tracks`` (track id → its last box), ``track_ages`` (track id
    → frames since it was last matched), ``next_id`` and ``max_age`` (30). Each update passes
    it to the policy's ``couple.update`` (tracks in the dict's order) and writes the answer back
    into the same dicts, so code reading them sees what the original showed."""

    def __init__(self, iou_threshold: float = 0.5):
        self.iou_threshold = iou_threshold
        self.tracks: Dict[int, "np.ndarray"] = {}  # track_id -> last_bbox
        self.next_id = 0
        self.max_age = 30  # Max frames to keep track without detection
        self.track_ages: Dict[int, int] = {}  # track_id -> frames_since_last_seen

    def _state(self) -> dict:
        """The ``tracker-state`` of the current attributes."""
        return {
            "tracks": [
                {"id": int(track_id), "bbox": _box(bbox), "unseen": int(self.track_ages.get(track_id, 0))}
                for track_id, bbox in self.tracks.items()
            ],
            "next-id": int(self.next_id),
        }

    def _config(self) -> dict:
        return {"iou-threshold": float(self.iou_threshold), "max-age": int(self.max_age)}

    def _ask(self, frames: Sequence[Sequence[PersonPose]]) -> tuple[dict, list[dict]]:
        """``couple.update`` of the current state and ``frames``: the new state and each
        frame's roles (nothing changed)."""
        boxes = [[_box(detection.bbox) for detection in detections] for detections in frames]
        state, roles = _answer(_component.call("couple", "update", self._state(), boxes, self._config()))
        return state, roles

    def _update_frames(self, frames: Sequence[Sequence[PersonPose]]) -> list[dict]:
        """Tracks the people of ``frames`` (one call of the policy for them all): sets each
        detection's ``person_id``, updates the state and returns each frame's ``frame-roles``
        (``ids``, ``lead``, ``follow``). On a failure nothing changes."""
        state, roles = self._ask(frames)
        last_boxes: Dict[int, Any] = {}
        for detections, frame_roles in zip(frames, roles):
            for detection, track_id in zip(detections, frame_roles["ids"]):
                detection.person_id = track_id
                last_boxes[track_id] = detection.bbox
        previous = dict(self.tracks)
        self.tracks.clear()
        self.track_ages.clear()
        for track in state["tracks"]:
            track_id = track["id"]
            if track_id in last_boxes:
                bbox = last_boxes[track_id]  # the detection's own array, as the original kept
            elif track_id in previous:
                bbox = previous[track_id]
            else:
                import numpy

                box = track["bbox"]
                bbox = numpy.array([box["x1"], box["y1"], box["x2"], box["y2"]])
            self.tracks[track_id] = bbox
            self.track_ages[track_id] = track["unseen"]
        self.next_id = state["next-id"]
        return roles

    def update(self, detections: List[PersonPose], frame_idx: int) -> List[PersonPose]:
        """Update tracks with new detections and assign consistent IDs.

        Args:
            detections: New detections from current frame
            frame_idx: Current frame index

        Returns:
            Detections with updated person IDs
        """
        self._update_frames([detections])
        return list(detections)

    def _compute_iou(self, bbox1: "np.ndarray", bbox2: "np.ndarray") -> float:
        """Intersection over Union (IoU) between two boxes ``[x1, y1, x2, y2]``, 0.0 to 1.0
        (``couple.iou``)."""
        return _component.call("couple", "iou", _box(bbox1), _box(bbox2))

    def _match_detections_to_tracks(self, detections: List[PersonPose]) -> Dict[int, int]:
        """Detection index → id of the existing track it matches, as the policy matches them
        (``couple.update`` asked without changing the state)."""
        if len(self.tracks) == 0 or len(detections) == 0:
            return {}
        _state, roles = self._ask([detections])
        return {index: track_id for index, track_id in enumerate(roles[0]["ids"]) if track_id in self.tracks}


class _Failed:
    """What the decoding thread hands over when the video cannot be read to its end."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


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


class _Video:
    """A video opened with PyAV: its first video stream, decoded in a thread of its own into a
    bounded queue of the sampled frames only (each converted straight to the model's letterbox
    size and turned upright), while the caller runs the inference."""

    def __init__(self, path: Path, file: Any, container: Any, stream: Any) -> None:
        self.path = path
        self._file = file
        self.container = container
        self.stream = stream
        rate = stream.guessed_rate or stream.average_rate
        self.fps = float(rate) if rate else 0.0
        self.frames = int(stream.frames or 0)
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=PREFETCH)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        #: The stream's first time (its first frame's when the container has none).
        self._start: Optional[int] = stream.start_time
        self._numpy: Any = None

    @classmethod
    def open(cls, path: Path) -> "_Video":
        """The video at ``path``: a regular file (checked on the file opened without blocking,
        so a FIFO or a device is refused, never read) that FFmpeg opens and that has a video
        stream; ``ValueError("Cannot open video: ...")`` otherwise."""
        av = _av()
        cannot = f"Cannot open video: {path}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as error:
            logger.warning("%s: %s", cannot, error.strerror or error)
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
        file = os.fdopen(fd, "rb")
        try:
            container = av.open(file, mode="r")
        except Exception as error:  # FFmpeg's refusal: not a video, truncated, empty
            file.close()
            logger.warning("%s: %s", cannot, getattr(error, "strerror", None) or error)
            raise ValueError(cannot) from error
        if not container.streams.video:
            container.close()
            file.close()
            logger.warning("%s: it has no video stream", cannot)
            raise ValueError(cannot)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return cls(path, file, container, stream)

    def sampled(self, frame_skip: int, width: int, height: int) -> Iterator[_Sampled]:
        """The frames whose index is a multiple of ``frame_skip``, in order, each resized to fit
        ``width`` × ``height`` (the model's input); decoding runs ahead in a thread, at most
        :data:`PREFETCH` frames. A decoding failure is raised as ``ValueError``."""
        self._thread = threading.Thread(
            target=self._decode, args=(frame_skip, width, height), name="bachata-video", daemon=True
        )
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                logger.warning("Cannot decode video %s: %s", self.path, getattr(item.error, "strerror", None) or item.error)
                raise ValueError(f"Cannot decode video: {self.path}") from item.error
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
        try:
            from .pose import _modules

            self._numpy = _modules()[0]
            for packet in self.container.demux(self.stream):
                # A packet cut short (a truncated file) is flagged; the decoder's threads would
                # drop it silently, and the video would seem to end there.
                if getattr(packet, "is_corrupt", False):
                    raise ValueError(f"the packet at pts {packet.pts} is damaged or cut short")
                for frame in packet.decode():
                    if self._stop.is_set():
                        return
                    if index % frame_skip == 0 and not self._put(self._sample(frame, index, width, height)):
                        return
                    index += 1
        except BaseException as error:  # reported to the reader, which raises it
            self._put(_Failed(error))
        else:
            self._put(_DONE)
        finally:
            self._release()

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


class YOLOv8CoupleDetector:
    """
    Multi-person pose detector (a YOLO pose model in ONNX format, run by ONNX Runtime).

    Detects and tracks both dancers (lead + follow) across video frames.
    Uses IoU-based tracking (the policy's ``couple.update``) to maintain consistent person IDs.

    Example:
        detector = YOLOv8CoupleDetector("yolo11n-pose.onnx")
        couple_poses = detector.detect_couple_poses('dance_video.mp4')

        for pose in couple_poses:
            if pose.has_both_dancers:
                print(f"Frame {pose.frame_idx}: Both dancers detected")

    ``model_name`` is an ``.onnx`` file, looked up in ``BACHATA_MODELS_DIR`` first (see
    :func:`bachata_common.pose.resolve_model`; a ``.pt`` checkpoint is refused with the command
    that exports it); ``YOLOV8_THREADS`` and ``BACHATA_ORT_LIB`` are read from the environment.
    A model that cannot be loaded, or ``device='cuda'`` without CUDA, raises ``RuntimeError``
    ("Failed to load YOLOv8 model ..."); a parameter out of range a ``ValidationError``.

    As in the original, ``iou_threshold`` is the tracker's; the overlap above which the model's
    boxes are merged (NMS) is ``YOLOV8_IOU_THRESHOLD`` when set, else :data:`NMS_IOU` (the
    original ran ultralytics' default). ``confidence_threshold`` and ``max_det`` are read at
    each detection, as the original passed them to each inference.
    """

    def __init__(
        self,
        model_name: str = "yolov8n-pose.pt",
        confidence_threshold: float = 0.3,
        device: str = "cpu",
        iou_threshold: float = 0.5,
        max_det: int = 10,
    ):
        from dataclasses import replace

        from .config import EnvironmentConfig
        from .pose import PoseDetector, resolve_model

        # The policy checks the settings as it checks YOLOV8_*; the model is resolved below.
        environ = {
            "YOLOV8_CONFIDENCE": repr(float(confidence_threshold)),
            "YOLOV8_DEVICE": str(device),
            "YOLOV8_IOU_THRESHOLD": repr(NMS_IOU),
            "YOLOV8_MAX_DET": str(int(max_det)),
        }
        for name in ("YOLOV8_IOU_THRESHOLD", "YOLOV8_THREADS", "BACHATA_MODELS_DIR", "BACHATA_ORT_LIB"):
            if os.environ.get(name):
                environ[name] = os.environ[name]
        config = EnvironmentConfig(env_file=None, environ=environ).yolov8
        try:
            logger.info("Loading YOLOv8 model: %s", model_name)
            config = replace(config, model_name=str(model_name))
            self.model = PoseDetector(config, model_path=resolve_model(str(model_name), config.models_dir))
            logger.info("Model loaded: %s (%s)", self.model.model, ", ".join(self.model.providers))
        except Exception as e:
            logger.error("Failed to load YOLOv8 model: %s", e)
            raise RuntimeError(f"Failed to load YOLOv8 model '{model_name}'. Error: {e}") from e

        self.model_name = model_name
        self.confidence_threshold = confidence_threshold
        self.device = device
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.tracker = PersonTracker(iou_threshold=iou_threshold)

        logger.info("YOLOv8CoupleDetector initialized:")
        logger.info("  Model: %s", model_name)
        logger.info("  Confidence threshold: %s", confidence_threshold)
        logger.info("  Device: %s", device)
        logger.info("  IoU threshold: %s", iou_threshold)

    def _settings(self) -> None:
        """The model's settings from the attributes (changed since, perhaps), as the original
        passed them to each inference."""
        from dataclasses import replace

        config = self.model.config
        if (config.confidence_threshold, config.max_det) != (self.confidence_threshold, self.max_det):
            self.model.config = replace(config, confidence_threshold=self.confidence_threshold, max_det=self.max_det)

    def reset_tracker(self):
        """Reset the person tracker (call it between videos, so that person IDs start fresh)."""
        self.tracker = PersonTracker(iou_threshold=self.iou_threshold)

    def detect_couple_poses(self, video_path: str, target_fps: int = 15) -> List[CouplePose]:
        """
        Detect couple poses across all video frames.

        Args:
            video_path: Path to video file
            target_fps: Target FPS for processing (downsamples if needed)

        Returns:
            List of CouplePose objects, one per processed frame

        Raises:
            FileNotFoundError: If video file doesn't exist
            ValueError: If video cannot be opened or decoded, or no frames processed

        Every ``max(1, int(fps / target_fps))``-th frame is processed (the first one, then
        every so many), its ``timestamp`` being its presentation time in seconds from the
        stream's start; the video's rotation metadata is applied first. The frames are decoded
        ahead in a thread (a few at a time: memory does not grow with the video) and their
        people detected a few frames per call.
        """
        if not target_fps > 0:
            raise ValueError(f"target_fps must be positive, got {target_fps!r}")
        video_path = Path(video_path)
        if not video_path.exists():
            raise FileNotFoundError(f"Video not found: {video_path}")

        logger.info("Processing video: %s", video_path.name)
        self._settings()
        video = _Video.open(video_path)
        try:
            original_fps = video.fps
            frame_skip = max(1, int(original_fps / target_fps))
            logger.info("Video properties:")
            logger.info("  Original FPS: %.2f", original_fps)
            logger.info("  Total frames: %d", video.frames)
            logger.info("  Target FPS: %s", target_fps)
            logger.info("  Frame skip: %d", frame_skip)
            couple_poses: List[CouplePose] = []
            both = 0
            sampled = video.sampled(frame_skip, self.model.input_width, self.model.input_height)
            for batch in _batches(sampled, BATCH):
                before = len(couple_poses)
                both += self._process(batch, couple_poses)
                processed = len(couple_poses)
                if processed // 50 > before // 50:  # Log progress
                    rate = _component.call("couple", "rate", processed, both)["rate"]
                    logger.info("Processed %d frames, detection rate: %.1f%%", processed, rate * 100)
        finally:
            video.close()

        if len(couple_poses) == 0:
            raise ValueError(f"No frames processed from video: {video_path}")

        verdict = _component.call("couple", "rate", len(couple_poses), both)
        avg_confidence = sum(cp.lead_pose.confidence if cp.lead_pose else 0.0 for cp in couple_poses) / len(
            couple_poses
        )
        logger.info("Processing complete:")
        logger.info("  Processed frames: %d", len(couple_poses))
        logger.info("  Couple detection rate: %.1f%%", verdict["rate"] * 100)
        logger.info("  Average confidence: %.2f", avg_confidence)
        if verdict["low"]:
            logger.warning("Low couple detection rate: %.1f%% for video: %s", verdict["rate"] * 100, video_path.name)
        return couple_poses

    def _process(self, batch: List[_Sampled], couple_poses: List[CouplePose]) -> int:
        """Detects, tracks and casts the people of ``batch``, appending one :class:`CouplePose`
        per frame (an empty one for a frame whose detection failed, as the original kept the
        timing); returns how many have both dancers."""
        detections = self._detect_sampled(batch)
        tracked = [people for people in detections if people is not None]
        try:
            roles: List[Optional[dict]] = list(self.tracker._update_frames(tracked)) if tracked else []
        except Exception:  # find the frame that fails, tracking the others one by one
            roles = []
            for item, people in zip(batch, detections):
                if people is None:
                    continue
                try:
                    roles.extend(self.tracker._update_frames([people]))
                except Exception as e:
                    logger.warning("Frame %d failed: %s", item.index, e)
                    roles.append(None)
        answers = iter(roles)
        both = 0
        for item, people in zip(batch, detections):
            frame_roles = next(answers) if people is not None else None
            frame_idx = len(couple_poses)
            if frame_roles is None:
                couple_poses.append(CouplePose(None, None, frame_idx, item.timestamp, False))
                continue
            for person in people:
                person.frame_idx = frame_idx
            lead = people[frame_roles["lead"]] if frame_roles["lead"] is not None else None
            follow = people[frame_roles["follow"]] if frame_roles["follow"] is not None else None
            has_both = lead is not None and follow is not None
            both += has_both
            couple_poses.append(CouplePose(lead, follow, frame_idx, item.timestamp, has_both))
        return both

    def _detect_sampled(self, batch: List[_Sampled]) -> List[Optional[List[PersonPose]]]:
        """The people of each sampled frame (one ``pose.detect`` call for the batch; when it
        fails, one per frame), ``None`` for a frame whose detection failed (logged)."""
        from .pose import letterbox_resized

        model = self.model
        prepared: List[Any] = []
        for item in batch:
            try:
                prepared.append(
                    letterbox_resized(item.picture, item.width, item.height, model.input_width, model.input_height)
                )
            except Exception as e:
                logger.warning("Frame %d failed: %s", item.index, e)
                prepared.append(None)
            item.picture = None  # the resized picture is not needed any more
        results: List[Optional[List[PersonPose]]] = [None] * len(batch)
        ready = [index for index, pair in enumerate(prepared) if pair is not None]
        try:
            found = model.detect_letterboxed([prepared[index] for index in ready])
            for index, people in zip(ready, found):
                results[index] = self._people(people)
        except Exception:
            for index in ready:
                try:
                    results[index] = self._people(model.detect_letterboxed([prepared[index]])[0])
                except Exception as e:
                    logger.warning("Frame %d failed: %s", batch[index].index, e)
        return results

    @staticmethod
    def _people(people: List[dict]) -> List[PersonPose]:
        """The :class:`PersonPose` records (``person_id`` and ``frame_idx`` -1: set later) of
        ``pose.detect``'s people, best score first."""
        from .pose import _modules

        numpy = _modules()[0]
        detections = []
        for person in people:
            box = person["bbox"]
            detections.append(
                PersonPose(
                    person_id=-1,  # Will be assigned by tracker
                    keypoints=numpy.array(
                        [[point["x"], point["y"], point["confidence"]] for point in person["keypoints"]],
                        dtype=numpy.float32,
                    ).reshape(-1, 3),
                    bbox=numpy.array([box["x1"], box["y1"], box["x2"], box["y2"]], dtype=numpy.float32),
                    confidence=float(person["score"]),
                    frame_idx=-1,  # Will be set later
                )
            )
        return detections

    def _detect_frame(self, frame: "np.ndarray") -> List[PersonPose]:
        """
        Detect all people in a single frame.

        Args:
            frame: Video frame (BGR format, H x W x 3 uint8)

        Returns:
            List of PersonPose objects for detected people
        """
        self._settings()
        return self._people(self.model.detect_batch([frame[..., ::-1]])[0])

    def _assign_lead_follow(
        self, detections: List[PersonPose]
    ) -> Tuple[Optional[PersonPose], Optional[PersonPose]]:
        """
        Assign detected people to lead/follow roles (the policy's ``couple.lead-follow``: the
        stock rule puts the leftmost box as lead, the rightmost as follow, one person alone
        as lead).

        Returns:
            Tuple of (lead_pose, follow_pose). Either can be None.
        """
        roles = _answer(_component.call("couple", "lead-follow", [_box(detection.bbox) for detection in detections]))
        lead = detections[roles["lead"]] if roles["lead"] is not None else None
        follow = detections[roles["follow"]] if roles["follow"] is not None else None
        return lead, follow
