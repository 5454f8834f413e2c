"""The interactive ipywidgets panel: ``app`` (Panel), ``widgets`` (controls), ``worker`` (thread).

Importing this package imports ipywidgets; ``%load_ext venice_nb`` never does.
"""

from __future__ import annotations

from .app import Panel

__all__ = ["Panel"]
