"""Writes couple.json: the tracker's and lead/follow's expected answers, from a reference
written to the original video service's rules (`PersonTracker` with SciPy's
`linear_sum_assignment`, `_assign_lead_follow`). Run with SciPy and NumPy installed:

    python tests/vectors/make_couple.py > tests/vectors/couple.json
"""

import json
import random

import numpy as np
from scipy.optimize import linear_sum_assignment


class Reference:
    def __init__(self, iou_threshold, max_age):
        self.iou_threshold = iou_threshold
        self.max_age = max_age
        self.tracks = {}
        self.ages = {}
        self.next_id = 0

    @staticmethod
    def iou(a, b):
        x1, y1 = max(a[0], b[0]), max(a[1], b[1])
        x2, y2 = min(a[2], b[2]), min(a[3], b[3])
        if x2 < x1 or y2 < y1:
            return 0.0
        inter = (x2 - x1) * (y2 - y1)
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return 0.0 if union == 0 else inter / union

    def update(self, boxes):
        if not boxes:
            for tid in list(self.ages):
                self.ages[tid] += 1
                if self.ages[tid] > self.max_age:
                    del self.tracks[tid], self.ages[tid]
            return []
        matches = {}
        if self.tracks:
            ids = list(self.tracks)
            m = np.zeros((len(boxes), len(ids)))
            for d, b in enumerate(boxes):
                for t, tid in enumerate(ids):
                    m[d, t] = self.iou(b, self.tracks[tid])
            for d, t in zip(*linear_sum_assignment(-m)):
                if m[d, t] >= self.iou_threshold:
                    matches[int(d)] = ids[t]
        out, matched = [], set()
        for d, b in enumerate(boxes):
            if d in matches:
                tid = matches[d]
                matched.add(tid)
            else:
                tid = self.next_id
                self.next_id += 1
            self.tracks[tid] = b
            self.ages[tid] = 0
            out.append(tid)
        for tid in list(self.ages):
            if tid not in matched:
                self.ages[tid] += 1
                if self.ages[tid] > self.max_age:
                    del self.tracks[tid], self.ages[tid]
        return out

    def state(self):
        return {
            "tracks": [
                {"id": tid, "bbox": box_json(b), "unseen": self.ages[tid]}
                for tid, b in self.tracks.items()
            ],
            "next-id": self.next_id,
        }


def roles(boxes):
    if not boxes:
        return None, None
    if len(boxes) == 1:
        return 0, None
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    return order[0], order[-1]


def box_json(b):
    return {"x1": b[0], "y1": b[1], "x2": b[2], "y2": b[3]}


def case(name, frames, iou_threshold=0.5, max_age=30):
    ref = Reference(iou_threshold, max_age)
    expect = []
    for boxes in frames:
        ids = ref.update([list(b) for b in boxes])
        lead, follow = roles(boxes)
        expect.append({"ids": ids, "lead": lead, "follow": follow})
    return {
        "name": name,
        "config": {"iou-threshold": iou_threshold, "max-age": max_age},
        "frames": [[box_json(b) for b in boxes] for boxes in frames],
        "expect": expect,
        "state": ref.state(),
    }


def shifted(box, dx, dy=0.0):
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def main():
    lead, follow = (100.0, 100.0, 200.0, 400.0), (500.0, 100.0, 600.0, 400.0)
    cases = [
        case("two people apart, moving slowly", [[shifted(lead, 5 * i), shifted(follow, -5 * i)] for i in range(10)]),
        case(
            "crossing: the dancers swap sides, ids follow the boxes, lead/follow follow the sides",
            [[shifted(lead, 20 * i), shifted(follow, -20 * i)] for i in range(21)],
        ),
        case(
            "one leaves and comes back within max-age: same id",
            [[lead, follow]] + [[lead]] * 5 + [[lead, follow]],
            max_age=30,
        ),
        case(
            "one leaves and comes back after max-age: a new id",
            [[lead, follow]] + [[lead]] * 31 + [[lead, follow]],
            max_age=30,
        ),
        case("a cut to an empty frame and back", [[lead, follow]] * 3 + [[]] * 4 + [[lead, follow]] * 2, max_age=3),
        case(
            "three people: the leftmost leads, the rightmost follows",
            [[(300.0, 0.0, 400.0, 300.0), lead, follow], [follow, (300.0, 0.0, 400.0, 300.0), lead]],
        ),
        case("equal left edges keep the order given", [[(10.0, 0.0, 50.0, 90.0), (10.0, 5.0, 60.0, 95.0)]]),
        case("one person: the lead only", [[lead]]),
        case("nobody", [[]]),
        case(
            "a new track unseen for max-age frames is gone: it ages in the frame it starts",
            [[lead], [lead, follow]] + [[lead]] * 2 + [[lead, follow]],
            max_age=2,
        ),
        case("max-age 0: a track lives only while seen", [[lead], [lead], [], [lead]], max_age=0),
        case("threshold 0 matches any pair", [[lead], [follow]], iou_threshold=0.0),
        case("threshold 1 needs the same box", [[lead], [lead], [shifted(lead, 1)]], iou_threshold=1.0),
        case(
            "the best total, not the best first pair",
            [
                [(0.0, 0.0, 10.0, 10.0), (8.0, 0.0, 18.0, 10.0)],
                [(4.0, 0.0, 14.0, 10.0), (0.0, 0.0, 9.0, 10.0)],
            ],
            iou_threshold=0.1,
        ),
        case("empty boxes have IoU 0: matched only at threshold 0", [[(5.0, 5.0, 5.0, 5.0)], [(5.0, 5.0, 5.0, 5.0)]], iou_threshold=0.0),
    ]
    rng = random.Random(27)
    for n in range(40):
        frames = []
        for _ in range(rng.randint(1, 12)):
            frames.append(
                [
                    (float(x), float(y), float(x + w), float(y + h))
                    for x, y, w, h in (
                        (rng.randint(0, 6), rng.randint(0, 3), rng.randint(0, 4), rng.randint(0, 4))
                        for _ in range(rng.randint(0, 5))
                    )
                ]
            )
        threshold = rng.choice([0.0, 0.1, 0.3, 0.5, 1.0])
        cases.append(case(f"random, ties on a small grid #{n}", frames, threshold, rng.choice([0, 1, 2, 30])))
    print(json.dumps({"cases": cases}, indent=None, separators=(",", ":")).replace('},{"name"', '},\n{"name"'))


if __name__ == "__main__":
    main()
