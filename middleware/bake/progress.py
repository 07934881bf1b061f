"""Rich views of a bake: progress bars (overall and per job), the summary, the dry-run list."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from middleware.bake.baker import BakeProgress, BakeReport
from middleware.bake.plan import BakePlan


class BakeProgressView:
    """One bar for the whole pack and one per state or stinger; feed it `update`."""

    def __init__(self, console: Console, plan: BakePlan) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[origin]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.overall: TaskID = self.progress.add_task(
            f"[bold]{plan.pack.name}", total=len(plan.jobs), origin=""
        )
        self.tasks: dict[str, TaskID] = {
            f"{job.kind}:{job.name}": self.progress.add_task(
                f"  {job.kind} {job.name}", total=1.0, origin=""
            )
            for job in plan.jobs
        }

    def __enter__(self) -> BakeProgressView:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def update(self, event: BakeProgress) -> None:
        task = self.tasks.get(event.job_id)
        if task is not None:
            self.progress.update(task, completed=event.fraction, origin=event.origin or "")
        self.progress.update(self.overall, completed=event.jobs_done)


def summary_table(report: BakeReport) -> Table:
    table = Table(title=f"baked {report.pack} -> {report.out_dir}")
    for column in ("job", "var", "files", "music s", "how", "time s"):
        table.add_column(
            column, justify="left" if column in ("job", "how") else "right", no_wrap=True
        )
    for result in report.results:
        variants = len(result.record.get("variants", [])) or 1
        table.add_row(
            f"{result.kind} {result.name}",
            str(variants),
            str(len(result.files)),
            f"{result.music_seconds:.1f}",
            result.origin,
            f"{result.elapsed_s:.1f}",
        )
    counts = ", ".join(
        f"{report.count(origin)} {label}"
        for origin, label in (
            ("generated", "generated"),
            ("cache", "from the cache"),
            ("output", "unchanged"),
            ("resumed", "resumed"),
            ("encoded", "encoded from files"),
        )
        if report.count(origin)
    )
    table.caption = (
        f"{len(report.results)} jobs: {counts}; "
        f"{report.music_seconds:.1f} s of music in {report.elapsed_s:.1f} s"
    )
    return table


def dry_run_table(report: BakeReport) -> Table:
    table = Table(title=f"would bake {report.pack} -> {report.out_dir}")
    for column in ("job", "var", "bars", "bpm", "stems", "seed", "music s", "source"):
        table.add_column(
            column, justify="left" if column in ("job", "source") else "right", no_wrap=True
        )
    for row in report.plan.describe():
        table.add_row(
            f"{row['kind']} {row['name']}",
            str(row["variants"]),
            str(row["bars"] or "-"),
            f"{row['bpm']:g}" if row["bpm"] else "-",
            str(row["stems"]),
            str(row["seed"]),
            f"{row['music_seconds']:.1f}",
            "file" if row["source"] == "file" else "model",
        )
    generated = sum(1 for row in report.plan.describe() if row["source"] == "generated")
    table.caption = (
        f"{len(report.plan.jobs)} jobs ({generated} to generate, before reuse), "
        f"{report.music_seconds:.1f} s of music"
    )
    return table
