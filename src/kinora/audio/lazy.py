"""scipy's signal-processing modules, imported when first used.

``scipy.signal`` takes about 0.9 s to import on these machines (it pulls in scipy.stats), and
every ``kinora`` command and render child imports :mod:`kinora.audio` through the pipeline,
even for a silent video. The audio modules name these stand-ins at run time and the real
modules for the type checker (``if TYPE_CHECKING``), so the types stay exact.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule(ModuleType):
    """A module imported on its first attribute access."""

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


signal = LazyModule("scipy.signal")
interpolate = LazyModule("scipy.interpolate")
ndimage = LazyModule("scipy.ndimage")
wavfile = LazyModule("scipy.io.wavfile")
