"""The policy's placements checked against the disk (``host/src/services/organizer/plan.rs``):
each clip's status before any move, and the moves to make, so that a dry run says what the run
does. A file an earlier move takes goes with that move (the same target: the row follows it) or
is gone by then; a target an earlier move fills is taken by then.

A dry run sees the disk through a :class:`View` holding, on paper, the moves of an interrupted run
that the run would finish first, so that it too says what the run does.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

from .dataset import CHANGED, FAILED, MISSING, MOVED, REFUSED, TARGET_EXISTS, Dataset, FileId, PathRefused, components
from .journal import JournalMove

__all__ = ["OnDisk", "View", "on_disk"]


class View:
    """The dataset as a run sees it (the native host's ``plan::View``). A run looks at the disk
    and moves files there; a dry run makes its moves (those of an interrupted run it would finish
    first) on paper only: each file gone from its source and at its target, the folders made for
    it, so that what it then plans, counts and surveys is what the run would find."""

    def __init__(self, dataset: Dataset, on_paper: bool) -> None:
        self.dataset = dataset
        self.on_paper = on_paper
        self._gone: set = set()
        self._placed: dict = {}
        self._folders: set = set()
        self._moved: list = []

    def find(self, path: str):
        """What ``path`` names (see :meth:`Dataset.find`), after the moves made on paper."""
        if not self._moved:
            return self.dataset.find(path)
        parts = components(path)
        prefix = ""
        for depth, part in enumerate(parts):
            prefix = f"{prefix}/{part}" if depth else part
            last = depth + 1 == len(parts)
            placed = self._placed.get(prefix)
            if placed is not None:
                if last:
                    return ("file", placed)
                raise PathRefused(f"{part!r} is not a directory")
            if prefix in self._folders:
                if last:
                    return ("not-a-file", None)
            elif prefix in self._gone:
                return ("missing", None)
        return self.dataset.find(path)

    def move_file(self, source: str, target: str, expected: FileId) -> tuple:
        """Moves ``source`` to ``target`` when ``source`` is still the file ``expected`` (see
        :meth:`Dataset.move_file`); on paper, what that move would do."""
        if not self.on_paper:
            return self.dataset.move_file(source, target, expected)
        kind, found = _found(self, source)
        if kind in ("refused", "error"):
            return (REFUSED if kind == "refused" else FAILED, found)
        if kind == "missing":
            return (MISSING, None)
        if kind != "file" or FileId.of(found) != expected:
            return (CHANGED, None)
        stat = found
        kind, found = _found(self, target)
        if kind in ("refused", "error"):
            return (REFUSED if kind == "refused" else FAILED, found)
        if kind != "missing":
            return (TARGET_EXISTS, None)
        # The target's missing folders are made.
        folder = ""
        for part in target.split("/")[:-1]:
            folder = f"{folder}/{part}" if folder else part
            if _found(self, folder)[0] == "missing":
                self._gone.discard(folder)
                self._folders.add(folder)
        self._placed.pop(source, None)
        self._gone.add(source)
        self._gone.discard(target)
        self._placed[target] = stat
        self._moved.append((source, target))
        return (MOVED, None)

    def survey(self, is_video: Callable[[str], bool], is_category: Callable[[str], bool]) -> dict:
        """The dataset's structure (see :meth:`Dataset.survey`), after the moves made on paper."""
        structure = self.dataset.survey(is_video, is_category)
        structure["folders"] += len(self._folders)
        for source, target in self._moved:
            _tally(structure, source, -1, is_video, is_category)
            _tally(structure, target, 1, is_video, is_category)
        structure["per_category"] = dict(sorted(structure["per_category"].items()))
        return structure


def _tally(structure: dict, path: str, step: int, is_video, is_category) -> None:
    """A video at ``path`` counted in (``step`` 1) or out (-1) of ``structure``, as the survey
    counts it."""
    parts = path.split("/")
    if not is_video(parts[-1]):
        return
    structure["video_files"] = max(0, structure["video_files"] + step)
    if len(parts) == 3 and is_category(parts[0]):
        structure["organized_files"] = max(0, structure["organized_files"] + step)
        count = max(0, structure["per_category"].get(parts[0], 0) + step)
        if count:
            structure["per_category"][parts[0]] = count
        else:
            structure["per_category"].pop(parts[0], None)


class OnDisk(NamedTuple):
    """The plan on disk: every clip (``would_move`` for those planned), the moves in order, and
    for each move the earlier one it follows (the same file to the same target: moved once,
    both rows pointed there)."""

    moves: list
    planned: list
    follows: list


def _found(dataset, path: str):
    try:
        return dataset.find(path)
    except PathRefused as refused:
        return ("refused", str(refused))
    except OSError as error:
        return ("error", str(error))


def _repr(text: str) -> str:
    """A string quoted as the native host's ``{:?}`` quotes it (for the plain text of ids)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def on_disk(dataset: View, placements: list) -> OnDisk:
    """Looks at the disk for each placement (in the file's order), through ``dataset``'s view."""
    moves, planned, follows = [], [], []
    sources: dict = {}
    targets: dict = {}
    for index, placement in enumerate(placements):
        move = {
            "clip_id": placement["clip-id"],
            "current_path": placement["current-path"],
            "target_path": placement["target-path"],
            "target_category": placement["target-category"],
            "status": "refused",
            "error": placement["reason"],
        }
        target = placement["target-path"] or ""
        status = placement["status"]
        if status == "refused":
            pass
        elif status == "unmapped":
            move["status"] = "unmapped"
        elif status == "already-organized":
            kind, found = _found(dataset, target)
            move["status"], move["error"] = {
                "file": ("already_organized", None),
                "missing": ("missing", "no file at its path"),
                "not-a-file": ("error", "not a regular file"),
                "refused": ("refused", found),
                "error": ("error", found),
            }[kind]
        else:
            source_kind, source = _found(dataset, move["current_path"])
            target_kind, target_found = _found(dataset, target)
            if "refused" in (source_kind, target_kind):
                move["status"], move["error"] = "refused", source if source_kind == "refused" else target_found
            elif "error" in (source_kind, target_kind):
                move["status"], move["error"] = "error", source if source_kind == "error" else target_found
            elif source_kind == "missing":
                move["status"], move["error"] = "missing", "no file at its path"
            elif source_kind == "not-a-file":
                move["status"], move["error"] = "error", "not a regular file"
            elif target_kind in ("file", "not-a-file"):
                move["status"], move["error"] = "target_exists", f"{target} is taken by another file"
            else:
                journaled = JournalMove(index, move["clip_id"], move["current_path"], target, FileId.of(source))
                leader: Optional[int] = sources.get(journaled.source)
                taken: Optional[int] = targets.get(target)
                if leader is not None and planned[leader].target == target:
                    planned.append(journaled)
                    follows.append(leader)
                    move["status"], move["error"] = "would_move", None
                elif leader is not None:
                    move["status"], move["error"] = (
                        "missing",
                        f"its file goes to {planned[leader].target} with clip {_repr(planned[leader].clip_id)}",
                    )
                elif taken is not None:
                    move["status"], move["error"] = (
                        "target_exists",
                        f"{target} is taken by the file of clip {_repr(planned[taken].clip_id)}",
                    )
                else:
                    sources[journaled.source] = len(planned)
                    targets[target] = len(planned)
                    planned.append(journaled)
                    follows.append(None)
                    move["status"], move["error"] = "would_move", None
        moves.append(move)
    return OnDisk(moves, planned, follows)
