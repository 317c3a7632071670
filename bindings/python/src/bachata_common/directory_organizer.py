"""The original app's ``DirectoryOrganizer``, over :mod:`bachata_common.organizer` (the policy
deciding, this host moving with the native host's rules). Dry runs are the default, as in the
original.

>>> import json, pathlib, tempfile
>>> data = pathlib.Path(tempfile.mkdtemp())
>>> (data / "Bachata_steps" / "raw").mkdir(parents=True)
>>> _ = (data / "Bachata_steps" / "raw" / "b1.mp4").write_bytes(b"clip")
>>> clips = [{"clip_id": "b1", "video_path": "raw/b1.mp4", "move_label": "basic"}]
>>> _ = (data / "bachata_annotations.json").write_text(json.dumps({"clips": clips}))
>>> organizer = DirectoryOrganizer(data_dir=data)
>>> dry = organizer.organize_clips_by_annotations()["summary"]
>>> dry["moved"], dry["would_move"]
(1, 1)
>>> organizer.organize_clips_by_annotations(dry_run=False)["moves"][0]["target_path"]
'basic_moves/basic/b1.mp4'
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Optional, Union

from . import organizer, policy
from .exceptions import ValidationError
from .organizer.annotations import MAX_BYTES
from .organizer.dataset import Dataset, PathRefused, components
from .organizer.files import FileError, read_file

__all__ = ["DirectoryOrganizer"]

PathLike = Union[str, "os.PathLike[str]"]


class DirectoryOrganizer:
    """Training clips under ``base_video_path`` (default ``<data_dir>/Bachata_steps``) sorted
    into ``<category>/<label>/`` folders from an annotation file looked up in ``data_dir``.

    ``mapping`` (categories as ``[{"name", "labels"}]``, or a JSON/TOML mapping file) replaces
    the stock mapping; ``default_category`` takes unknown labels."""

    def __init__(
        self,
        base_video_path: Optional[PathLike] = None,
        data_dir: PathLike = "data",
        *,
        mapping=None,
        default_category: Optional[str] = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.base_video_path = Path(base_video_path) if base_video_path is not None else self.data_dir / "Bachata_steps"
        if mapping is not None and not isinstance(mapping, list):
            mapping = organizer.read_mapping(mapping)
        self.mapping = mapping
        self.default_category = default_category

    @property
    def categories(self) -> dict[str, list[str]]:
        """Category → labels, as the policy's mapping has them."""
        mapping = self.mapping if self.mapping is not None else organizer.stock_mapping()
        return {category["name"]: list(category["labels"]) for category in mapping}

    def _annotation_path(self, annotation_file: PathLike) -> Path:
        path = Path(annotation_file)
        if path.is_absolute() or path.exists():
            return path
        return self.data_dir / path

    def load_annotations(self, annotation_file: PathLike = "bachata_annotations.json") -> dict:
        """The annotation file (looked up in ``data_dir`` when not found as given) as a dict:
        JSON as it is, CSV as ``{"clips": [row, ...]}``. ``ValidationError`` when it is missing or
        malformed, or not a regular file of at most 256 MiB (never read through a link)."""
        path = self._annotation_path(annotation_file)
        try:
            text = read_file(path, MAX_BYTES).decode("utf-8-sig")
        except (OSError, FileError, UnicodeDecodeError) as error:
            raise ValidationError(
                f"cannot read the annotation file {path}: {error}", field="annotations", value=str(path)
            ) from None
        if path.suffix.lower() == ".csv":
            return {"clips": list(csv.DictReader(io.StringIO(text, newline="")))}
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(f"annotation file {path}: {error}", field="annotations", value=str(path)) from None
        if not isinstance(document, dict) or not isinstance(document.get("clips"), list):
            raise ValidationError(
                f'annotation file {path}: not a JSON object with a "clips" list', field="annotations", value=str(path)
            )
        return document

    def analyze_current_structure(self) -> dict:
        """The structure under ``base_video_path``: ``video_files``, ``folders``,
        ``organized_files``, ``per_category``, ``skipped`` and ``organized`` (``organized``,
        ``partially`` or ``not``); all zero when the folder does not exist."""
        empty = {"video_files": 0, "folders": 0, "organized_files": 0, "per_category": {}, "skipped": 0}
        if not self.base_video_path.is_dir():
            return {**empty, "organized": "not", "base_path": str(self.base_video_path), "exists": False}
        dataset = Dataset(self.base_video_path)
        try:
            categories = set(self.categories) | ({self.default_category} if self.default_category else set())
            structure = dataset.survey(organizer.is_video, categories.__contains__)
        finally:
            dataset.close()
        state = organizer._state(structure)
        return {**structure, "organized": state, "base_path": str(self.base_video_path), "exists": True}

    def create_directory_structure(self, dry_run: bool = True) -> dict:
        """The ``<category>/<label>/`` folders of the mapping under ``base_video_path``:
        ``{"directories": [...], "created": [...], "existing": [...], "dry_run": ...}``. A dry run
        creates nothing; a real one makes the missing folders (never through a link)."""
        wanted = sorted(
            f"{category}/{policy.organizer_normalize_label(label)}"
            for category, labels in self.categories.items()
            for label in labels
        )
        wanted = sorted(set(wanted))
        if not dry_run:
            self.base_video_path.mkdir(parents=True, exist_ok=True)
        created, existing = [], []
        if self.base_video_path.is_dir():
            dataset = Dataset(self.base_video_path)
            try:
                for directory in wanted:
                    # The folder is the parent of a name inside it.
                    parts = components(directory) + ["-"]
                    try:
                        fd = dataset._parent(parts, create=False)
                    except PathRefused as refused:
                        raise ValidationError(str(refused), field="base_video_path", value=str(self.base_video_path)) from None
                    if fd is not None:
                        os.close(fd)
                        existing.append(directory)
                        continue
                    if not dry_run:
                        fd = dataset._parent(parts, create=True)
                        if fd is not None:
                            os.close(fd)
                    created.append(directory)
            finally:
                dataset.close()
        else:
            created = wanted
        return {"directories": wanted, "created": created, "existing": existing, "dry_run": dry_run}

    def organize_clips_by_annotations(
        self, annotation_file: PathLike = "bachata_annotations.json", dry_run: bool = True
    ) -> dict:
        """Organizes the clips of the annotation file (a dry run by default): the report of
        :func:`bachata_common.organizer.organize` (``success``, ``moves``, ``summary`` with
        ``total_clips``, ``moved``, ``would_move``, ``already_organized``, ``missing_files``, …).

        As the original, a dry run counts each planned move in ``summary["moved"]`` (the files
        the run would move); ``summary["would_move"]`` says the same, and each such clip's
        ``status`` is ``would_move``. After a real run ``moved`` counts the files moved and
        ``would_move`` is 0. :func:`bachata_common.organizer.organize` itself reports as the
        native host does: a dry run's ``moved`` is 0 there."""
        report = organizer.organize(
            self._annotation_path(annotation_file),
            root=self.base_video_path,
            dry_run=dry_run,
            mapping=self.mapping,
            default_category=self.default_category,
        )
        if dry_run:
            summary = report["summary"]
            summary["moved"] = summary["moved"] + summary["would_move"]
        return report

    def generate_organization_report(self, annotation_file: PathLike = "bachata_annotations.json") -> str:
        """The Markdown report of a dry run: the current structure, the original's "Proposed
        organization" (clips to process, files to move, already organized, missing files), the
        plan, clips per category and the first issues."""
        return organizer.to_markdown(self.organize_clips_by_annotations(annotation_file, dry_run=True), proposed=True)
