"""The Textual TUI (``offhost-audit tui``). Only the CLI imports this package's ``app`` module.

``query``, ``estate`` and ``session`` hold the data side and import no Textual; screens and widgets do.
"""
