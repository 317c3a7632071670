"""The Django app of the package, the original ``common.apps.CommonConfig``: list
``"bachata_common.apps.CommonConfig"`` (or ``"bachata_common"``) in ``INSTALLED_APPS``.

It has no models. It reads the optional ``BACHATA_COMMON`` setting (a dict: ``DATA_DIR``,
``AREAS``, ``MAX_TEMP_AGE_HOURS``, ``MAX_CACHE_SIZE_GB``, ``MEMORY_WARNING_THRESHOLD``,
``DISK_WARNING_THRESHOLD``, ``MONITOR_DIR``, ``MONITOR_DATABASE``), checks it with the system check
framework (``manage.py check`` names each problem, ids ``bachata_common.E001``…), applies it to
the resource manager, and brings the management commands ``cleanup_temp``, ``resources``,
``monitor_report`` and ``organize_clips``.

Django is the ``[django]`` extra: only this module and the management commands import it.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.signals import setting_changed

from . import _django_settings

__all__ = ["CommonConfig", "check_settings", "services"]


def services() -> _django_settings.Services:
    """The services the ``BACHATA_COMMON`` setting configures, as it is now: the resource
    manager (``.resource_manager``), where the monitor stores its events
    (``.performance_monitor()``) and the setting's valid keys (``.values``)."""
    return _django_settings.configure(getattr(settings, _django_settings.SETTING, None))


def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The system check of the ``BACHATA_COMMON`` setting: an error per unknown key, value of the
    wrong type or out of range, a warning for a threshold that looks like a ratio."""
    if app_configs is not None and not any(config.name == CommonConfig.name for config in app_configs):
        return []
    messages: list[checks.CheckMessage] = []
    for problem in _django_settings.problems(getattr(settings, _django_settings.SETTING, None)):
        kind = checks.Error if problem.is_error else checks.Warning
        messages.append(kind(problem.message, hint=problem.hint, obj=_django_settings.SETTING, id=problem.id))
    return messages


class CommonConfig(AppConfig):
    """The shared services of Bachata Buddy as a Django app."""

    name = "bachata_common"
    verbose_name = "Bachata common services"
    default_auto_field = "django.db.models.BigAutoField"

    #: The configured services (set by :meth:`ready`, kept current when the setting changes).
    services: _django_settings.Services

    @property
    def resource_manager(self):
        """The resource manager of the setting: the process-wide
        ``bachata_common.resource_manager`` with its thresholds, or one of ``DATA_DIR`` and
        ``AREAS`` when they are set."""
        return self.services.resource_manager

    def ready(self) -> None:
        # Cheap: the setting is checked and applied; nothing is loaded or opened until used.
        checks.register(check_settings, "bachata_common")
        setting_changed.connect(self._setting_changed, dispatch_uid="bachata_common.settings")
        self.services = services()

    def _setting_changed(self, *, setting: str, **kwargs) -> None:
        """Applies a changed ``BACHATA_COMMON`` (``override_settings`` in tests)."""
        if setting == _django_settings.SETTING:
            self.services = services()
