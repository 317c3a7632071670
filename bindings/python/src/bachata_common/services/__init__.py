"""The services, as the original app's ``common.services`` package: the resource manager, the
temp file manager, the performance monitor and the directory organizer, each also importable from
its original module (``bachata_common.services.resource_manager`` and so on)."""

from .resource_manager import ResourceManager, resource_manager
from .temp_file_manager import TempFileManager, temp_file_manager
from .performance_monitor import PerformanceMonitor
from .directory_organizer import DirectoryOrganizer

__all__ = [
    "ResourceManager",
    "resource_manager",
    "TempFileManager",
    "temp_file_manager",
    "PerformanceMonitor",
    "DirectoryOrganizer",
]
