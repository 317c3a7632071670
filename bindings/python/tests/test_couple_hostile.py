"""The couple detector against files and arguments meant to break it: files named ``.mp4``
that are FFmpeg scripts (a concat list, an SDP description, a playlist) or pictures, files cut
between two frames, settings out of range, shared trackers, Ctrl-C while a file opens, and
names that would forge log lines."""

import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("onnxruntime")
av = pytest.importorskip("av")

from bachata_common import PersonPose, PersonTracker, ValidationError, YOLOv8CoupleDetector  # noqa: E402
from bachata_common import _video  # noqa: E402
from bachata_common.couple import _Video  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[3]
SHARED = REPOSITORY.parent / "shared"
MODEL = SHARED / "models" / "yolo11n-pose.onnx"
ASTRONAUT = SHARED / "fixtures" / "astronaut.png"
FFMPEG = shutil.which("ffmpeg")
STRACE = shutil.which("strace")


def pose(bbox):
    return PersonPose(person_id=-1, keypoints=np.zeros((17, 3)), bbox=np.array(bbox, dtype=float),
                      confidence=0.9, frame_idx=0)


def ffmpeg(*args):
    subprocess.run([FFMPEG, "-v", "error", "-y", "-nostdin", *args], check=True, capture_output=True, timeout=120)


def pattern(path, seconds=4, fps=25, *output):
    """``seconds`` of FFmpeg's test pattern at ``fps`` on 160×120."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc=s=160x120:r={fps}:d={seconds}", *output, str(path))
    return path


def cut_before_packet(source, target, packet):
    """``source`` up to the first byte of its video packet number ``packet``: the file ends
    exactly between two frames."""
    with av.open(str(source)) as container:
        positions = [p.pos for p in container.demux(video=0) if p.size]
    target.write_bytes(source.read_bytes()[: positions[packet]])
    return target


@pytest.fixture(scope="module")
def detector():
    if not MODEL.is_file():
        pytest.skip(f"the test model {MODEL} is not here")
    return YOLOv8CoupleDetector(model_name=str(MODEL))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    if FFMPEG is None:
        pytest.skip("ffmpeg is not on PATH: the test videos are made with it (CI installs it)")
    return tmp_path_factory.mktemp("hostile-videos")


@pytest.fixture(scope="module")
def three(videos):
    """3 frames at 30 fps."""
    return pattern(videos / "three.mp4", 0.1, 30, "-c:v", "libx264", "-preset", "ultrafast")


# --- Only the allowed containers, and nothing they name --------------------------------------

OPEN_ALL = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from bachata_common.couple import _Video
    answers = {}
    for name in sys.argv[1:]:
        started = time.monotonic()
        try:
            _Video.open(Path(name)).close()
            answers[name] = ["opened", time.monotonic() - started]
        except ValueError as error:
            answers[name] = [str(error), time.monotonic() - started]
    print(json.dumps(answers))
    """
)

HOSTILE = {
    # An ffconcat script reads the files it lists, relative to the working directory.
    "concat.mp4": "ffconcat version 1.0\nfile other-user.mp4\n",
    "self.mp4": "ffconcat version 1.0\nfile self.mp4\nfile self.mp4\n",
    "fifo.mp4": "ffconcat version 1.0\nfile waiting.fifo\n",
    # An SDP description opens UDP sockets and waits for packets.
    "sdp.mp4": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 0.0.0.0\nt=0 0\nm=video 5004 RTP/AVP 96\n"
               "a=rtpmap:96 H264/90000\n",
    # A playlist reads its segments.
    "playlist.mp4": "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nother-user.mp4\n#EXT-X-ENDLIST\n",
}


@pytest.fixture(scope="module")
def hostile(videos, tmp_path_factory):
    """A directory of files named ``.mp4`` that are not videos FFmpeg should read, next to a
    real video they name and a FIFO."""
    where = tmp_path_factory.mktemp("hostile")
    shutil.copy(pattern(videos / "pattern.mp4", 1, 25, "-c:v", "libx264", "-preset", "ultrafast"),
                where / "other-user.mp4")
    os.mkfifo(where / "waiting.fifo")
    for name, text in HOSTILE.items():
        (where / name).write_text(text)
    shutil.copy(ASTRONAUT, where / "png.mp4")
    from PIL import Image

    Image.open(ASTRONAUT).convert("RGB").save(where / "jpeg.mp4", format="JPEG")
    return where


NAMES = [*HOSTILE, "png.mp4", "jpeg.mp4"]


def open_all(where, names, strace_log=None):
    command = [sys.executable, "-c", OPEN_ALL, *names]
    if strace_log is not None:
        command = [STRACE, "-f", "-qq", "-e", "trace=open,openat,socket,bind,connect", "-o", str(strace_log), *command]
    # Run apart, in the directory of the files: a script that blocks fails the test, not the run.
    output = subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=120)
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout.strip().splitlines()[-1])


def test_only_the_allowed_containers_are_opened_and_nothing_they_name(hostile):
    answers = open_all(hostile, NAMES + ["other-user.mp4"])
    assert answers.pop("other-user.mp4")[0] == "opened"
    for name, (answer, seconds) in answers.items():
        assert answer == f"Cannot open video: {name}", name
        assert seconds < 5, f"{name} took {seconds:.1f} s"  # no socket waited on, no FIFO


def test_a_refused_script_is_refused_before_it_opens_anything(hostile, tmp_path):
    if STRACE is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "strace.log"
    try:
        answers = open_all(hostile, NAMES, strace_log=log)
    except AssertionError as error:
        if "ptrace" in str(error) or "Operation not permitted" in str(error):
            pytest.skip(f"strace cannot trace here: {error}")
        raise
    assert all(answer.startswith("Cannot open video") for answer, _ in answers.values())
    calls = log.read_text().splitlines()
    assert not [line for line in calls if "socket(" in line or "bind(" in line or "connect(" in line]
    assert not [line for line in calls if "other-user.mp4" in line or "waiting.fifo" in line]
    assert len([line for line in calls if '"self.mp4"' in line]) == 1  # opened once, by us


def test_the_open_options_are_the_native_hosts():
    assert _video.CONTAINERS == ("mov", "matroska", "avi", "mpegts")
    assert _video.OPEN_OPTIONS == {"format_whitelist": "mov,matroska,avi,mpegts", "protocol_whitelist": "none"}


@pytest.mark.parametrize("container", ["mkv", "avi", "ts", "mov"])
def test_the_allowed_containers_open(videos, container):
    path = pattern(videos / f"pattern.{container}", 0.2, 25, "-c:v", "mpeg4")
    video = _Video.open(path)
    try:
        assert video.stream.type == "video"
    finally:
        video.close()


def test_a_picture_named_mp4_is_not_a_video(detector, hostile, caplog):
    with caplog.at_level(logging.WARNING, logger="bachata_common"):
        with pytest.raises(ValueError, match="^Cannot open video: "):
            detector.detect_couple_poses(str(hostile / "png.mp4"))
    assert "is not a video file of a container read here" in caplog.text


# --- Files cut between two frames ---------------------------------------------------------------


def test_a_faststart_file_cut_between_two_frames_is_refused_whole(detector, videos, tmp_path, caplog):
    whole = pattern(videos / "fast.mp4", 4, 25, "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart")
    cut = cut_before_packet(whole, tmp_path / "cut.mp4", 50)
    with av.open(str(cut)) as container:  # FFmpeg itself sees a whole file that ends early
        assert container.streams.video[0].frames == 100
        assert sum(1 for _ in container.decode(video=0)) == 50
    with caplog.at_level(logging.WARNING, logger="bachata_common"):
        with pytest.raises(ValueError, match="^Cannot decode video: "):
            detector.detect_couple_poses(str(cut), target_fps=5)
    assert "it ends after 50 of the 100 frames its container declares" in caplog.text
    assert not [thread for thread in threading.enumerate() if thread.name == "bachata-video"]


@pytest.mark.parametrize("container", ["avi", "mkv"])
def test_other_containers_cut_between_two_frames_are_refused(detector, videos, tmp_path, container):
    whole = pattern(videos / f"long.{container}", 4, 25, "-c:v", "mpeg4")
    cut = cut_before_packet(whole, tmp_path / f"cut.{container}", 50)
    with pytest.raises(ValueError, match="^Cannot decode video: "):
        detector.detect_couple_poses(str(cut), target_fps=5)


def test_an_edit_list_that_hides_frames_is_no_cut(detector, videos):
    """A clip cut from a longer one without re-encoding keeps the frames it needs to decode its
    first one, hidden by an edit list: fewer frames decode than the file holds, and that is no
    cut."""
    whole = pattern(videos / "source.mp4", 4, 25, "-c:v", "libx264", "-preset", "ultrafast")
    trimmed = videos / "trimmed.mp4"
    ffmpeg("-ss", "1.3", "-i", str(whole), "-t", "1.5", "-c", "copy", str(trimmed))
    with av.open(str(trimmed)) as container:
        declared = container.streams.video[0].frames
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded < declared  # what a count of the decoded frames would take for a cut
    result = detector.detect_couple_poses(str(trimmed), target_fps=5)
    assert len(result) == len(range(0, decoded, 5))


# --- Settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "threshold", [1.5, -0.1, float("nan"), float("inf"), pytest.param(10**400, id="10**400"), "0.5", None, True]
)
def test_an_iou_threshold_out_of_range_is_refused_when_made(threshold):
    with pytest.raises(ValidationError, match="iou_threshold") as raised:
        PersonTracker(iou_threshold=threshold)
    assert raised.value.field == "iou_threshold"


def test_the_detector_checks_iou_threshold_before_loading_the_model(tmp_path):
    with pytest.raises(ValidationError, match="iou_threshold must be from 0 to 1"):
        YOLOv8CoupleDetector(model_name=str(tmp_path / "missing.onnx"), iou_threshold=1.5)


@pytest.mark.parametrize("device", ["cpu\n", " cpu", "cpu\x1b[31m", b"cpu", None])
def test_a_device_with_more_than_its_name_is_refused(device):
    with pytest.raises(ValidationError, match="device must be a device name") as raised:
        YOLOv8CoupleDetector(model_name=str(MODEL), device=device)
    assert "\n" not in str(raised.value) and "\x1b" not in str(raised.value)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: setattr(d.tracker, "max_age", -1), "max_age must be a whole number"),
        (lambda d: setattr(d.tracker, "iou_threshold", 2.0), "iou_threshold must be from 0 to 1"),
        (lambda d: d.tracker.track_ages.update({0: -1}) or d.tracker.tracks.update({0: np.zeros(4)}),
         r"track_ages\[0\]"),
        (lambda d: setattr(d, "confidence_threshold", 5.0), "YOLOV8_CONFIDENCE"),
    ],
    ids=["max_age", "iou_threshold", "track_ages", "confidence_threshold"],
)
def test_a_setting_broken_by_hand_is_raised_not_taken_for_failing_frames(detector, three, change, message):
    detector.reset_tracker()
    saved = detector.confidence_threshold
    change(detector)
    try:
        with pytest.raises(ValidationError, match=message):
            detector.detect_couple_poses(str(three))
    finally:
        detector.confidence_threshold = saved
        detector.reset_tracker()


def test_a_setting_broken_during_a_video_is_raised(detector, videos, monkeypatch):
    """The tracker refuses a batch because of its settings, not of a frame: raised as it is."""
    path = pattern(videos / "eight.mp4", 8 / 25, 25, "-c:v", "libx264", "-preset", "ultrafast")
    detector.reset_tracker()
    tracker = detector.tracker
    real = tracker._update_frames

    def breaking(frames):
        tracker.max_age = -1
        return real(frames)

    monkeypatch.setattr(tracker, "_update_frames", breaking)
    with pytest.raises(ValidationError, match="max_age"):
        detector.detect_couple_poses(str(path), target_fps=25)
    detector.reset_tracker()


def test_a_frame_whose_boxes_are_refused_is_kept_empty(detector, videos, monkeypatch, caplog):
    path = pattern(videos / "four.mp4", 4 / 25, 25, "-c:v", "libx264", "-preset", "ultrafast")
    real = detector._people
    calls = []

    def people(found):
        calls.append(1)
        if len(calls) == 2:
            return [pose([float("nan"), 0, 10, 10])]
        return real(found) + [pose([10, 10, 50, 90])]

    monkeypatch.setattr(detector, "_people", people)
    detector.reset_tracker()
    with caplog.at_level(logging.WARNING, logger="bachata_common"):
        result = detector.detect_couple_poses(str(path), target_fps=25)
    assert [couple.lead_pose is not None for couple in result] == [True, False, True, True]
    assert "Frame 1 failed: " in caplog.text
    assert {couple.lead_pose.person_id for couple in result if couple.lead_pose} == {0}


# --- Names shown ---------------------------------------------------------------------------------


def test_names_cannot_forge_log_lines(detector, tmp_path, caplog):
    forged = "clip\nWARNING forged line\x1b[2J\u202e.mp4"
    with pytest.raises(FileNotFoundError) as raised:
        detector.detect_couple_poses(str(tmp_path / forged))
    text = str(raised.value)
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text
    assert "clip\\nWARNING forged line\\u{1b}[2J\\u{202e}.mp4" in text
    not_video = tmp_path / forged
    not_video.write_text("not a video\n" * 10)
    with caplog.at_level(logging.INFO, logger="bachata_common"):
        with pytest.raises(ValueError, match="^Cannot open video: ") as raised:
            detector.detect_couple_poses(str(not_video))
    assert "\n" not in str(raised.value)
    assert caplog.records
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\x1b" not in message and "\u202e" not in message, message


def test_a_model_name_cannot_forge_log_lines(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bachata_common"):
        with pytest.raises(RuntimeError) as raised:
            YOLOv8CoupleDetector(model_name=str(tmp_path / "model\nforged.onnx"))
    assert "\n" not in str(raised.value)
    assert all("\n" not in record.getMessage() for record in caplog.records)


def test_an_empty_path_is_named(detector):
    with pytest.raises(FileNotFoundError, match="^Video not found: the path is empty$"):
        detector.detect_couple_poses("")


def test_a_name_too_long_is_not_found(detector):
    with pytest.raises(FileNotFoundError, match="^Video not found: a{300}\\.\\.\\. \\(5000 characters\\)"):
        detector.detect_couple_poses("a" * 5000)
    with pytest.raises(FileNotFoundError, match="Video not found: a\\\\u\\{0\\}b"):
        detector.detect_couple_poses("a\x00b")


# --- Threads -----------------------------------------------------------------------------------


def test_a_shared_tracker_hands_out_each_id_once():
    tracker = PersonTracker()
    tracker.max_age = 10**6
    ids, failures = [], []

    def run(worker):
        try:
            for step in range(20):
                x = (worker * 20 + step) * 1000.0  # far from every other box: always a new person
                ids.append(tracker.update([pose([x, 0, x + 10, 10])], frame_idx=step)[0].person_id)
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(ids) == list(range(160))
    assert tracker.next_id == 160 and sorted(tracker.tracks) == list(range(160))


def test_a_tracker_copies_and_pickles():
    import copy
    import pickle

    tracker = PersonTracker()
    tracker.update([pose([0, 0, 10, 10])], frame_idx=0)
    for other in (copy.deepcopy(tracker), pickle.loads(pickle.dumps(tracker))):
        assert other.update([pose([100, 0, 110, 10])], frame_idx=1)[0].person_id == 1
        assert other._lock is not tracker._lock
    assert tracker.next_id == 1


def test_calls_on_one_detector_run_one_after_the_other(detector, three, monkeypatch):
    running, most = [0], [0]
    real = detector._detect

    def counted(*args):
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)
            return real(*args)
        finally:
            running[0] -= 1

    monkeypatch.setattr(detector, "_detect", counted)
    results = []
    threads = [threading.Thread(target=lambda: results.append(detector.detect_couple_poses(str(three))))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and len(results) == 4
    assert all(len(result) == 2 for result in results)


# --- Interruptions ---------------------------------------------------------------------------------


class Interrupting:
    """A file whose call number ``at`` (of its reads and seeks) gets Ctrl-C while it runs."""

    def __init__(self, file, at):
        self.file, self.at, self.calls = file, at, 0

    def _call(self):
        self.calls += 1
        if self.calls == self.at:
            signal.raise_signal(signal.SIGINT)

    def read(self, size=-1):
        self._call()
        return self.file.read(size)

    def seek(self, *args):
        self._call()
        return self.file.seek(*args)

    def tell(self):
        return self.file.tell()

    def close(self):
        self.file.close()


def open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
@pytest.mark.parametrize("at", [1, 2, 3])  # a read, then seeks
def test_ctrl_c_while_a_video_opens_is_a_keyboard_interrupt(detector, three, monkeypatch, at):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's KeyboardInterrupt here")
    real = _video._Source
    monkeypatch.setattr(_video, "_Source", lambda file: real(Interrupting(file, at)))
    dropped = []
    monkeypatch.setattr(sys, "unraisablehook", dropped.append)
    before = open_fds()
    with pytest.raises(KeyboardInterrupt):
        detector.detect_couple_poses(str(three))
    assert not dropped  # nothing PyAV printed and went on with
    assert open_fds() == before


def test_an_interrupted_open_is_not_a_verdict_on_the_file(detector, three, monkeypatch):
    def interrupted(*args, **kwargs):
        raise InterruptedError(4, "Interrupted system call")

    monkeypatch.setattr(av, "open", interrupted)
    with pytest.raises(InterruptedError):
        detector.detect_couple_poses(str(three))


# --- target_fps --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["15", None, 1 + 2j, np.array([5.0]), True, False, 0, -1, float("nan"), float("inf"),
     pytest.param(-(10**400), id="-10**400")],
)
def test_target_fps_must_be_a_finite_positive_number(detector, three, target):
    with pytest.raises(ValueError, match="^target_fps must be a finite number of frames per second above 0"):
        detector.detect_couple_poses(str(three), target_fps=target)


@pytest.mark.parametrize(
    "target, frames",
    [
        (15, 2), (np.float64(15), 2), (np.int64(15), 2), (Fraction(15), 2), (np.float32(15.0), 2),
        (5e-324, 1), pytest.param(Fraction(1, 10**400), 1, id="1/10**400"), (1e-300, 1),  # the first frame
        pytest.param(10**400, 3, id="10**400"), pytest.param(Fraction(10**400), 3, id="Fraction(10**400)"),
        (1e308, 3),  # every frame
    ],
)
def test_target_fps_of_any_size_samples_the_frames(detector, three, target, frames, caplog):
    with caplog.at_level(logging.INFO, logger="bachata_common"):
        result = detector.detect_couple_poses(str(three), target_fps=target)
    assert len(result) == frames
    skip = int(caplog.text.split("Frame skip: ")[1].split()[0])
    assert skip == (sys.maxsize if frames == 1 else 1 if frames == 3 else 2)


# --- The tracker's arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ([float("nan"), 0, 10, 10], [0, 0, 10, 10]),
        ([0, 0, 10, 10], [10, 0, 5, 10]),  # x1 > x2
        ([0, 10, 10, 5], [0, 0, 10, 10]),  # y1 > y2
        ([0, 0, float("inf"), 10], [0, 0, 10, 10]),
    ],
)
def test_compute_iou_refuses_the_boxes_update_refuses(a, b):
    tracker = PersonTracker()
    with pytest.raises(ValidationError, match="a box needs finite edges"):
        tracker._compute_iou(np.array(a), np.array(b))
    with pytest.raises(ValidationError, match="a box needs finite edges"):
        tracker.update([pose(a), pose(b)], frame_idx=0)


def test_compute_iou_of_boxes_whose_area_overflows_is_zero():
    """As documented: the policy's areas overflow a float beyond about 1e154 a side."""
    tracker = PersonTracker()
    assert tracker._compute_iou([0, 0, 1e308, 1e308], [0, 0, 1e308, 1e308]) == 0.0
    assert tracker._compute_iou([0, 0, 1e150, 1e150], [0, 0, 1e150, 1e150]) == 1.0
    with pytest.raises(ValidationError, match="bbox1 must be four numbers"):
        tracker._compute_iou([0, 0, 1], [0, 0, 1, 1])


def test_update_reads_a_generator_once():
    tracker = PersonTracker()
    updated = tracker.update((pose(box) for box in ([50, 50, 150, 250], [200, 50, 300, 250])), frame_idx=0)
    assert [person.person_id for person in updated] == [0, 1]
    assert sorted(tracker.tracks) == [0, 1] and tracker.next_id == 2
    again = tracker.update(iter([pose([52, 50, 152, 250]), pose([202, 50, 302, 250])]), frame_idx=1)
    assert [person.person_id for person in again] == [0, 1]
    assert tracker._match_detections_to_tracks(iter([pose([204, 50, 304, 250])])) == {0: 1}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.track_ages.update({0: -1}), r"^track_ages\[0\] \(the track's age, in frames\) must be a whole "
                                                  r"number from 0 to 4294967295, not -1$"),
        (lambda t: t.track_ages.update({0: 2**40}), "from 0 to 4294967295, not 1099511627776"),
        (lambda t: t.track_ages.update({0: 1.0}), "from 0 to 4294967295, not 1.0"),
        (lambda t: t.tracks.update({1.5: np.zeros(4)}), r"^a track id \(a key of tracks, 1.5\) must be a whole number"),
        (lambda t: t.tracks.update({-1: np.zeros(4)}), r"a key of tracks, -1"),
        (lambda t: t.tracks.update({0: None}), r"^tracks\[0\] must be four numbers \[x1, y1, x2, y2\], not None$"),
        (lambda t: setattr(t, "next_id", -1), "^next_id must be a whole number from 0 to 18446744073709551615"),
        (lambda t: setattr(t, "max_age", 2**32), "^max_age must be a whole number from 0 to 4294967295"),
        (lambda t: setattr(t, "max_age", None), "^max_age must be a whole number"),
    ],
    ids=["age-1", "age-2**40", "age-float", "id-float", "id-1", "box-None", "next_id-1", "max_age-2**32",
         "max_age-None"],
)
def test_tracker_state_errors_say_what_is_wrong(change, message):
    tracker = PersonTracker()
    tracker.update([pose([0, 0, 10, 10])], frame_idx=0)
    change(tracker)
    with pytest.raises(ValidationError, match=message) as raised:
        tracker.update([], frame_idx=1)
    assert "WIT" not in str(raised.value)


def test_numpy_integers_are_whole_numbers():
    tracker = PersonTracker()
    tracker.update([pose([0, 0, 10, 10])], frame_idx=0)
    tracker.track_ages[0] = np.int64(3)
    tracker.max_age = np.uint32(30)
    tracker.next_id = np.int32(1)
    tracker.update([], frame_idx=1)
    assert tracker.track_ages == {0: 4} and math.isclose(tracker.iou_threshold, 0.5)
