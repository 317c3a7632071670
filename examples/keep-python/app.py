"""keep-python: a bachata-common cleanup policy written in Python.

It exports only `cleanup` (world `cleanup-policy`); every other concern stays the stock
policy's. Its rules:

- A file, link or other entry whose name ends in `.keep` is never removed, however old.
- Any other one strictly older than `max-temp-age-hours` (by modification time, at
  `options.now`) is removed; `force` removes every one. Directories go once everything below
  them went and they are old themselves (every one, when forced).
- The cache cap is not applied: the `cache` area is cleaned by age like the others, and
  `max-cache-size-gb` and `cache-low-water-ratio` are only checked.
- `assess` warns when memory or disk use is above its threshold and asks for an emergency
  cleanup above the critical memory threshold.

Dry runs, locks, batching and the report are `bachata_policy_kit`'s.
"""

import math

import wit_world
from wit_world.exports.cleanup import Assessment, Level, ResourceWarning

from bachata_policy_kit import DIRECTORY, CleanupRun, invalid_setting

KEEP_SUFFIX = ".keep"


def check(settings) -> None:
    """Refuses settings no configuration would produce."""
    if not (math.isfinite(settings.max_temp_age_hours) and settings.max_temp_age_hours >= 0):
        raise invalid_setting("max_temp_age_hours", settings.max_temp_age_hours, "a number >= 0")
    if not (math.isfinite(settings.max_cache_size_gb) and settings.max_cache_size_gb > 0):
        raise invalid_setting("max_cache_size_gb", settings.max_cache_size_gb, "a number > 0")
    if not 0 < settings.cache_low_water_ratio <= 1:
        raise invalid_setting("cache_low_water_ratio", settings.cache_low_water_ratio,
                              "a ratio in (0, 1]")


class Cleanup(wit_world.exports.Cleanup):
    def run(self, settings, options):
        check(settings)
        run = CleanupRun(options)
        hours = settings.max_temp_age_hours
        for area in run.areas():
            for entry in area.walk():
                if entry.kind == DIRECTORY:
                    if entry.emptied and run.is_old(entry, hours):
                        area.remove(entry, "age")
                elif not entry.name.endswith(KEEP_SUFFIX) and run.is_old(entry, hours):
                    area.remove(entry, "age")
        return run.report()

    def assess(self, settings, snapshot):
        warnings = []
        memory = snapshot.memory.used_ratio
        critical = memory > settings.memory_critical_threshold
        if memory > settings.memory_warning_threshold:
            threshold = settings.memory_critical_threshold if critical \
                else settings.memory_warning_threshold
            warnings.append(ResourceWarning(
                resource="memory", level=Level.CRITICAL if critical else Level.WARNING,
                value=memory, threshold=threshold,
                message=f"memory use {memory:.1%} is above the threshold of {threshold:.1%}"))
        disk = snapshot.disk.used_ratio
        if disk > settings.disk_warning_threshold:
            warnings.append(ResourceWarning(
                resource="disk", level=Level.WARNING, value=disk,
                threshold=settings.disk_warning_threshold,
                message=f"disk use {disk:.1%} is above the threshold of "
                        f"{settings.disk_warning_threshold:.1%}"))
        return Assessment(warnings=warnings, emergency_cleanup=critical)
