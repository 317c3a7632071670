#!/usr/bin/env python3
"""The Python peer of `bachata-common pose`: the same decode, letterbox, inference and NMS with
onnxruntime + numpy + Pillow, timed per stage. Prints JSON: per-frame stage times in ms."""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

CONF, IOU, MAX_DET = 0.3, 0.5, 10


def letterbox(image, width, height):
    scale = min(width / image.width, height / image.height)
    new_w, new_h = round(image.width * scale), round(image.height * scale)
    resized = image.resize((new_w, new_h), Image.BILINEAR)
    canvas = Image.new("RGB", (width, height), (114, 114, 114))
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas.paste(resized, (pad_x, pad_y))
    array = np.asarray(canvas, dtype=np.float32) / 255.0
    return np.ascontiguousarray(array.transpose(2, 0, 1)[None]), scale, pad_x, pad_y


def nms(boxes, scores):
    order = scores.argsort()[::-1]
    keep = []
    while order.size and len(keep) < MAX_DET:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        iou = inter / (area(boxes[i]) + area(boxes[order[1:]]) - inter)
        order = order[1:][iou <= IOU]
    return keep


def postprocess(output, scale, pad_x, pad_y, width, height):
    prediction = output[0]
    scores = prediction[4]
    mask = scores > CONF
    candidates = prediction[:, mask]
    cx, cy, w, h = candidates[:4]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keep = nms(boxes, candidates[4])
    people = []
    for i in keep:
        box = boxes[i].copy()
        box[[0, 2]] = np.clip((box[[0, 2]] - pad_x) / scale, 0, width)
        box[[1, 3]] = np.clip((box[[1, 3]] - pad_y) / scale, 0, height)
        keypoints = candidates[5:, i].reshape(17, 3).copy()
        keypoints[:, 0] = np.clip((keypoints[:, 0] - pad_x) / scale, 0, width)
        keypoints[:, 1] = np.clip((keypoints[:, 1] - pad_y) / scale, 0, height)
        people.append({"score": float(candidates[4, i]), "box": box.tolist(), "keypoints": keypoints.tolist()})
    return people


def main():
    model, paths = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - started) * 1000
    inp = session.get_inputs()[0]
    height, width = inp.shape[2], inp.shape[3]
    frames = []
    for path in paths:
        t0 = time.perf_counter()
        image = Image.open(path).convert("RGB")
        image.load()
        t1 = time.perf_counter()
        tensor, scale, pad_x, pad_y = letterbox(image, width, height)
        t2 = time.perf_counter()
        output = session.run(None, {inp.name: tensor})[0]
        t3 = time.perf_counter()
        people = postprocess(output, scale, pad_x, pad_y, image.width, image.height)
        t4 = time.perf_counter()
        frames.append({"decode_ms": (t1 - t0) * 1e3, "preprocess_ms": (t2 - t1) * 1e3,
                       "inference_ms": (t3 - t2) * 1e3, "postprocess_ms": (t4 - t3) * 1e3,
                       "people": len(people)})
    print(json.dumps({"model_load_ms": load_ms, "frames": frames}))


if __name__ == "__main__":
    main()
