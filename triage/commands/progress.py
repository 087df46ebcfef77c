"""Progress bars (rich) for long syncs and imports: on stderr, only on a terminal, never with ``--json``.

A ``Bar`` is a callback: ``bar("lore threads", 57)`` starts a task with a total (None = unknown),
``bar("", None)`` advances the current task by one.
"""

from __future__ import annotations

import sys


class Bar:
    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self._progress = None
        self._task = None

    def __enter__(self) -> Bar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, description: str, total: int | None) -> None:
        if self._progress is None:
            return
        if description:
            self._task = self._progress.add_task(description, total=total)
        elif self._task is not None:
            self._progress.advance(self._task)
