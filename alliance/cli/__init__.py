"""The composition root: the ``alliance`` command and the demo.

The only package that imports every wing (``connector``, ``worker``, ``widgets``, the sandbox
store and its fixtures) and wires them together; the wings below it are handed what they need
(for example the web app is handed how to queue a webhook's order) instead of importing up.
``pyproject.toml``'s ``[tool.importlinter]`` contracts keep it so.
"""

from alliance.cli.commands import main

__all__ = ["main"]
