"""The original ``common.services.resource_manager`` module: see :mod:`bachata_common.resources`."""

from ..resources import ResourceManager, resource_manager

__all__ = ["ResourceManager", "resource_manager"]
