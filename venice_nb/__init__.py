"""venice_nb: generate images with the Venice.ai API from Jupyter.

``%load_ext venice_nb`` registers ``%%venice`` and ``%venice``. The Python API (``VeniceClient``,
``GenerateRequest``, ``Panel``...) is importable from here; names are resolved on first use so that
loading the extension stays light (no PIL, no ipywidgets until they are needed).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .version import __version__

_EXPORTS = {
    "VeniceClient": "client",
    "GenerateRequest": "operations",
    "OpenAIImageRequest": "operations",
    "EditRequest": "operations",
    "MultiEditRequest": "operations",
    "UpscaleRequest": "operations",
    "BackgroundRemoveRequest": "operations",
    "edit": "toolbox",
    "upscale": "toolbox",
    "remove_background": "toolbox",
    "GenerationResult": "result",
    "GeneratedImage": "result",
    "SweepResult": "result",
    "ModelSpec": "catalogue",
    "Catalogue": "catalogue",
    "RetryPolicy": "ratelimit",
    "VeniceError": "errors",
    "ValidationError": "errors",
    "LocalServer": "server",
    "Panel": "panel",
    "VeniceMagics": "magics",
    "get_session": "session",
}

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'venice_nb' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext venice_nb``."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext venice_nb``."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
