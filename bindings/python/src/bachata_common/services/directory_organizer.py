"""The original ``common.services.directory_organizer`` module: see
:mod:`bachata_common.directory_organizer`."""

from ..directory_organizer import DirectoryOrganizer

__all__ = ["DirectoryOrganizer"]
