"""The directory organizer from Python: training clips sorted into move categories from their
annotation file, ``<root>/<category>/<label>/<file name>``. The policy component decides each
clip's category and place (``organizer.plan``); this host moves the files with the native host's
rules (``host/src/services/organizer/``): inside the root only, no link followed, no other
filesystem, nothing overwritten; the plan journaled before the first move, so a run killed at
any point is finished by the next (the journal has the native host's format: either host
finishes the other's run); the annotation file follows the files.

>>> import json, pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "raw").mkdir(); (root / "raw" / "a.mp4").write_bytes(b"clip")
4
>>> clips = [{"clip_id": "a", "video_path": "raw/a.mp4", "move_label": "Lady-Turn"}]
>>> _ = (root / "clips.json").write_text(json.dumps({"clips": clips}))
>>> report = organize(root / "clips.json")
>>> report["moves"][0]["target_path"], report["summary"]["moved"]
('turns_spins/ladyturn/a.mp4', 1)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Optional, Union

from .. import policy
from ..exceptions import ChoreographyGenerationError, ValidationError
from .annotations import AnnotationError, Annotations
from .dataset import (
    CHANGED,
    FAILED,
    MISSING,
    MOVED,
    REFUSED,
    TARGET_EXISTS,
    Dataset,
    FileId,
    PathRefused,
    canonical_path,
)
from .files import FileError, Folder, read_file
from .journal import Journal, name_for, path_for
from .plan import View, on_disk
from .report import to_markdown

__all__ = [
    "MAPPING_MAX_BYTES",
    "VIDEO_EXTENSIONS",
    "is_video",
    "organize",
    "read_mapping",
    "stock_mapping",
    "to_markdown",
]

_log = logging.getLogger("bachata_common")

#: The largest mapping file read (16 MiB).
MAPPING_MAX_BYTES = 16 << 20

#: The video extensions the survey counts (the policy's own list for clips).
VIDEO_EXTENSIONS = ("mp4", "mov", "avi", "mkv", "webm")

PathLike = Union[str, "os.PathLike[str]"]


def is_video(name: str) -> bool:
    """Whether a file name has a video extension (any case) after a non-empty stem."""
    stem, dot, extension = name.rpartition(".")
    return bool(dot) and bool(stem) and extension.lower() in VIDEO_EXTENSIONS


def _checked(result: dict):
    if result["tag"] == "err":
        raise ChoreographyGenerationError.from_app_error(result["val"])
    return result.get("val")


def stock_mapping() -> list[dict]:
    """The policy's stock mapping: ``[{"name": category, "labels": [...]}, ...]``."""
    return policy.organizer_stock_mapping()


def read_mapping(path: PathLike) -> list[dict]:
    """A mapping file (JSON, or TOML when it ends in ``.toml``: category → labels) as categories,
    checked by the policy (a label in two categories is a ``ValidationError``): a regular file
    (never a link, a FIFO or a device) of at most :data:`MAPPING_MAX_BYTES`."""
    path = Path(path)
    try:
        text = read_file(path, MAPPING_MAX_BYTES).decode("utf-8")
    except (OSError, FileError, UnicodeDecodeError) as error:
        raise ValidationError(f"cannot read the mapping file {path}: {error}", field="mapping", value=str(path)) from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            parsed = tomllib.loads(text)
        else:
            import json

            parsed = json.loads(text)
        if not isinstance(parsed, dict) or not all(
            isinstance(labels, list) and all(isinstance(label, str) for label in labels) for labels in parsed.values()
        ):
            raise ValueError("expected category = [labels]")
    except (ValueError, RecursionError) as error:
        raise ValidationError(
            f"the mapping must map each category to a list of labels: {error}", field="mapping"
        ) from None
    mapping = [{"name": name, "labels": list(labels)} for name, labels in parsed.items()]
    _checked(policy.organizer_check_mapping(mapping))
    return mapping


def _summary(moves: list[dict], resumed: int) -> dict:
    def count(status: str) -> int:
        return sum(1 for move in moves if move["status"] == status)

    return {
        "total_clips": len(moves),
        "moved": count("moved"),
        "would_move": count("would_move"),
        "already_organized": count("already_organized"),
        "missing_files": count("missing"),
        "target_exists": count("target_exists"),
        "unmapped": count("unmapped"),
        "refused": count("refused"),
        "errors": count("error"),
        "resumed": resumed,
    }


def _state(structure: dict) -> str:
    if structure["video_files"] > 0 and structure["organized_files"] == structure["video_files"]:
        return "organized"
    if structure["organized_files"] > 0:
        return "partially"
    return "not"


def _found(dataset, path: str):
    try:
        return dataset.find(path)
    except PathRefused as refused:
        return ("refused", str(refused))
    except OSError as error:
        return ("error", str(error))


def _write_error(what: str, path: Path, error: FileError) -> ValidationError:
    """A file of the annotation folder that could not be written: a replaced annotation file is
    the caller's to look at (nothing was written, the journal kept)."""
    if error.kind == "replaced":
        message = (
            f"cannot rewrite the {what} {path}: {error}. The moves made are journaled: once the file is back, "
            "run again to record them"
        )
    else:
        message = f"cannot write the {what} {path}: {error}"
    return ValidationError(message, field="annotations", value=str(path))


def _write(annotations: Annotations) -> None:
    try:
        annotations.write()
    except FileError as error:
        raise _write_error("annotation file", annotations.path, error) from None


def _resume(view: View, root: Path, annotations: Annotations, folder: Folder, name: str, journal_path: Path) -> int:
    """Finishes an interrupted run from its journal (see the native host's ``resume``): each
    move whose source is still the planned file is made, then the annotation file points every
    journaled clip whose file is at its target there (found by id and path). A dry run does all
    this on paper (``view``), the journal and the annotation file left as they are. A journal of
    another root (:meth:`Journal.is_of`) is refused and kept, nothing changed (and nothing it
    says repeated: whoever can write in the folder can forge one). The number of clips
    finished."""
    try:
        journal = Journal.read(folder, name)
    except (FileError, ValueError) as error:
        raise ValidationError(
            f"cannot use the organizer journal {journal_path}: {error}; remove it to drop the interrupted run it records",
            field="journal",
            value=str(journal_path),
        ) from None
    if journal is None:
        return 0
    if not journal.is_of(view.dataset):
        raise ValidationError(
            f"an interrupted run of this annotation file worked in another dataset root than {root}; nothing was "
            "changed and its journal is kept: to finish it, run again with the root that run was given (from the "
            "directory it was started in)",
            field="root",
            value=str(root),
        )
    extra = {"journal": str(journal_path), "moves": len(journal.moves)}
    if view.on_paper:
        _log.warning("an interrupted organizer run would be finished first (a dry run: on paper only)", extra=extra)
    else:
        _log.warning("finishing an interrupted organizer run", extra=extra)
    finished = 0
    for planned in journal.moves:
        view.move_file(planned.source, planned.target, planned.file)
        kind, found = _found(view, planned.target)
        if kind == "error":
            raise OSError(found)
        if kind != "file" or FileId.of(found) != planned.file:
            continue
        for row, clip in enumerate(annotations.clips):
            if clip.clip_id == planned.clip_id and clip.video_path == planned.source:
                annotations.set_path(row, planned.target)
                finished += 1
                break
    if view.on_paper:
        return finished
    if finished:
        view.dataset.sync()
        _write(annotations)
    Journal.remove(folder, name)
    return finished


def organize(
    annotations: PathLike,
    root: Optional[PathLike] = None,
    dry_run: bool = False,
    mapping: Optional[list[dict]] = None,
    default_category: Optional[str] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> dict:
    """Organizes the clips of ``annotations`` (JSON, or CSV when it ends in ``.csv``) under
    ``root`` (default: the annotation file's folder). Returns the report, the native host's JSON
    shape: ``success``, ``dry_run``, ``annotations``, ``root``, ``structure``, ``organized``,
    ``moves`` (per clip: ``clip_id``, ``current_path``, ``target_path``, ``target_category``,
    ``status``, ``error``), ``summary`` and ``per_category``. ``progress(done, total)`` is called
    after each move. A dry run changes nothing and reports what the run would do (an interrupted
    run's journal read and finished on paper only)."""
    annotations_path = Path(annotations)
    # The annotation file, its `.bak` and the journal go through its folder's descriptor.
    try:
        folder, name = Folder.of_file(annotations_path)
    except (OSError, FileError) as error:
        raise ValidationError(
            f"cannot read the annotation file {annotations_path}: {error}",
            field="annotations",
            value=str(annotations_path),
        ) from None
    with folder:
        # One run at a time per annotation file (the lock goes with the folder's handles).
        if not dry_run and not folder.lock():
            raise ValidationError(
                "another organize run is working on this annotation file's folder",
                field="annotations",
                value=str(annotations_path),
            )
        return _organize(annotations_path, folder, name, root, dry_run, mapping, default_category, progress)


def _organize(annotations_path: Path, folder: Folder, name: str, root, dry_run, mapping, default_category, progress) -> dict:
    try:
        annotations = Annotations(annotations_path, folder, name)
    except AnnotationError as error:
        raise ValidationError(f"annotation file: {error}", field=error.field) from None
    except (OSError, FileError) as error:
        raise ValidationError(
            f"cannot read the annotation file {annotations_path}: {error}",
            field="annotations",
            value=str(annotations_path),
        ) from None
    root = Path(root) if root is not None else (annotations_path.parent if str(annotations_path.parent) else Path("."))
    try:
        dataset = Dataset(root)
    except BaseException:
        annotations.close()
        raise
    try:
        mapping = mapping if mapping is not None else stock_mapping()
        _checked(policy.organizer_check_mapping(mapping))
        journal_name, journal_path = name_for(name), path_for(annotations_path)
        # A dry run finishes an interrupted run too, on paper: it says what the run does.
        view = View(dataset, dry_run)
        resumed = _resume(view, root, annotations, folder, journal_name, journal_path)
        categories = {category["name"] for category in mapping} | ({default_category} if default_category else set())
        structure = view.survey(is_video, categories.__contains__)
        clips = [
            {"clip-id": clip.clip_id, "video-path": clip.video_path, "move-label": clip.move_label}
            for clip in annotations.clips
        ]
        placements = _checked(policy.organizer_plan(clips, mapping, default_category))
        if len(placements) != len(clips) or any(
            placement["clip-id"] != clip.clip_id for placement, clip in zip(placements, annotations.clips)
        ):
            raise ChoreographyGenerationError("the policy's plan does not answer the clips one for one, in order")
        # Look at the disk: each clip's status, and the moves to make.
        moves, planned, follows = on_disk(view, placements)

        if not dry_run and planned:
            try:
                Journal(canonical_path(root), planned, dataset.id()).write(folder, journal_name)
            except FileError as error:
                raise _write_error("organizer journal", journal_path, error) from None
            moved_any = False
            for done, step in enumerate(planned, start=1):
                move = moves[step.index]
                leader = follows[done - 1]
                if leader is not None:
                    # The same file to the same target, moved for an earlier row.
                    led = moves[planned[leader].index]
                    move["status"], move["error"] = led["status"], led["error"]
                else:
                    outcome, reason = dataset.move_file(step.source, step.target, step.file)
                    if outcome == MOVED:
                        move["status"], move["error"] = "moved", None
                    elif outcome == TARGET_EXISTS:
                        move["status"], move["error"] = "target_exists", f"{step.target} is taken by another file"
                    elif outcome == MISSING:
                        move["status"], move["error"] = "missing", "no file at its path"
                    elif outcome == CHANGED:
                        move["status"], move["error"] = "error", "the file changed between the plan and the move"
                    elif outcome == REFUSED:
                        move["status"], move["error"] = "refused", reason
                    else:
                        assert outcome == FAILED
                        move["status"], move["error"] = "error", reason
                if move["status"] == "moved":
                    annotations.set_path(step.index, step.target)
                    moved_any = True
                if progress is not None:
                    progress(done, len(planned))
            if moved_any:
                # The moves reach the disk before the file that points at them.
                dataset.sync()
                _write(annotations)
            Journal.remove(folder, journal_name)
    finally:
        dataset.close()
        annotations.close()
    per_category: dict[str, int] = {}
    for move in moves:
        if move["target_category"] is not None:
            per_category[move["target_category"]] = per_category.get(move["target_category"], 0) + 1
    summary = _summary(moves, resumed)
    _log.info(
        "organizer run",
        extra={"annotations": str(annotations_path), "moved": summary["moved"], "dry_run": dry_run},
    )
    return {
        "success": all(move["status"] in ("moved", "already_organized", "would_move") for move in moves),
        "dry_run": dry_run,
        "annotations": str(annotations_path),
        "root": str(root),
        "structure": structure,
        "organized": _state(structure),
        "moves": moves,
        "summary": summary,
        "per_category": dict(sorted(per_category.items())),
    }

