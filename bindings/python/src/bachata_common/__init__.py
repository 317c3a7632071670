"""bachata_common: the shared-services policy of the bachata backend, from Python.

The decisions (configuration, the error catalog, cleanup, pose post-processing, the monitor's
metrics, A/B experiments, the directory organizer's plan and the video service's couple tracker)
live in a WebAssembly component, ``bachata_common_policy.wasm``, shipped inside this package and
run with wasmtime; ``BACHATA_POLICY`` (or :func:`load_policy`) names component files that answer
some or all of the concerns instead (see :func:`policy_info`). This package is the drop-in
replacement of the original Django app's ``common`` module:

>>> from bachata_common import ValidationError, get_user_friendly_message
>>> ValidationError("bad difficulty", field="difficulty", value="expert").details
{'field': 'difficulty', 'value': 'expert'}
>>> get_user_friendly_message("NOPE_ERROR")
'An error occurred: NOPE_ERROR'

:mod:`bachata_common.policy` exposes every export of the component with plain values;
``resource_manager`` and ``temp_file_manager`` (and their classes) are the original app's
resource and temp file services, with this host lending the component files and metrics;
``YOLOv8CoupleDetector`` (with ``PersonPose``, ``CouplePose`` and ``PersonTracker``) is the video
service's couple detector (:mod:`bachata_common.couple`).
"""

import importlib as _importlib

#: Where each public name lives: imported on first use, so ``import bachata_common`` loads
#: nothing but this table (PEP 562).
_LAZY = {
    "CapabilityUnavailable": "._component",
    "PolicyError": "._component",
    "PolicyNotFound": "._component",
    "load_policy": "._policy_set",
    "policy_info": "._policy_set",
    "DaemonSettings": ".config",
    "ElasticsearchConfig": ".config",
    "EnvironmentConfig": ".config",
    "MonitorSettings": ".config",
    "ResourceSettings": ".config",
    "Setting": ".config",
    "YOLOv8Config": ".config",
    "ERROR_MESSAGES": ".exceptions",
    "ChoreographyGenerationError": ".exceptions",
    "ConflictError": ".exceptions",
    "MoveAnalysisError": ".exceptions",
    "MusicAnalysisError": ".exceptions",
    "Problem": ".exceptions",
    "ResourceError": ".exceptions",
    "ServiceUnavailableError": ".exceptions",
    "ValidationError": ".exceptions",
    "VideoGenerationError": ".exceptions",
    "YouTubeDownloadError": ".exceptions",
    "get_user_friendly_message": ".exceptions",
    "load_config": ".policy",
    "Cancelled": "._lend",
    "PolicyViolation": "._lend",
    "ResourceManager": ".resources",
    "resource_manager": ".resources",
    "TempFileManager": ".temp_files",
    "temp_file_manager": ".temp_files",
    "DirectoryOrganizer": ".directory_organizer",
    "ABTestConfig": ".performance_monitor",
    "PerformanceMetrics": ".performance_monitor",
    "PerformanceMonitor": ".performance_monitor",
    "RecommendationDecision": ".performance_monitor",
    "UserFeedback": ".performance_monitor",
    "CouplePose": ".couple",
    "PersonPose": ".couple",
    "PersonTracker": ".couple",
    "YOLOv8CoupleDetector": ".couple",
}


#: The public submodules, imported on first use as attributes too (``bachata_common.policy``).
_SUBMODULES = frozenset({
    "apps", "config", "couple", "directory_organizer", "exceptions", "fs", "management", "monitor", "organizer",
    "performance_monitor", "policy", "pose", "resources", "secrets", "services", "temp_files",
})


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(module, __name__), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "Cancelled",
    "PolicyViolation",
    "ResourceManager",
    "resource_manager",
    "TempFileManager",
    "temp_file_manager",
    "DirectoryOrganizer",
    "PerformanceMonitor",
    "RecommendationDecision",
    "UserFeedback",
    "PerformanceMetrics",
    "ABTestConfig",
    "CouplePose",
    "PersonPose",
    "PersonTracker",
    "YOLOv8CoupleDetector",
    "CapabilityUnavailable",
    "PolicyError",
    "PolicyNotFound",
    "load_policy",
    "policy_info",
    "DaemonSettings",
    "ElasticsearchConfig",
    "EnvironmentConfig",
    "MonitorSettings",
    "ResourceSettings",
    "Setting",
    "YOLOv8Config",
    "ERROR_MESSAGES",
    "ChoreographyGenerationError",
    "ConflictError",
    "MoveAnalysisError",
    "MusicAnalysisError",
    "Problem",
    "ResourceError",
    "ServiceUnavailableError",
    "ValidationError",
    "VideoGenerationError",
    "YouTubeDownloadError",
    "get_user_friendly_message",
    "load_config",
]
