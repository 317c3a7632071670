"""bachata_common: the shared-services policy of the bachata backend, from Python.

The decisions (configuration, the error catalog, cleanup, pose post-processing, the monitor's
metrics, A/B experiments and the directory organizer's plan) live in a WebAssembly component,
``bachata_common_policy.wasm``, shipped inside this package and run with wasmtime;
``BACHATA_POLICY`` (or :func:`load_policy`) names component files that answer some or all of
the concerns instead (see :func:`policy_info`). This package is the drop-in
replacement of the original Django app's ``common`` module:

>>> from bachata_common import ValidationError, get_user_friendly_message
>>> ValidationError("bad difficulty", field="difficulty", value="expert").details
{'field': 'difficulty', 'value': 'expert'}
>>> get_user_friendly_message("NOPE_ERROR")
'An error occurred: NOPE_ERROR'

:mod:`bachata_common.policy` exposes every export of the component with plain values;
``resource_manager`` and ``temp_file_manager`` (and their classes) are the original app's
resource and temp file services, with this host lending the component files and metrics.
"""

from ._component import CapabilityUnavailable, PolicyError, PolicyNotFound
from ._policy_set import load_policy, policy_info
from .config import (
    DaemonSettings,
    ElasticsearchConfig,
    EnvironmentConfig,
    MonitorSettings,
    ResourceSettings,
    Setting,
    YOLOv8Config,
)
from .exceptions import (
    ERROR_MESSAGES,
    ChoreographyGenerationError,
    ConflictError,
    MoveAnalysisError,
    MusicAnalysisError,
    Problem,
    ResourceError,
    ServiceUnavailableError,
    ValidationError,
    VideoGenerationError,
    YouTubeDownloadError,
    get_user_friendly_message,
)
from .policy import load_config
from ._lend import Cancelled, PolicyViolation
from .resources import ResourceManager, resource_manager
from .temp_files import TempFileManager, temp_file_manager
from .directory_organizer import DirectoryOrganizer
from .performance_monitor import (
    ABTestConfig,
    PerformanceMetrics,
    PerformanceMonitor,
    RecommendationDecision,
    UserFeedback,
)

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
