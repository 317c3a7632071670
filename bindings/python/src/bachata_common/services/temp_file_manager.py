"""The original ``common.services.temp_file_manager`` module: see :mod:`bachata_common.temp_files`."""

from ..temp_files import TempFileManager, temp_file_manager

__all__ = ["TempFileManager", "temp_file_manager"]
