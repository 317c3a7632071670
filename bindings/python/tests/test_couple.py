"""The video service's couple detector (``bachata_common.couple``): the original's unit tests
with only the import changed (the detector built on the test model instead of a mocked
ultralytics), then real videos made with ``ffmpeg`` from the astronaut photo and run through
PyAV, the pose model and the policy's tracker."""

import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("onnxruntime")
av = pytest.importorskip("av")

from bachata_common import CouplePose, PersonPose, PersonTracker, ValidationError, YOLOv8CoupleDetector  # noqa: E402
from bachata_common import _component  # noqa: E402
from bachata_common.couple import PREFETCH, _Video  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[3]
SHARED = REPOSITORY.parent / "shared"
MODEL = SHARED / "models" / "yolo11n-pose.onnx"
ASTRONAUT = SHARED / "fixtures" / "astronaut.png"
FFMPEG = shutil.which("ffmpeg")

needs_model = pytest.mark.skipif(not MODEL.is_file(), reason=f"the test model {MODEL} is not here")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None, reason="ffmpeg is not on PATH: the test videos are made with it (CI installs it)"
)


def pose(bbox, person_id=-1, frame_idx=0, confidence=0.9):
    return PersonPose(
        person_id=person_id,
        keypoints=np.random.rand(17, 3),
        bbox=np.array(bbox),
        confidence=confidence,
        frame_idx=frame_idx,
    )


@pytest.fixture(scope="module")
def detector():
    if not MODEL.is_file():
        pytest.skip(f"the test model {MODEL} is not here")
    return YOLOv8CoupleDetector(model_name=str(MODEL))


# --- The original project's unit tests ----------------------------------------------------------


class TestPersonPose:
    def test_person_pose_creation(self):
        keypoints = np.random.rand(17, 3)
        bbox = np.array([100, 100, 200, 200])
        person = PersonPose(person_id=0, keypoints=keypoints, bbox=bbox, confidence=0.85, frame_idx=0)
        assert person.person_id == 0
        assert person.keypoints.shape == (17, 3)
        assert person.bbox.shape == (4,)
        assert person.confidence == 0.85
        assert person.frame_idx == 0


class TestCouplePose:
    def test_couple_pose_with_both_dancers(self):
        lead = pose([50, 50, 150, 250], person_id=0)
        follow = pose([200, 50, 300, 250], person_id=1, confidence=0.85)
        couple = CouplePose(lead_pose=lead, follow_pose=follow, frame_idx=0, timestamp=0.0, has_both_dancers=True)
        assert couple.lead_pose is not None
        assert couple.follow_pose is not None
        assert couple.has_both_dancers is True

    def test_couple_pose_with_one_dancer(self):
        lead = pose([50, 50, 150, 250], person_id=0)
        couple = CouplePose(lead_pose=lead, follow_pose=None, frame_idx=0, timestamp=0.0, has_both_dancers=False)
        assert couple.lead_pose is not None
        assert couple.follow_pose is None
        assert couple.has_both_dancers is False


class TestPersonTracker:
    def test_tracker_initialization(self):
        tracker = PersonTracker(iou_threshold=0.5)
        assert tracker.iou_threshold == 0.5
        assert len(tracker.tracks) == 0
        assert tracker.next_id == 0
        assert tracker.max_age == 30 and tracker.track_ages == {}

    def test_compute_iou_no_overlap(self):
        assert PersonTracker()._compute_iou(np.array([0, 0, 100, 100]), np.array([200, 200, 300, 300])) == 0.0

    def test_compute_iou_full_overlap(self):
        assert PersonTracker()._compute_iou(np.array([0, 0, 100, 100]), np.array([0, 0, 100, 100])) == 1.0

    def test_compute_iou_partial_overlap(self):
        iou = PersonTracker()._compute_iou(np.array([0, 0, 100, 100]), np.array([50, 50, 150, 150]))
        assert 0.0 < iou < 1.0
        assert iou == pytest.approx(2500 / 17500)

    def test_update_with_no_detections(self):
        tracker = PersonTracker()
        updated = tracker.update([], frame_idx=0)
        assert len(updated) == 0
        assert len(tracker.tracks) == 0

    def test_update_creates_new_tracks(self):
        tracker = PersonTracker()
        detections = [pose([50, 50, 150, 250]), pose([200, 50, 300, 250], confidence=0.85)]
        updated = tracker.update(detections, frame_idx=0)
        assert len(updated) == 2
        assert updated[0].person_id == 0
        assert updated[1].person_id == 1
        assert len(tracker.tracks) == 2

    def test_update_maintains_track_ids(self):
        tracker = PersonTracker()
        updated_0 = tracker.update([pose([50, 50, 150, 250]), pose([200, 50, 300, 250])], frame_idx=0)
        updated_1 = tracker.update([pose([55, 55, 155, 255]), pose([205, 55, 305, 255])], frame_idx=1)
        assert updated_1[0].person_id == updated_0[0].person_id
        assert updated_1[1].person_id == updated_0[1].person_id


class TestYOLOv8CoupleDetector:
    def test_initialization_default_params(self):
        # The default model is a PyTorch checkpoint: refused, with what to do.
        with pytest.raises(RuntimeError, match="Failed to load YOLOv8 model 'yolov8n-pose.pt'") as raised:
            YOLOv8CoupleDetector()
        assert "yolo export model=yolov8n-pose.pt format=onnx" in str(raised.value)
        assert isinstance(raised.value.__cause__, ValidationError)

    @needs_model
    def test_initialization_custom_params(self):
        detector = YOLOv8CoupleDetector(
            model_name=str(MODEL), confidence_threshold=0.5, device="cpu", iou_threshold=0.6, max_det=5
        )
        assert detector.model_name == str(MODEL)
        assert detector.confidence_threshold == 0.5
        assert detector.device == "cpu"
        assert detector.iou_threshold == 0.6
        assert detector.max_det == 5
        assert detector.tracker.iou_threshold == 0.6
        config = detector.model.config
        assert (config.confidence_threshold, config.max_det) == (0.5, 5)
        assert config.iou_threshold == 0.7  # NMS: ultralytics' default, as the original ran it

    @needs_model
    def test_settings_are_read_at_each_detection(self, monkeypatch):
        from PIL import Image

        monkeypatch.setenv("YOLOV8_IOU_THRESHOLD", "0.45")
        detector = YOLOv8CoupleDetector(model_name=str(MODEL))
        assert detector.model.config.iou_threshold == 0.45 and detector.tracker.iou_threshold == 0.5
        bgr = np.asarray(Image.open(ASTRONAUT).convert("RGB"))[..., ::-1]
        assert len(detector._detect_frame(bgr)) == 1  # a score of 0.90
        detector.confidence_threshold = 0.95
        assert detector._detect_frame(bgr) == []

    def test_initialization_failure(self, tmp_path):
        with pytest.raises(RuntimeError, match="Failed to load YOLOv8 model"):
            YOLOv8CoupleDetector(model_name=str(tmp_path / "missing.onnx"))
        broken = tmp_path / "broken.onnx"
        broken.write_bytes(b"not a model")
        with pytest.raises(RuntimeError, match="Failed to load YOLOv8 model") as raised:
            YOLOv8CoupleDetector(model_name=str(broken))
        assert raised.value.__cause__ is not None

    @needs_model
    def test_models_dir_is_searched(self, monkeypatch):
        monkeypatch.setenv("BACHATA_MODELS_DIR", str(MODEL.parent))
        assert YOLOv8CoupleDetector(model_name=MODEL.name).model.model == MODEL

    @needs_model
    def test_cuda_without_a_gpu_is_an_error_never_the_cpu(self):
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            pytest.skip("this machine has CUDA")
        with pytest.raises(RuntimeError, match="Failed to load YOLOv8 model") as raised:
            YOLOv8CoupleDetector(model_name=str(MODEL), device="cuda")
        assert "YOLOV8_DEVICE=cuda" in str(raised.value)

    def test_settings_out_of_range_are_refused(self):
        with pytest.raises(ValidationError, match="YOLOV8_CONFIDENCE"):
            YOLOv8CoupleDetector(model_name=str(MODEL), confidence_threshold=1.5)
        with pytest.raises(ValidationError, match="YOLOV8_DEVICE"):
            YOLOv8CoupleDetector(model_name=str(MODEL), device="tpu")

    def test_assign_lead_follow_no_detections(self, detector):
        lead, follow = detector._assign_lead_follow([])
        assert lead is None
        assert follow is None

    def test_assign_lead_follow_one_detection(self, detector):
        lead, follow = detector._assign_lead_follow([pose([100, 100, 200, 200], person_id=0)])
        assert lead is not None
        assert follow is None

    def test_assign_lead_follow_two_detections(self, detector):
        right = pose([200, 100, 300, 200], person_id=1, confidence=0.85)
        left = pose([50, 100, 150, 200], person_id=0)
        for detections in ([left, right], [right, left]):
            lead, follow = detector._assign_lead_follow(detections)
            assert lead is not None
            assert follow is not None
            assert lead.bbox[0] < follow.bbox[0]  # Lead is left of follow
            assert lead is left and follow is right

    def test_detect_couple_poses_invalid_video(self, detector):
        with pytest.raises(FileNotFoundError, match="Video not found: nonexistent_video.mp4"):
            detector.detect_couple_poses("nonexistent_video.mp4")

    def test_detect_couple_poses_cannot_open(self, detector, tmp_path):
        not_a_video = tmp_path / "test_video.mp4"
        not_a_video.write_text("not a video\n" * 100)
        with pytest.raises(ValueError, match="Cannot open video"):
            detector.detect_couple_poses(str(not_a_video))

    def test_detect_frame(self, detector):
        from PIL import Image

        bgr = np.asarray(Image.open(ASTRONAUT).convert("RGB"))[..., ::-1]
        detections = detector._detect_frame(bgr)
        assert len(detections) == 1
        person = detections[0]
        assert person.keypoints.shape == (17, 3)
        assert person.bbox.shape == (4,)
        assert 0.0 <= person.confidence <= 1.0
        assert (person.person_id, person.frame_idx) == (-1, -1)
        # The same person as the pose module sees in the RGB image.
        expected = detector.model.detect(ASTRONAUT)[0]["bbox"]
        assert person.bbox == pytest.approx([expected["x1"], expected["y1"], expected["x2"], expected["y2"]], abs=1e-3)


# --- The tracker is the policy's --------------------------------------------------------------


def test_the_tracker_asks_the_policy_and_keeps_the_original_state(monkeypatch):
    calls = []
    original = _component.call

    def spy(interface, function, *args):
        calls.append((interface, function))
        return original(interface, function, *args)

    monkeypatch.setattr(_component, "call", spy)
    tracker = PersonTracker()
    assert calls == [("couple", "update")]  # its settings checked, with no frame
    calls.clear()
    first = [pose([50, 50, 150, 250]), pose([200, 50, 300, 250])]
    tracker.update(first, frame_idx=0)
    assert calls == [("couple", "update")]
    # The original's dicts: each track's last box (the detection's own array) and age (a new
    # track was not matched in its frame: it ages there, as in the original).
    assert list(tracker.tracks) == [0, 1] and tracker.tracks[0] is first[0].bbox
    assert tracker.track_ages == {0: 1, 1: 1} and tracker.next_id == 2
    tracks, ages = tracker.tracks, tracker.track_ages
    tracker.update([pose([52, 50, 152, 250])], frame_idx=1)
    assert tracker.tracks is tracks and tracker.track_ages is ages  # updated in place
    assert tracker.track_ages == {0: 0, 1: 2}
    assert tracker._match_detections_to_tracks([pose([205, 50, 305, 250]), pose([600, 0, 700, 100])]) == {0: 1}
    assert tracker.track_ages == {0: 0, 1: 2}  # matching alone changes nothing
    for _ in range(30):
        tracker.update([], frame_idx=2)
    assert tracker.track_ages == {0: 30} and list(tracker.tracks) == [0]
    # State set by hand is what the policy gets.
    tracker.max_age = 0
    tracker.update([pose([400, 0, 500, 100])], frame_idx=3)
    assert tracker.tracks == {} and tracker.next_id == 3


def test_a_box_the_policy_refuses_changes_nothing():
    tracker = PersonTracker()
    tracker.update([pose([0, 0, 10, 10])], frame_idx=0)
    with pytest.raises(ValidationError):
        tracker.update([pose([float("nan"), 0, 10, 10])], frame_idx=1)
    assert tracker.track_ages == {0: 1} and tracker.next_id == 1


def test_importing_the_package_loads_neither_numpy_nor_av():
    code = (
        "import sys\nbefore = set(sys.modules)\nimport bachata_common\n"
        "from bachata_common import YOLOv8CoupleDetector, PersonTracker, PersonPose, CouplePose\n"
        "from bachata_common.couple import YOLOv8CoupleDetector as same\n"
        "assert same is YOLOv8CoupleDetector\n"
        "loaded = set(sys.modules) - before\n"
        "print(sorted(name for name in loaded if name.split('.')[0] in ('numpy', 'av', 'onnxruntime', 'PIL')))"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert output.stdout.strip() == "[]"


# --- Videos -------------------------------------------------------------------------------------


def ffmpeg(*args):
    subprocess.run([FFMPEG, "-v", "error", "-y", "-nostdin", *args], check=True, capture_output=True, timeout=120)


def clip(path, size, fps, seconds, people=(), after="", output=("-c:v", "libx264", "-preset", "ultrafast")):
    """A clip of ``seconds`` at ``fps`` on a plain background of ``size`` (``WxH``) with the
    astronaut photo pasted for each of ``people`` (``(side, x, y, enable)``: its size in pixels,
    ffmpeg expressions of its position and when it shows); ``after`` filters the result."""
    inputs = ["-f", "lavfi", "-i", f"color=c=0x506070:s={size}:r={fps}:d={seconds}"]
    chains, last = [], "0:v"
    for number, (side, x, y, enable) in enumerate(people):
        inputs += ["-loop", "1", "-i", str(ASTRONAUT)]
        chains.append(f"[{number + 1}:v]scale={side}:{side}[p{number}]")
        when = f":enable='{enable}'" if enable else ""
        chains.append(f"[{last}][p{number}]overlay=x='{x}':y='{y}':shortest=1{when}[v{number}]")
        last = f"v{number}"
    chains.append(f"[{last}]{after}format=yuv420p[out]")
    ffmpeg(*inputs, "-filter_complex", ";".join(chains), "-map", "[out]", *output, str(path))
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    if FFMPEG is None:
        pytest.skip("ffmpeg is not on PATH: the test videos are made with it (CI installs it)")
    return tmp_path_factory.mktemp("videos")


def times(result):
    return [couple.timestamp for couple in result]


def x1(person):
    return float(person.bbox[0])


@needs_ffmpeg
def test_two_dancers_crossing(detector, videos, caplog):
    """Two people 300 px tall on 1280×720, 6 s at 30 fps, moving towards each other at 130 px/s,
    crossing at 3 s and moving apart: sampled at 5 fps, every 6th frame."""
    path = clip(videos / "crossing.mp4", "1280x720", 30, 6,
                [(300, "100+130*t", 200, None), (300, "880-130*t", 200, None)])
    detector.reset_tracker()
    with caplog.at_level(logging.INFO, logger="bachata_common"):
        result = detector.detect_couple_poses(str(path), target_fps=5)
    assert "Frame skip: 6" in caplog.text
    assert len(result) == 30
    assert [couple.frame_idx for couple in result] == list(range(30))
    assert times(result) == pytest.approx([index * 6 / 30 for index in range(30)], abs=1e-6)
    apart = {"before": [], "after": []}
    for couple in result:
        t = couple.timestamp
        left, right = sorted((100 + 130 * t, 880 - 130 * t))
        if right - left < 330:  # overlapping photos: one may hide the other
            continue
        assert couple.has_both_dancers, t
        lead, follow = couple.lead_pose, couple.follow_pose
        assert x1(lead) < x1(follow)  # the lead is the left box
        assert x1(lead) == pytest.approx(left, abs=30) and x1(follow) == pytest.approx(right, abs=30)
        assert lead.frame_idx == follow.frame_idx == couple.frame_idx
        assert lead.keypoints.shape == (17, 3) and lead.bbox.shape == (4,) and 0 < lead.confidence <= 1
        apart["before" if t < 3 else "after"].append((lead.person_id, follow.person_id))
    for side, ids in apart.items():
        assert len(ids) >= 8, side
        assert len(set(ids)) == 1, f"ids change while the dancers are apart ({side} crossing): {ids}"
        assert ids[0][0] != ids[0][1]
    assert "Couple detection rate" in caplog.text and "Low couple detection rate" not in caplog.text
    assert len(detector.tracker.tracks) >= 2


@needs_ffmpeg
def test_one_dancer_alone_is_the_lead(detector, videos, caplog):
    path = clip(videos / "alone.mp4", "640x360", 10, 1, [(200, 220, 100, None)])
    detector.reset_tracker()
    with caplog.at_level(logging.INFO, logger="bachata_common"):
        result = detector.detect_couple_poses(path, target_fps=5)
    assert times(result) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8], abs=1e-6)
    for couple in result:
        assert couple.lead_pose is not None and couple.follow_pose is None
        assert not couple.has_both_dancers
        assert couple.lead_pose.person_id == 0
        assert couple.lead_pose.bbox[0] == pytest.approx(225, abs=20)
    assert "Low couple detection rate: 0.0% for video: alone.mp4" in caplog.text


@needs_ffmpeg
def test_a_cut_to_an_empty_frame_keeps_the_timing(detector, videos):
    """The dancer is gone from 1 s to 2 s: those frames have nobody, the times run on, and the
    dancer comes back with the same id (unseen for fewer than ``max_age`` frames)."""
    path = clip(videos / "cut.mp4", "640x360", 10, 3, [(200, 220, 100, "lt(t,0.95)+gt(t,2.05)")])
    detector.reset_tracker()
    result = detector.detect_couple_poses(str(path), target_fps=5)
    assert times(result) == pytest.approx([index * 0.2 for index in range(15)], abs=1e-6)
    for couple in result:
        if 0.95 < couple.timestamp < 2.05:
            assert couple.lead_pose is None and couple.follow_pose is None and not couple.has_both_dancers
        else:
            assert couple.lead_pose is not None and couple.follow_pose is None
    assert {couple.lead_pose.person_id for couple in result if couple.lead_pose} == {0}


def rotation(path) -> int:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).rotation


@needs_ffmpeg
def test_rotation_metadata_is_honoured(detector, videos):
    """A phone's portrait clip: 640×360 frames stored sideways (the top of the picture on the
    left), with a display matrix turning them a quarter clockwise. The dancer comes out
    upright in a 360×640 picture."""
    stored = clip(videos / "sideways.mp4", "360x640", 10, 0.4, [(300, 30, 150, None)], after="transpose=2,")
    tagged = videos / "portrait.mp4"
    attempts = (
        ["-display_rotation", "-90", "-i", str(stored)],  # FFmpeg 6 and later
        ["-i", str(stored), "-metadata:s:v", "rotate=90"],
        ["-i", str(stored), "-metadata:s:v", "rotate=270"],  # FFmpeg 5 reads the tag the other way
    )
    for arguments in attempts:
        try:
            ffmpeg(*arguments, "-c", "copy", str(tagged))
        except subprocess.CalledProcessError:
            continue
        if rotation(tagged) == -90:
            break
    else:
        pytest.fail("ffmpeg wrote no display matrix of -90 degrees")
    detector.reset_tracker()
    result = detector.detect_couple_poses(str(tagged), target_fps=5)
    assert times(result) == pytest.approx([0.0, 0.2], abs=1e-6)
    for couple in result:
        person = couple.lead_pose
        assert person is not None and couple.follow_pose is None
        x1, y1, x2, y2 = (float(value) for value in person.bbox)
        assert x2 <= 361 and y2 <= 641  # in the upright picture
        assert (x1, y1) == pytest.approx((37, 152), abs=25)
        nose, shoulders = person.keypoints[0], person.keypoints[5:7]
        assert nose[1] < shoulders[:, 1].min()  # head up


@needs_ffmpeg
def test_broken_files_are_refused_whole(detector, videos, tmp_path):
    alone = clip(videos / "whole.mp4", "640x360", 10, 1, [(200, 220, 100, None)])
    faststart = videos / "faststart.mp4"
    ffmpeg("-i", str(alone), "-c", "copy", "-movflags", "+faststart", str(faststart))
    data, early = alone.read_bytes(), faststart.read_bytes()
    cut = tmp_path / "cut.mp4"  # the index (moov) was at the end: gone
    cut.write_bytes(data[: len(data) // 2])
    cut_early = tmp_path / "cut-early.mp4"  # the index first: the frames stop half way
    cut_early.write_bytes(early[: len(early) // 2])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)  # never opened for reading: it would wait for a writer
    audio = tmp_path / "audio.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=0.5", str(audio))
    for path in (cut, empty, text, tmp_path, fifo, audio):
        with pytest.raises(ValueError, match="^Cannot open video: "):
            detector.detect_couple_poses(str(path))
    with pytest.raises(ValueError, match="^Cannot decode video: "):
        detector.detect_couple_poses(str(cut_early), target_fps=100)
    assert not [thread for thread in threading.enumerate() if thread.name == "bachata-video"]


@needs_ffmpeg
def test_variable_frame_rate_times_are_the_real_ones(detector, videos, caplog):
    """30 fps for a second, then every third frame (10 fps): the times are the frames' own."""
    source = clip(videos / "steady.mp4", "320x180", 30, 2)
    variable = videos / "variable.mp4"
    select = ["-vf", "select='lt(n,30)+not(mod(n,3))'", "-c:v", "libx264", "-preset", "ultrafast"]
    try:
        ffmpeg("-i", str(source), *select, "-fps_mode", "vfr", str(variable))
    except subprocess.CalledProcessError:  # FFmpeg before 5.1
        ffmpeg("-i", str(source), *select, "-vsync", "vfr", str(variable))
    kept = [n / 30 for n in range(60) if n < 30 or n % 3 == 0]
    detector.reset_tracker()
    with caplog.at_level(logging.INFO, logger="bachata_common"):
        result = detector.detect_couple_poses(str(variable), target_fps=10)
    skip = int(caplog.text.split("Frame skip: ")[1].split()[0])
    assert times(result) == pytest.approx(kept[::skip], abs=1e-6)
    steps = {round(b - a, 3) for a, b in zip(times(result), times(result)[1:])}
    assert len(steps) > 1, steps  # not evenly spaced
    assert all(couple.lead_pose is None for couple in result)


@needs_ffmpeg
def test_every_frame_skip_th_frame_is_processed(detector, videos):
    """3 frames at 30 fps and a target of 15: frames 0 and 2 (the original's full-pipeline test)."""
    path = clip(videos / "three.mp4", "640x480", 30, 0.1)
    result = detector.detect_couple_poses(str(path), target_fps=15)
    assert len(result) == 2
    assert all(isinstance(couple, CouplePose) for couple in result)
    assert times(result) == pytest.approx([0.0, 2 / 30], abs=1e-6)
    for target in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="target_fps"):
            detector.detect_couple_poses(str(path), target_fps=target)


@needs_ffmpeg
def test_a_frame_whose_detection_fails_is_kept_empty(detector, videos, monkeypatch, caplog):
    path = clip(videos / "still.mp4", "640x360", 10, 1, [(200, 220, 100, None)])
    model = detector.model
    real = model.detect_letterboxed
    calls = []

    def flaky(prepared):
        calls.append(len(prepared))
        if len(prepared) > 1 or len(calls) == 3:  # the batch, then the second frame alone
            raise RuntimeError("inference failed")
        return real(prepared)

    monkeypatch.setattr(model, "detect_letterboxed", flaky)
    detector.reset_tracker()
    with caplog.at_level(logging.WARNING, logger="bachata_common"):
        result = detector.detect_couple_poses(str(path), target_fps=5)
    assert times(result) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8], abs=1e-6)
    assert [couple.lead_pose is not None for couple in result] == [True, False, True, True, True]
    assert "Frame 1 failed: inference failed" in caplog.text  # its frame_idx
    assert {couple.lead_pose.person_id for couple in result if couple.lead_pose} == {0}


@needs_ffmpeg
def test_decoding_runs_ahead_boundedly_and_stops_with_the_reader(videos):
    path = clip(videos / "long.mp4", "320x180", 30, 2)
    video = _Video.open(path)
    frames = video.sampled(1, 640, 640)
    first = next(frames)
    assert first.picture.shape == (360, 640, 3) and (first.width, first.height) == (320, 180)
    assert video._queue.maxsize == PREFETCH
    video.close()
    assert not video._thread.is_alive()
