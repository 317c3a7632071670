"""Configuration, as the original app's ``common.config`` package.

Everything lives in :mod:`bachata_common.config.environment_config` (the original module path);
this package re-exports it, so ``from bachata_common.config import EnvironmentConfig`` and
``from bachata_common.config.environment_config import EnvironmentConfig`` are the same class.

>>> from bachata_common.config import environment_config
>>> environment_config.EnvironmentConfig is EnvironmentConfig
True
>>> EnvironmentConfig(env_file=None, environ={"YOLOV8_MAX_DET": "4"}).yolov8.max_det
4
"""

from .environment_config import *  # noqa: F401,F403  (the names listed in its __all__)
from .environment_config import __all__  # noqa: F401
