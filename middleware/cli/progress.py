"""One progress bar per engine stage, on stderr: the callback `Engine.generate`, the
scheduler, training and evaluation report through, as `progress(stage, done, total)`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

StageProgress = Callable[[str, int, int], None]


@contextmanager
def stage_progress(*, label_width: int = 10, transient: bool = False) -> Iterator[StageProgress]:
    """A rich progress display; each new stage name gets its own bar."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"{{task.description:<{label_width}}}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress
