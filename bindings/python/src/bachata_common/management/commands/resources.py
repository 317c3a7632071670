"""``manage.py resources [--json]``: memory, disk, CPU and the managed areas' sizes
(``bachata-common resources``), with the policy's warnings for them."""

from django.core.management.base import BaseCommand

from .. import _common


class Command(BaseCommand):
    help = (
        "Shows memory, disk and CPU use and the managed areas' sizes, with the warnings of the "
        "thresholds (MEMORY_WARNING_THRESHOLD, DISK_WARNING_THRESHOLD)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, json=False, **options):
        manager = _common.services().resource_manager
        try:
            resources = manager.get_system_resources()
            assessment = manager.assess()
        except Exception as error:
            raise _common.failure(error) from None
        warnings = assessment["warnings"]
        if json:
            self.stdout.write(_common.to_json({
                **resources,
                "data_dir": str(manager.data_dir),
                "warnings": warnings,
                "emergency_cleanup": assessment["emergency-cleanup"],
                "thresholds": {
                    "memory_warning_threshold": manager.memory_warning_threshold,
                    "disk_warning_threshold": manager.disk_warning_threshold,
                },
            }))
            return
        memory, disk, cpu = resources["memory"], resources["disk"], resources["cpu"]
        self.stdout.write(
            f"memory  {memory['percent_used']:5.1f}% used  {_common.human_bytes(memory['used_bytes'])} of "
            f"{_common.human_bytes(memory['total_bytes'])}{' (container limit)' if memory['container_limited'] else ''}"
        )
        self.stdout.write(
            f"disk    {disk['percent_used']:5.1f}% used  {_common.human_bytes(disk['free_bytes'])} free of "
            f"{_common.human_bytes(disk['total_bytes'])}"
        )
        load = " ".join(f"{value:.2f}" for value in cpu["load_average"])
        self.stdout.write(f"cpu     {cpu['percent_used']:5.1f}% used  load {load}")
        for path, area in resources["temp_directories"].items():
            self.stdout.write(
                f"area    {_common.printable(path)}  {_common.human_bytes(area['size_bytes'])}  {area['file_count']} files"
            )
        for warning in warnings:
            style = self.style.ERROR if warning["level"] == "critical" else self.style.WARNING
            self.stdout.write(style(f"{warning['level']}: {_common.printable(warning['message'])}"))
        if not warnings:
            self.stdout.write(self.style.SUCCESS("no warnings"))
