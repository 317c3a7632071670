#!/usr/bin/env python3
"""The Python peer of `bachata-common pose VIDEO --couple --jsonl OUT`, written the simple way:
OpenCV decodes every frame and keeps every `max(1, int(fps / target_fps))`-th, letterboxes it
to the model's input (cv2.resize bilinear, grey 114 border, BGR to RGB, /255, NCHW float32),
onnxruntime runs it (one session of THREADS intra-op threads), the [1, 56, 8400] output is
decoded (score > 0.3, cv2.dnn.NMSBoxes at 0.5, at most 10 people), an IoU tracker gives ids
and the leftmost and rightmost people are lead and follow; one JSON line per processed frame
goes to OUT, in the shape of ours.

Usage: video_pose_peer.py MODEL VIDEO TARGET_FPS THREADS OUT.jsonl
Prints the frames processed and the frames per second of the loop (model load excluded)."""
import json
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort

CONF, NMS_IOU, MAX_DET = 0.3, 0.5, 10
TRACK_IOU, MAX_AGE = 0.5, 30
KEYPOINTS = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
             "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
             "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]


def letterbox(frame, size):
    height, width = frame.shape[:2]
    scale = min(size / width, size / height)
    new_w, new_h = round(width * scale), round(height * scale)
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    padded = cv2.copyMakeBorder(resized, pad_y, size - new_h - pad_y, pad_x, size - new_w - pad_x,
                                cv2.BORDER_CONSTANT, value=(114, 114, 114))
    rgb = cv2.cvtColor(padded, cv2.COLOR_BGR2RGB)
    tensor = (rgb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(tensor), scale, pad_x, pad_y


def decode(output, scale, pad_x, pad_y, width, height):
    prediction = output[0]
    candidates = prediction[:, prediction[4] > CONF]
    if candidates.shape[1] == 0:
        return []
    cx, cy, w, h = candidates[:4]
    scores = candidates[4]
    rects = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)
    keep = cv2.dnn.NMSBoxes(rects.tolist(), scores.tolist(), CONF, NMS_IOU, top_k=MAX_DET)
    people = []
    for i in np.asarray(keep).reshape(-1)[:MAX_DET]:
        x1 = float(np.clip((cx[i] - w[i] / 2 - pad_x) / scale, 0, width))
        y1 = float(np.clip((cy[i] - h[i] / 2 - pad_y) / scale, 0, height))
        x2 = float(np.clip((cx[i] + w[i] / 2 - pad_x) / scale, 0, width))
        y2 = float(np.clip((cy[i] + h[i] / 2 - pad_y) / scale, 0, height))
        points = candidates[5:, i].reshape(17, 3)
        keypoints = [{"name": name,
                      "x": float(np.clip((x - pad_x) / scale, 0, width)),
                      "y": float(np.clip((y - pad_y) / scale, 0, height)),
                      "confidence": float(c)}
                     for name, (x, y, c) in zip(KEYPOINTS, points)]
        people.append({"score": float(scores[i]), "bbox": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
                       "keypoints": keypoints})
    return people


def iou(a, b):
    x1, y1 = max(a["x1"], b["x1"]), max(a["y1"], b["y1"])
    x2, y2 = min(a["x2"], b["x2"]), min(a["y2"], b["y2"])
    if x2 < x1 or y2 < y1:
        return 0.0
    inter = (x2 - x1) * (y2 - y1)
    union = (a["x2"] - a["x1"]) * (a["y2"] - a["y1"]) + (b["x2"] - b["x1"]) * (b["y2"] - b["y1"]) - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Greedy IoU matching: the best pairs first, at least TRACK_IOU; a track unseen for more
    than MAX_AGE frames is dropped."""

    def __init__(self):
        self.tracks = {}  # id -> [bbox, frames unseen]
        self.next_id = 0

    def update(self, boxes):
        pairs = sorted(((iou(box, track[0]), d, t) for d, box in enumerate(boxes)
                        for t, track in self.tracks.items()), reverse=True)
        ids, used = [None] * len(boxes), set()
        for value, d, t in pairs:
            if value < TRACK_IOU:
                break
            if ids[d] is None and t not in used:
                ids[d] = t
                used.add(t)
        for t in list(self.tracks):
            if t not in used:
                self.tracks[t][1] += 1
                if self.tracks[t][1] > MAX_AGE:
                    del self.tracks[t]
        for d, box in enumerate(boxes):
            if ids[d] is None:
                ids[d] = self.next_id
                self.next_id += 1
            self.tracks[ids[d]] = [box, 0]
        return ids


def lead_follow(boxes):
    if not boxes:
        return None, None
    if len(boxes) == 1:
        return 0, None
    order = sorted(range(len(boxes)), key=lambda i: boxes[i]["x1"])
    return order[0], order[-1]


def main():
    model, video, target_fps, threads, out_path = sys.argv[1:6]
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    size = session.get_inputs()[0].shape[2]
    started = time.perf_counter()
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        sys.exit(f"cannot open {video}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frame_skip = max(1, int(fps / float(target_fps)))
    tracker = Tracker()
    processed = both = 0
    index = -1
    with open(out_path, "w") as out:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            index += 1
            if index % frame_skip:
                continue
            height, width = frame.shape[:2]
            tensor, scale, pad_x, pad_y = letterbox(frame, size)
            output = session.run(None, {name: tensor})[0]
            people = decode(output, scale, pad_x, pad_y, width, height)
            boxes = [p["bbox"] for p in people]
            ids = tracker.update(boxes)
            lead, follow = lead_follow(boxes)
            has_both = lead is not None and follow is not None
            line = {"video": video, "frame_idx": processed, "source_frame": index,
                    "timestamp": index / fps,
                    "people": [dict(id=i, **p) for i, p in zip(ids, people)],
                    "lead": lead, "follow": follow,
                    "lead_id": None if lead is None else ids[lead],
                    "follow_id": None if follow is None else ids[follow],
                    "has_both_dancers": has_both}
            out.write(json.dumps(line) + "\n")
            processed += 1
            both += has_both
    capture.release()
    elapsed = time.perf_counter() - started
    print(f"{processed} frames processed, {processed / elapsed:.1f} frames/s; "
          f"both dancers in {100 * both / max(processed, 1):.1f}% of the frames")


if __name__ == "__main__":
    main()
