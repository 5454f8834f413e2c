"""One module per Venice endpoint: a typed request, its checks against a ``ModelSpec``, its body.

Nothing here does I/O or imports IPython or ipywidgets: the magic, the panel and the Python API
all build the same request objects, and ``VeniceClient`` sends them.
"""

from __future__ import annotations

from .background import BackgroundRemoveRequest
from .edit import EditRequest
from .generate import GenerateRequest
from .multi_edit import MultiEditRequest
from .openai import OpenAIImageRequest
from .upscale import UpscaleRequest

__all__ = [
    "BackgroundRemoveRequest",
    "EditRequest",
    "GenerateRequest",
    "MultiEditRequest",
    "OpenAIImageRequest",
    "UpscaleRequest",
]
