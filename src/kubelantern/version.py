"""The version, in one place: read by hatchling at build time and by the code at run time.

A module of its own (at the bottom layer) so that the code can name the version
without importing ``kubelantern`` itself, which is the plugin authors' facade
above every other module (see docs/architecture.md, "Layers").
"""

from __future__ import annotations

__version__ = "0.1.0"
