"""Compiled traced functions: a recorded graph written out as straight-line code (opt-in)."""

from .api import compiled

__all__ = ["compiled"]
