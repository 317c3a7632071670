"""``manage.py cleanup_temp [--force] [--dry-run] [--json]``: one cleanup of the managed areas
(``bachata-common cleanup``): files older than ``MAX_TEMP_AGE_HOURS`` and the directories they
leave empty, then the ``cache`` area trimmed to its cap."""

from django.core.management.base import BaseCommand

from .. import _common


class Command(BaseCommand):
    help = (
        "Cleans the managed areas (temp, cache, output): removes files older than MAX_TEMP_AGE_HOURS "
        "and the directories left empty, then trims the cache area to MAX_CACHE_SIZE_GB, oldest first. "
        "Files in use (locked) are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="treat every file as old (files in use are still kept)")
        parser.add_argument("--dry-run", action="store_true", help="remove nothing; count what would go")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, force=False, dry_run=False, json=False, **options):
        manager = _common.services().resource_manager
        try:
            temporary = manager.cleanup_temporary_files_sync(force=force, dry_run=dry_run)
            cache = manager.cleanup_cache_directory_sync(dry_run=dry_run)
        except Exception as error:
            raise _common.failure(error) from None
        if json:
            self.stdout.write(_common.to_json({
                "dry_run": dry_run,
                "force": force,
                "data_dir": str(manager.data_dir),
                "temporary_files": temporary,
                "cache_cleanup": cache,
                "total_files_removed": temporary["files_removed"] + cache["files_removed"],
                "total_bytes_freed": temporary["bytes_freed"] + cache["bytes_freed"],
            }))
            return
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(
            f"{verb} {temporary['files_removed']} files ({_common.human_bytes(temporary['bytes_freed'])}) by age and "
            f"{cache['files_removed']} files ({_common.human_bytes(cache['bytes_freed'])}) from the cache; "
            f"{temporary['directories_removed']} empty directories; "
            f"{temporary['directories_processed']} areas processed",
            self.style.SUCCESS if not temporary["error_count"] else None,
        )
        skipped = max(temporary["skipped_in_use"], cache["skipped_in_use"])
        if skipped:
            self.stdout.write(f"kept {skipped} files in use")
        for problem in temporary["errors"]:
            self.stdout.write(
                self.style.WARNING(
                    "problem: "
                    + _common.printable(f"{problem.get('area', '')}/{problem.get('path', '')}: {problem.get('reason', problem)}")
                )
            )
        if temporary["error_count"] > len(temporary["errors"]):
            self.stdout.write(self.style.WARNING(f"... and {temporary['error_count'] - len(temporary['errors'])} more problems"))
