"""``manage.py organize_clips [--annotations FILE] [--root DIR] [--dry-run] [--mapping FILE]
[--default-category C] [--report OUT.md] [--json]``: training clips sorted into
``<category>/<label>/`` folders from their annotation file (``bachata-common organize``), with
the original app's ``DirectoryOrganizer``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...directory_organizer import DirectoryOrganizer
from ...organizer import to_markdown
from .. import _common

#: Clips listed under the summary, at most (as the native command line).
LISTED = 20


class Command(BaseCommand):
    help = (
        "Sorts annotated training clips into <category>/<label>/ folders of the dataset root: moves "
        "inside the root only, never through a link, nothing overwritten; the annotation file is "
        "rewritten to the new paths (the previous one kept as .bak) and an interrupted run is "
        "finished by the next. Exit 0 when every clip is placed, 1 when some could not be, 2 on "
        "invalid input."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--annotations",
            metavar="FILE",
            default="bachata_annotations.json",
            help="the annotation file, JSON ({\"clips\": [{\"clip_id\", \"video_path\", \"move_label\"}, ...]}) "
            "or CSV; looked up in the data directory (BACHATA_COMMON['DATA_DIR'], else ./data) when not "
            "found as given (default: bachata_annotations.json)",
        )
        parser.add_argument(
            "--root",
            metavar="DIR",
            help="the dataset root the clips' video_path values are relative to "
            "(default: Bachata_steps in the data directory)",
        )
        parser.add_argument("--dry-run", action="store_true", help="move nothing; report what the run would do")
        parser.add_argument("--mapping", metavar="FILE", help="categories and their labels (JSON, or TOML) instead of the stock mapping")
        parser.add_argument("--default-category", metavar="C", help="the category of labels no category lists")
        parser.add_argument("--report", metavar="OUT", help="also write the report as Markdown to OUT (a regular file, replaced atomically)")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, annotations="bachata_annotations.json", root=None, dry_run=False, mapping=None,
               default_category=None, report=None, json=False, **options):
        if report is not None:
            _common.check_target(report, "report")
        services = _common.services()
        data_dir = services.data_dir if services.data_dir is not None else Path("data")
        try:
            organizer = DirectoryOrganizer(base_video_path=root, data_dir=data_dir, mapping=mapping,
                                           default_category=default_category)
            if not organizer.base_video_path.is_dir():
                raise CommandError(
                    _common.printable(f"the dataset root {organizer.base_video_path} is not a directory (see --root)"),
                    returncode=_common.INVALID,
                )
            result = organizer.organize_clips_by_annotations(annotations, dry_run=dry_run)
        except Exception as error:
            raise _common.failure(error) from None
        if report is not None:
            _common.write_file(report, to_markdown(result).encode("utf-8"), "report")
        if json:
            self.stdout.write(_common.to_json(result))
        else:
            self._summary(result)
        if not result["success"]:
            raise CommandError(
                "some clips could not be placed" + (" (a dry run: nothing was moved)" if dry_run else ""),
                returncode=_common.FAILED,
            )

    def _summary(self, result: dict) -> None:
        summary = result["summary"]
        dry_run = result["dry_run"]
        verb = "would move" if dry_run else "moved"
        moved = summary["would_move"] if dry_run else summary["moved"]
        resumed = f" ({summary['resumed']} finished from an interrupted run)" if summary.get("resumed") else ""
        style = self.style.SUCCESS if result["success"] else self.style.WARNING
        self.stdout.write(style(
            f"{summary['total_clips']} clips: {moved} {verb}, {summary['already_organized']} already organized, "
            f"{summary['missing_files']} missing, {summary['target_exists']} target exists, "
            f"{summary['unmapped']} unmapped, {summary['refused']} refused, {summary['errors']} errors{resumed}"
        ))
        issues = [move for move in result["moves"] if move["status"] not in ("moved", "already_organized", "would_move")]
        for move in issues[:LISTED]:
            self.stdout.write(
                "  " + "\t".join(_common.printable(text) for text in (
                    move["clip_id"], move["status"], move["current_path"], move.get("error") or ""
                ))
            )
        if len(issues) > LISTED:
            self.stdout.write(f"  … and {len(issues) - LISTED} more (--report OUT.md or --json lists them all)")
