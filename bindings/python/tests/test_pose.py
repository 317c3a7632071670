"""Pose from Python: this host lends ``host-pose`` (ONNX Runtime, Pillow/numpy letterbox) and the
policy decodes the outputs — the same people as the native host finds in the same image."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bachata_common import MoveAnalysisError, ServiceUnavailableError, ValidationError, YOLOv8Config, policy
from bachata_common.pose import PAD_VALUE, PoseDetector, letterbox, resolve_model

REPOSITORY = Path(__file__).resolve().parents[3]
SHARED = REPOSITORY.parent / "shared"
MODEL = SHARED / "models" / "yolo11n-pose.onnx"
ASTRONAUT = SHARED / "fixtures" / "astronaut.png"
NATIVE = REPOSITORY / "target" / "debug" / "bachata-common"


def test_letterbox_keeps_the_aspect_and_centres():
    numpy = pytest.importorskip("numpy")
    image = numpy.zeros((100, 200, 3), dtype=numpy.uint8)
    image[..., 0] = 255
    tensor, frame = letterbox(image, 64, 64)
    assert tensor.shape == (3, 64, 64) and tensor.dtype == numpy.float32
    assert (frame["width"], frame["height"]) == (200, 100)
    assert frame["scale"] == pytest.approx(0.32)
    assert (frame["pad-x"], frame["pad-y"]) == (0.0, 16.0)
    assert tensor[0, 0, 0] == pytest.approx(PAD_VALUE / 255)
    assert tensor[0, 32, 32] == pytest.approx(1.0) and tensor[1, 32, 32] == pytest.approx(0.0)


def test_models_are_resolved_as_the_native_host_does(tmp_path):
    with pytest.raises(ValidationError, match="yolo export model=yolov8n-pose.pt format=onnx"):
        resolve_model("yolov8n-pose.pt")
    with pytest.raises(ValidationError, match="model file not found"):
        resolve_model("missing.onnx", str(tmp_path))
    (tmp_path / "m.onnx").write_bytes(b"x")
    assert resolve_model("m.onnx", str(tmp_path)) == tmp_path / "m.onnx"


def test_without_onnx_runtime_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ServiceUnavailableError, match=r"bachata_common\[pose\]"):
        PoseDetector(YOLOv8Config(), model_path=MODEL)


def test_outside_a_detector_host_pose_is_not_available():
    yolo = policy.load_config({})["val"]["yolo"]
    frame = {"id": 0, "width": 10, "height": 10, "scale": 1.0, "pad-x": 0.0, "pad-y": 0.0}
    result = policy.pose_detect([frame], yolo)
    assert result["tag"] == "err" and "host-pose is not available in this host" in result["val"]["message"]


@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("onnxruntime")
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is not here")
    return PoseDetector(YOLOv8Config(), model_path=MODEL)


def test_cuda_without_a_gpu_is_a_clear_error(detector):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ServiceUnavailableError, match="YOLOV8_DEVICE=cuda"):
        PoseDetector(YOLOv8Config(device="cuda"), model_path=MODEL)
    assert PoseDetector(YOLOv8Config(device="auto"), model_path=MODEL).providers == ["CPUExecutionProvider"]


def test_the_astronaut_as_the_native_host_sees_it(detector):
    people = detector.detect(ASTRONAUT)
    assert len(people) == 1
    person = people[0]
    assert person["score"] == pytest.approx(0.90, abs=0.01)
    box = person["bbox"]
    assert (box["x1"], box["y1"], box["x2"], box["y2"]) == pytest.approx((12, 18, 360, 511), abs=2)
    assert [keypoint["name"] for keypoint in person["keypoints"]][:3] == ["nose", "left_eye", "right_eye"]
    assert sum(keypoint["confidence"] >= 0.5 for keypoint in person["keypoints"]) == 11
    # A batch answers per image, in order; bytes and arrays are images too.
    batch = detector.detect_batch([ASTRONAUT.read_bytes(), ASTRONAUT])
    assert [len(found) for found in batch] == [1, 1]
    if NATIVE.is_file():
        library = next((REPOSITORY / ".venv").glob("lib/python*/site-packages/onnxruntime/capi/libonnxruntime.so*"), None)
        if library is None:
            return
        env = dict(os.environ, ORT_DYLIB_PATH=str(library), YOLOV8_MODEL=str(MODEL))
        native = json.loads(subprocess.run(
            [str(NATIVE), "pose", str(ASTRONAUT), "--json"], capture_output=True, text=True, env=env, check=True
        ).stdout)
        text = json.dumps(native)
        assert '"score"' in text
        theirs = next(iter(_people(native)))
        assert theirs["score"] == pytest.approx(person["score"], abs=0.01)
        for corner in ("x1", "y1", "x2", "y2"):
            assert theirs["bbox"][corner] == pytest.approx(box[corner], abs=2)


def _people(document):
    """Every person record in the native host's JSON, wherever it nests them."""
    if isinstance(document, dict):
        if "bbox" in document and "keypoints" in document:
            yield document
        for value in document.values():
            yield from _people(value)
    elif isinstance(document, list):
        for value in document:
            yield from _people(value)


def test_a_broken_image_is_a_clear_error(detector, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(MoveAnalysisError, match="cannot read the image"):
        detector.detect(broken)
