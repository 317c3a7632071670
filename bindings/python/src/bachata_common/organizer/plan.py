"""The policy's placements checked against the disk (``host/src/services/organizer/plan.rs``):
each clip's status before any move, and the moves to make, so that a dry run says what the run
does. A file an earlier move takes goes with that move (the same target: the row follows it) or
is gone by then; a target an earlier move fills is taken by then.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from .dataset import Dataset, FileId, PathRefused
from .journal import JournalMove

__all__ = ["OnDisk", "on_disk"]


class OnDisk(NamedTuple):
    """The plan on disk: every clip (``would_move`` for those planned), the moves in order, and
    for each move the earlier one it follows (the same file to the same target: moved once,
    both rows pointed there)."""

    moves: list
    planned: list
    follows: list


def _found(dataset: Dataset, path: str):
    try:
        return dataset.find(path)
    except PathRefused as refused:
        return ("refused", str(refused))
    except OSError as error:
        return ("error", str(error))


def _repr(text: str) -> str:
    """A string quoted as the native host's ``{:?}`` quotes it (for the plain text of ids)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def on_disk(dataset: Dataset, placements: list) -> OnDisk:
    """Looks at the disk for each placement (in the file's order)."""
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
