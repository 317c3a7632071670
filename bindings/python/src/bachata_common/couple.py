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
  ``couple.update`` answers) and the detection rate (``couple.rate``) from the policy. Videos
  are read by :mod:`bachata_common._video`: only the containers the native host reads (MP4/MOV,
  Matroska/WebM, AVI, MPEG-TS), and only to the end their container declares.

>>> from bachata_common.couple import PersonTracker
>>> tracker = PersonTracker()
>>> tracker._compute_iou([0, 0, 10, 10], [5, 0, 15, 10])
0.3333333333333333
"""

from __future__ import annotations

import errno
import logging
import math
import numbers
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _component
from ._text import printable
from ._video import CONTAINERS, PREFETCH, _batches, _Sampled, _Video  # noqa: F401 (CONTAINERS, PREFETCH: shown here)
from .exceptions import ChoreographyGenerationError, ValidationError

if TYPE_CHECKING:  # numpy is imported when first needed: the package imports without it
    import numpy as np

__all__ = ["CouplePose", "PersonPose", "PersonTracker", "YOLOv8CoupleDetector"]

logger = logging.getLogger("bachata_common")

#: Frames per ``pose.detect`` call.
BATCH = 4
#: The overlap above which the model's boxes are merged when ``YOLOV8_IOU_THRESHOLD`` is not set:
#: ultralytics' default for prediction, which the original detector ran with.
NMS_IOU = 0.7
#: The largest frame skip: a target rate so low that no second frame is ever reached keeps the
#: first frame only.
MAX_FRAME_SKIP = sys.maxsize

_U32 = 2**32 - 1
_U64 = 2**64 - 1


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


def _shown(value: Any) -> str:
    """``repr(value)`` for a message: escaped, and cut after 200 characters."""
    try:
        text = repr(value)
    except Exception:  # an int too long to print, a broken __repr__
        text = f"a {type(value).__name__}"
    return printable(text if len(text) <= 200 else text[:200] + "...")


def _whole(value: Any, what: str, field: str, most: int) -> int:
    """``value`` (an int or a numpy integer, not a bool) from 0 to ``most``; a
    :class:`~bachata_common.ValidationError` saying what ``what`` must be otherwise."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value <= most:
        return int(value)
    shown = _shown(value)
    raise ValidationError(f"{what} must be a whole number from 0 to {most}, not {shown}", field=field, value=shown)


def _number(value: Any, field: str) -> float:
    """``value`` (a real number, not a bool) as a float, its range left to the policy; a
    :class:`~bachata_common.ValidationError` otherwise."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond floats: out of any range
            return math.inf if value > 0 else -math.inf
    shown = _shown(value)
    raise ValidationError(f"{field} must be a number, not {shown}", field=field, value=shown)


def _box(bbox: Any, field: str = "bbox") -> dict:
    """A ``couple.bbox`` record of ``[x1, y1, x2, y2]`` (the policy checks the edges)."""
    try:
        x1, y1, x2, y2 = (float(value) for value in bbox[:4])
    except (TypeError, ValueError, IndexError, OverflowError):
        shown = _shown(bbox)
        raise ValidationError(
            f"{field} must be four numbers [x1, y1, x2, y2], not {shown}", field=field, value=shown
        ) from None
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2}


def _name(path: Any) -> str:
    """A path for a message: escaped, and cut after 300 characters (its length said)."""
    text = printable(path)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


def _existing(video_path: Any) -> Path:
    """``video_path`` as a :class:`~pathlib.Path` to something that exists;
    ``FileNotFoundError("Video not found: ...")`` otherwise (an empty path, a name too long
    for the system too), ``ValueError("Cannot open video: ...")`` when the system cannot
    tell."""
    if isinstance(video_path, (str, bytes)) and not video_path:
        raise FileNotFoundError("Video not found: the path is empty")
    path = Path(video_path)
    try:
        exists = path.exists()
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise FileNotFoundError(f"Video not found: {_name(path)} ({error.strerror})") from None
        cannot = f"Cannot open video: {_name(path)}"
        logger.warning("%s: %s", cannot, printable(error.strerror or error))
        raise ValueError(cannot) from error
    if not exists:
        raise FileNotFoundError(f"Video not found: {_name(path)}")
    return path


def _target_fps(value: Any) -> Union[int, float]:
    """``target_fps`` to divide a frame rate by: a real number (an int, a float, a numpy
    scalar; not a bool), finite and above 0, else a ``ValueError`` saying so. A float below the
    smallest one is the smallest; a ``Fraction`` above the largest, infinity (no frame
    skipped)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            positive = bool(value > 0)
        except Exception:
            positive = False
        if positive and isinstance(value, numbers.Integral):
            return int(value)
        if positive:
            try:
                number = float(value)
            except OverflowError:
                return math.inf
            if math.isfinite(number):
                return number if number > 0 else math.ulp(0.0)
    raise ValueError(f"target_fps must be a finite number of frames per second above 0, not {_shown(value)}")


def _frame_skip(fps: float, target: Union[int, float]) -> int:
    """``max(1, int(fps / target))``, saturating: at most :data:`MAX_FRAME_SKIP` (only the
    first frame is kept), 1 for a target beyond floats."""
    try:
        ratio = fps / target
    except OverflowError:  # an int target beyond floats: far above any frame rate
        return 1
    if not ratio < MAX_FRAME_SKIP:
        return MAX_FRAME_SKIP
    return max(1, int(ratio))


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
    into the same dicts, so code reading them sees what the original showed.

    ``iou_threshold`` is checked when the tracker is made (a number from 0 to 1, as the policy
    says: a :class:`~bachata_common.ValidationError` otherwise). A tracker may be shared between
    threads: each update reads the state, asks the policy and writes the answer back under the
    tracker's lock, so no two updates hand out the same id."""

    def __init__(self, iou_threshold: float = 0.5):
        self._lock = threading.RLock()
        self.iou_threshold = iou_threshold
        self.tracks: Dict[int, "np.ndarray"] = {}  # track_id -> last_bbox
        self.next_id = 0
        self.max_age = 30  # Max frames to keep track without detection
        self.track_ages: Dict[int, int] = {}  # track_id -> frames_since_last_seen
        self.check()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def check(self) -> None:
        """Checks the state and the settings (``iou_threshold``, ``max_age``, set by hand
        perhaps) as an update would, with no frame: a
        :class:`~bachata_common.ValidationError` naming what is refused."""
        with self._lock:
            self._ask([])

    def _state(self) -> dict:
        """The ``tracker-state`` of the current attributes."""
        tracks = []
        for track_id, bbox in self.tracks.items():
            key = _whole(track_id, f"a track id (a key of tracks, {_shown(track_id)})", "tracks", _U64)
            age = self.track_ages.get(track_id, 0)
            tracks.append(
                {
                    "id": key,
                    "bbox": _box(bbox, f"tracks[{key}]"),
                    "unseen": _whole(age, f"track_ages[{key}] (the track's age, in frames)", "track_ages", _U32),
                }
            )
        return {"tracks": tracks, "next-id": _whole(self.next_id, "next_id", "next_id", _U64)}

    def _config(self) -> dict:
        return {
            "iou-threshold": _number(self.iou_threshold, "iou_threshold"),
            "max-age": _whole(self.max_age, "max_age", "max_age", _U32),
        }

    def _ask(self, frames: Sequence[Sequence[PersonPose]]) -> tuple[dict, list[dict]]:
        """``couple.update`` of the current state and ``frames``: the new state and each
        frame's roles (nothing changed). The caller holds the lock."""
        boxes = [[_box(detection.bbox) for detection in detections] for detections in frames]
        state, roles = _answer(_component.call("couple", "update", self._state(), boxes, self._config()))
        return state, roles

    def _update_frames(self, frames: Iterable[Iterable[PersonPose]]) -> list[dict]:
        """Tracks the people of ``frames`` (one call of the policy for them all): sets each
        detection's ``person_id``, updates the state and returns each frame's ``frame-roles``
        (``ids``, ``lead``, ``follow``). On a failure nothing changes."""
        frames = [list(detections) for detections in frames]
        with self._lock:
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
            detections: New detections from current frame (any iterable: it is read once)
            frame_idx: Current frame index

        Returns:
            Detections with updated person IDs
        """
        detections = list(detections)
        self._update_frames([detections])
        return detections

    def _compute_iou(self, bbox1: "np.ndarray", bbox2: "np.ndarray") -> float:
        """Intersection over Union (IoU) between two boxes ``[x1, y1, x2, y2]``, 0.0 to 1.0
        (``couple.iou``). A box that :meth:`update` refuses (an edge not finite, ``x1 > x2`` or
        ``y1 > y2``) is refused here too, with the same
        :class:`~bachata_common.ValidationError` (``boxes[0]``: ``bbox1``, ``boxes[1]``:
        ``bbox2``). Boxes whose area overflows a float (edges beyond about 1e154) have an IoU
        of 0.0, as the policy computes it."""
        a, b = _box(bbox1, "bbox1"), _box(bbox2, "bbox2")
        _answer(_component.call("couple", "lead-follow", [a, b]))  # the boxes' check of update
        return _component.call("couple", "iou", a, b)

    def _match_detections_to_tracks(self, detections: List[PersonPose]) -> Dict[int, int]:
        """Detection index → id of the existing track it matches, as the policy matches them
        (``couple.update`` asked without changing the state)."""
        detections = list(detections)
        with self._lock:
            if len(self.tracks) == 0 or len(detections) == 0:
                return {}
            _state, roles = self._ask([detections])
            return {index: track_id for index, track_id in enumerate(roles[0]["ids"]) if track_id in self.tracks}


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
    ("Failed to load YOLOv8 model ..."); a parameter out of range (``iou_threshold`` too, and a
    ``device`` with spaces or control characters around its name) a ``ValidationError``.

    As in the original, ``iou_threshold`` is the tracker's; the overlap above which the model's
    boxes are merged (NMS) is ``YOLOV8_IOU_THRESHOLD`` when set, else :data:`NMS_IOU` (the
    original ran ultralytics' default). ``confidence_threshold`` and ``max_det`` are read at
    each detection, as the original passed them to each inference (and checked then).

    One detector runs one video at a time: calls of :meth:`detect_couple_poses` from several
    threads on one detector wait for each other (and :meth:`reset_tracker` for the running
    one). Use a detector per thread to run videos side by side.
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

        from .pose import PoseDetector, resolve_model

        if not isinstance(device, str) or device != device.strip() or not device.isprintable():
            shown = _shown(device)
            raise ValidationError(f"device must be a device name such as 'cpu' or 'cuda', not {shown}",
                                  field="device", value=shown)
        # Checked before the model loads, as the settings are.
        tracker = PersonTracker(iou_threshold=iou_threshold)
        config = self._yolov8(confidence_threshold, device, max_det)
        try:
            logger.info("Loading YOLOv8 model: %s", printable(model_name))
            config = replace(config, model_name=str(model_name))
            self.model = PoseDetector(config, model_path=resolve_model(str(model_name), config.models_dir))
            logger.info("Model loaded: %s (%s)", printable(self.model.model), ", ".join(self.model.providers))
        except Exception as e:
            logger.error("Failed to load YOLOv8 model: %s", printable(e))
            raise RuntimeError(f"Failed to load YOLOv8 model '{printable(model_name)}'. Error: {printable(e)}") from e

        self._lock = threading.RLock()
        self.model_name = model_name
        self.confidence_threshold = confidence_threshold
        self.device = device
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.tracker = tracker

        logger.info("YOLOv8CoupleDetector initialized:")
        logger.info("  Model: %s", printable(model_name))
        logger.info("  Confidence threshold: %s", confidence_threshold)
        logger.info("  Device: %s", device)
        logger.info("  IoU threshold: %s", iou_threshold)

    @staticmethod
    def _yolov8(confidence_threshold: Any, device: str, max_det: Any):
        """The model's settings, checked by the policy as it checks ``YOLOV8_*`` (the model is
        resolved apart)."""
        from .config import EnvironmentConfig

        environ = {
            "YOLOV8_CONFIDENCE": repr(float(confidence_threshold)),
            "YOLOV8_DEVICE": device,
            "YOLOV8_IOU_THRESHOLD": repr(NMS_IOU),
            "YOLOV8_MAX_DET": str(int(max_det)),
        }
        for name in ("YOLOV8_IOU_THRESHOLD", "YOLOV8_THREADS", "BACHATA_MODELS_DIR", "BACHATA_ORT_LIB"):
            if os.environ.get(name):
                environ[name] = os.environ[name]
        return EnvironmentConfig(env_file=None, environ=environ).yolov8

    def _settings(self) -> None:
        """The model's settings from the attributes (changed since, perhaps), as the original
        passed them to each inference; a changed one is checked as the constructor checks it
        (a ``ValidationError`` now, rather than every frame failing)."""
        from dataclasses import replace

        config = self.model.config
        if (config.confidence_threshold, config.max_det) != (self.confidence_threshold, self.max_det):
            checked = self._yolov8(self.confidence_threshold, config.device, self.max_det)
            self.model.config = replace(config, confidence_threshold=checked.confidence_threshold, max_det=checked.max_det)

    def reset_tracker(self):
        """Reset the person tracker (call it between videos, so that person IDs start fresh)."""
        with self._lock:
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
        every so many; a rate so low that the ratio has no end, the first one only), its
        ``timestamp`` being its presentation time in seconds from the stream's start; the
        video's rotation metadata is applied first. The frames are decoded ahead in a thread (a
        few at a time: memory does not grow with the video) and their people detected a few
        frames per call.

        ``target_fps`` is a real number (an int, a float, a numpy scalar; not a bool), finite
        and above 0: anything else is a ``ValueError``. Only the containers of MP4/MOV,
        Matroska/WebM, AVI and MPEG-TS are read (a playlist, a concat script or an image named
        ``.mp4`` is "Cannot open video"); a file that ends before the frames or the length its
        container declares is "Cannot decode video", with nothing returned. The settings and
        the tracker's state are checked first: a ``ValidationError`` there is raised, never
        taken for a failing frame. Calls on one detector run one after the other.
        """
        target = _target_fps(target_fps)
        video_path = _existing(video_path)
        with self._lock:
            return self._detect(video_path, target_fps, target)

    def _detect(self, video_path: Path, target_fps: Any, target: Union[int, float]) -> List[CouplePose]:
        logger.info("Processing video: %s", printable(video_path.name))
        self._settings()
        self.tracker.check()
        video = _Video.open(video_path)
        try:
            original_fps = video.fps
            frame_skip = _frame_skip(original_fps, target)
            logger.info("Video properties:")
            logger.info("  Original FPS: %.2f", original_fps)
            logger.info("  Total frames: %d", video.frames)
            logger.info("  Target FPS: %s", _shown(target_fps))
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
            raise ValueError(f"No frames processed from video: {_name(video_path)}")

        verdict = _component.call("couple", "rate", len(couple_poses), both)
        avg_confidence = sum(cp.lead_pose.confidence if cp.lead_pose else 0.0 for cp in couple_poses) / len(
            couple_poses
        )
        logger.info("Processing complete:")
        logger.info("  Processed frames: %d", len(couple_poses))
        logger.info("  Couple detection rate: %.1f%%", verdict["rate"] * 100)
        logger.info("  Average confidence: %.2f", avg_confidence)
        if verdict["low"]:
            logger.warning(
                "Low couple detection rate: %.1f%% for video: %s", verdict["rate"] * 100, printable(video_path.name)
            )
        return couple_poses

    def _process(self, batch: List[_Sampled], couple_poses: List[CouplePose]) -> int:
        """Detects, tracks and casts the people of ``batch``, appending one :class:`CouplePose`
        per frame (an empty one for a frame whose detection failed, as the original kept the
        timing); returns how many have both dancers. A failure of the tracker's state or
        settings (the tracker refuses them with no frame at all) is raised: it is no frame's."""
        first = len(couple_poses)
        detections = self._detect_sampled(batch, first)
        tracked = [people for people in detections if people is not None]
        tracker = self.tracker
        try:
            roles: List[Optional[dict]] = list(tracker._update_frames(tracked)) if tracked else []
        except Exception:  # find the frame that fails, tracking the others one by one
            tracker.check()
            roles = []
            for position, people in enumerate(detections):
                if people is None:
                    continue
                try:
                    roles.extend(tracker._update_frames([people]))
                except Exception as e:
                    logger.warning("Frame %d failed: %s", first + position, printable(e))
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

    def _detect_sampled(self, batch: List[_Sampled], first: int = 0) -> List[Optional[List[PersonPose]]]:
        """The people of each sampled frame (one ``pose.detect`` call for the batch; when it
        fails, one per frame), ``None`` for a frame whose detection failed (logged with its
        ``frame_idx``, ``first`` being the batch's first)."""
        from .pose import letterbox_resized

        model = self.model
        prepared: List[Any] = []
        for position, item in enumerate(batch):
            try:
                prepared.append(
                    letterbox_resized(item.picture, item.width, item.height, model.input_width, model.input_height)
                )
            except Exception as e:
                logger.warning("Frame %d failed: %s", first + position, printable(e))
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
                    logger.warning("Frame %d failed: %s", first + index, printable(e))
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
