"""YOLO pose from Python: this host lends ``host-pose`` — images decoded and letterboxed as the
native host does (Pillow and numpy: keep the aspect, bilinear, centred, padded with 114 grey, RGB
/255), the model run by ONNX Runtime's Python package (``pip install 'bachata_common[pose]'``) —
and the policy component's ``pose.detect`` turns the outputs into people (boxes, 17 COCO
keypoints), exactly as for the native host.

>>> from bachata_common.pose import PoseDetector
>>> detector = PoseDetector(model_path="yolo11n-pose.onnx")        # doctest: +SKIP
>>> [person["score"] for person in detector.detect("dancer.jpg")]  # doctest: +SKIP
[0.9]
"""

from __future__ import annotations

import base64
import contextvars
import io
import logging
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from . import _component
from .exceptions import ChoreographyGenerationError, MoveAnalysisError, ServiceUnavailableError, ValidationError

__all__ = ["PAD_VALUE", "PoseDetector", "letterbox", "letterbox_resized", "letterbox_size", "resolve_model"]

_log = logging.getLogger("bachata_common")

#: The grey the letterbox pads with.
PAD_VALUE = 114
_CUDA = "CUDAExecutionProvider"
_INSTALL = "install it with `pip install 'bachata_common[pose]'` (onnxruntime, numpy, Pillow)"

#: The prepared frames of the ``pose.detect`` call running in this context.
_current: contextvars.ContextVar[Optional["_Batch"]] = contextvars.ContextVar("bachata_common_pose", default=None)


def _modules():
    try:
        import numpy
        import onnxruntime
        from PIL import Image
    except ImportError as error:
        raise ServiceUnavailableError(
            f"pose inference needs ONNX Runtime, numpy and Pillow ({error.name} is missing); {_INSTALL}",
            service_name="onnxruntime",
        ) from None
    return numpy, onnxruntime, Image


def resolve_model(model: str, models_dir: Optional[str] = None) -> Path:
    """The model file (the native host's rule): ``models_dir/model``, then ``model``; a ``.pt``
    checkpoint or a missing file is a ``ValidationError`` saying what to do."""
    if str(model).endswith(".pt"):
        raise ValidationError(
            f"YOLOV8_MODEL={model} is a PyTorch checkpoint, which ONNX Runtime cannot load; export it first with "
            f"`yolo export model={model} format=onnx` and set YOLOV8_MODEL to the .onnx file",
            field="YOLOV8_MODEL",
            value=str(model),
        )
    path = Path(model)
    candidates = [path] if path.is_absolute() else ([Path(models_dir) / path] if models_dir else []) + [path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ValidationError(
        f"model file not found (looked at {', '.join(map(str, candidates))}); set YOLOV8_MODEL to an .onnx file or "
        "BACHATA_MODELS_DIR to its directory",
        field="YOLOV8_MODEL",
        value=str(model),
    )


def letterbox_size(source_width: int, source_height: int, width: int, height: int) -> tuple[float, int, int]:
    """``(scale, new_width, new_height)``: the scale and size an image of ``source_width`` ×
    ``source_height`` takes inside a ``width`` × ``height`` model input (the aspect kept)."""
    if source_width <= 0 or source_height <= 0:
        raise MoveAnalysisError("the image is empty")
    scale = min(width / source_width, height / source_height)
    new_width = min(max(round(source_width * scale), 1), width)
    new_height = min(max(round(source_height * scale), 1), height)
    return scale, new_width, new_height


def letterbox_resized(resized, source_width: int, source_height: int, width: int, height: int):
    """``(input, frame)`` as :func:`letterbox` gives them, for an image of ``source_width`` ×
    ``source_height`` already resized to its :func:`letterbox_size` (an ``H × W × 3`` uint8 RGB
    array): centred and padded with :data:`PAD_VALUE` grey (a video decoder resizes frames
    itself, straight from its own pixel format)."""
    numpy, _onnxruntime, _image = _modules()
    scale, new_width, new_height = letterbox_size(source_width, source_height, width, height)
    if resized.shape[:2] != (new_height, new_width):
        raise MoveAnalysisError(
            f"the resized image is {resized.shape[1]}x{resized.shape[0]}, not {new_width}x{new_height}"
        )
    pad_x, pad_y = (width - new_width) // 2, (height - new_height) // 2
    canvas = numpy.full((height, width, 3), PAD_VALUE, dtype=numpy.uint8)
    canvas[pad_y : pad_y + new_height, pad_x : pad_x + new_width] = resized
    tensor = numpy.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=numpy.float32) / 255.0
    frame = {"width": source_width, "height": source_height, "scale": scale, "pad-x": float(pad_x), "pad-y": float(pad_y)}
    return tensor, frame


def letterbox(image, width: int, height: int):
    """``(input, frame)``: the model input (``3 × height × width`` float32, RGB, /255) of an
    image (a path, bytes, a PIL image or an ``H × W × 3`` uint8 array) and the ``frame`` record
    that maps model pixels back to the image."""
    numpy, _onnxruntime, Image = _modules()
    if isinstance(image, (str, os.PathLike)):
        try:
            with Image.open(image) as opened:
                picture = opened.convert("RGB")
        except (OSError, ValueError) as error:
            raise MoveAnalysisError(f"cannot read the image {image}: {error}", video_path=str(image)) from None
    elif isinstance(image, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(image)) as opened:
                picture = opened.convert("RGB")
        except (OSError, ValueError) as error:
            raise MoveAnalysisError(f"cannot decode the image: {error}") from None
    elif isinstance(image, numpy.ndarray):
        picture = Image.fromarray(numpy.ascontiguousarray(image, dtype=numpy.uint8)).convert("RGB")
    else:
        picture = image.convert("RGB")
    source_width, source_height = picture.size
    _scale, new_width, new_height = letterbox_size(source_width, source_height, width, height)
    resized = picture.resize((new_width, new_height), Image.BILINEAR)
    return letterbox_resized(numpy.asarray(resized, dtype=numpy.uint8), source_width, source_height, width, height)


class _Batch:
    """The frames of one ``pose.detect`` call: what ``host-pose.infer`` runs the model on."""

    def __init__(self, detector: "PoseDetector", inputs: list) -> None:
        self.detector = detector
        self.inputs = inputs

    def infer(self, frames: Sequence[int]) -> dict:
        numpy, _, _ = _modules()
        tensors = []
        try:
            for frame in frames:
                if not 0 <= frame < len(self.inputs):
                    return {"tag": "err", "val": f"no frame {frame} in this call"}
                (output,) = self.detector.session.run([self.detector.output_name], {
                    self.detector.input_name: self.inputs[frame][numpy.newaxis]
                })
                output = numpy.ascontiguousarray(output, dtype="<f4")
                tensors.append({
                    "shape": [int(dimension) for dimension in output.shape],
                    "data": base64.b64encode(output.tobytes()).decode("ascii"),
                })
        except Exception as error:  # ONNX Runtime's failures become the call's `err`
            return {"tag": "err", "val": f"inference failed: {error}"}
        return {"tag": "ok", "val": tensors}


def infer(frames: Sequence[int]) -> dict:
    """``host-pose.infer`` for the current call (not available outside :class:`PoseDetector`)."""
    batch = _current.get()
    if batch is None:
        return {"tag": "err", "val": "host-pose is not available in this host"}
    return batch.infer(frames)


class PoseDetector:
    """A YOLO pose model on ONNX Runtime, its outputs decoded by the policy.

    ``config``: a :class:`~bachata_common.config.YOLOv8Config` (default: the configuration's);
    ``model_path`` overrides its model. ``YOLOV8_DEVICE``: ``cpu``, ``cuda`` (an error naming
    what is missing when the CUDA provider cannot run) or ``auto`` (CUDA when available)."""

    def __init__(self, config=None, model_path: Union[str, os.PathLike, None] = None, device: Optional[str] = None) -> None:
        if config is None:
            from .config import EnvironmentConfig

            config = EnvironmentConfig().yolov8
        self.config = config
        _numpy, onnxruntime, _image = _modules()
        self.model = Path(model_path) if model_path is not None else resolve_model(config.model_name, config.models_dir)
        if not self.model.is_file():
            raise ValidationError(f"model file not found: {self.model}", field="YOLOV8_MODEL", value=str(self.model))
        device = (device or config.device or "cpu").lower()
        available = onnxruntime.get_available_providers()
        if device == "cuda":
            if _CUDA not in available:
                raise ServiceUnavailableError(
                    f"YOLOV8_DEVICE=cuda but the {_CUDA} is not available (providers: {', '.join(available)}); install "
                    "onnxruntime-gpu with a matching CUDA and cuDNN on a machine with an NVIDIA GPU, or set "
                    "YOLOV8_DEVICE=cpu",
                    service_name="cuda",
                )
            providers = [_CUDA, "CPUExecutionProvider"]
        elif device == "auto" and _CUDA in available:
            providers = [_CUDA, "CPUExecutionProvider"]
        else:
            if device == "auto":
                _log.info("YOLOV8_DEVICE=auto: the %s is not available; running pose inference on the CPU", _CUDA)
            providers = ["CPUExecutionProvider"]
        options = onnxruntime.SessionOptions()
        if config.threads:
            options.intra_op_num_threads = int(config.threads)
        try:
            self.session = onnxruntime.InferenceSession(str(self.model), options, providers=providers)
        except Exception as error:
            raise MoveAnalysisError(f"cannot load the pose model {self.model}: {error}") from None
        if device == "cuda" and _CUDA not in self.session.get_providers():
            raise ServiceUnavailableError(f"YOLOV8_DEVICE=cuda but the {_CUDA} could not be registered", service_name="cuda")
        model_input = self.session.get_inputs()[0]
        shape = model_input.shape
        if len(shape) != 4 or shape[1] not in (3, "3"):
            raise MoveAnalysisError(f"the model {self.model} takes input {shape}; expected [batch, 3, height, width]")
        self.input_name = model_input.name
        self.input_height = shape[2] if isinstance(shape[2], int) else 640
        self.input_width = shape[3] if isinstance(shape[3], int) else 640
        self.output_name = self.session.get_outputs()[0].name
        self.providers = self.session.get_providers()

    def _yolo_record(self) -> dict:
        config = self.config
        return {
            "model": str(config.model_name),
            "confidence": float(config.confidence_threshold),
            "device": str(config.device),
            "iou-threshold": float(config.iou_threshold),
            "max-det": int(config.max_det),
            "threads": int(config.threads),
            "models-dir": config.models_dir,
            "runtime-library": config.runtime_library,
        }

    def detect_batch(self, images: Sequence[Any]) -> list[list[dict]]:
        """The people in each image (``score``, ``bbox`` ``{x1, y1, x2, y2}`` in image pixels,
        17 ``keypoints`` ``{name, x, y, confidence}``), best first."""
        return self.detect_letterboxed([letterbox(image, self.input_width, self.input_height) for image in images])

    def detect_letterboxed(self, prepared: Sequence[tuple[Any, dict]]) -> list[list[dict]]:
        """The people in each image already letterboxed to the model's input: ``(input, frame)``
        pairs as :func:`letterbox` or :func:`letterbox_resized` give them (see
        :meth:`detect_batch`); one ``pose.detect`` call for them all."""
        inputs, frames = [], []
        for index, (tensor, frame) in enumerate(prepared):
            inputs.append(tensor)
            frames.append({"id": index, **frame})
        token = _current.set(_Batch(self, inputs))
        try:
            with _component.fresh_instances(), _component.sigint_deferred():
                result = _component.call("pose", "detect", frames, self._yolo_record())
        finally:
            _current.reset(token)
        if result["tag"] == "err":
            raise ChoreographyGenerationError.from_app_error(result["val"])
        return result["val"]

    def detect(self, image: Any) -> list[dict]:
        """The people in one image (see :meth:`detect_batch`)."""
        return self.detect_batch([image])[0]
