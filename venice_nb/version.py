"""The package version, in a module of its own so the wire layer can send it without importing
the package face above it."""

from __future__ import annotations

__version__ = "0.1.0"
