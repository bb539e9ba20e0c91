"""jcli: a JunOSe (E-series) router shell.

Module map: grammars/ (value types, spec language, matcher, output filters) · jcli/registry.py
(command declarations) · jcli/modes.py (modes table) · jcli/context.py (Context, Output,
Options) · jcli/executor.py (line -> handler, scripts, ? and TAB) · jcli/config/ (model, render,
atomic store) · jcli/commands/ (one module per feature, imported automatically) ·
jcli/views.py (ShowResult, tables) · jcli/app.py (shell, build_shell) · jcli/__main__.py.
"""
try:
    from importlib.metadata import version as _version

    __version__ = _version("jcli")
except Exception:  # pragma: no cover - not installed
    __version__ = "0.1.0"
