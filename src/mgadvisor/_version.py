"""The package version: the one place it is written (pyproject reads it via `[tool.hatch.version]`).

A plain constant, so `import mgadvisor` and `mgadvisor --version` need no package metadata lookup.
"""

__version__ = "0.1.0"
