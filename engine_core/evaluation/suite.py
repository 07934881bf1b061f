"""`run_evaluation`: generate the loops, build the baselines, score everything.

Four columns are scored with the same functions: the model's loops (the main spread,
`conditions.main_spread`), held-out corpus windows of the same lengths, the untrained model
on the same requests and seeds, and the held-out windows with shuffled notes. The model
also gets the control sweeps (adherence) and the variance sweep (diversity).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine_core.data.dataset import BarDataset
from engine_core.evaluation import conditions
from engine_core.evaluation.adherence import AdherenceCheck, control_sweep, mode_rate
from engine_core.evaluation.baselines import heldout_windows, shuffled, untrained_checkpoint
from engine_core.evaluation.diversity import DiversityCheck, diversity_check
from engine_core.evaluation.joins import SeamCheck, seam_check
from engine_core.evaluation.metrics import METRICS, loop_metrics, summarise
from engine_core.evaluation.originality import CopyIndex, OriginalityCheck, originality_check
from engine_core.model.composer import DiffusionComposer
from engine_core.model.controls import SCALARS
from engine_core.score import Score

ProgressCallback = Callable[[str, int, int], None]
COLUMNS: tuple[str, ...] = ("model", "held-out", "untrained", "shuffled")


@dataclass(frozen=True)
class EvaluationSettings:
    loops: int = 200
    seed: int = 0
    control_levels: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    variance_levels: tuple[float, ...] = (0.15, 0.35, 0.6, 0.9)
    untrained_seed: int = 0

    @property
    def loops_per_level(self) -> int:
        """Loops per control level: 8 for the default 200."""
        return max(2, self.loops // 25)

    @property
    def sets_per_variance(self) -> int:
        """Variant sets per variance level: 5 for the default 200."""
        return max(1, self.loops // 40)


@dataclass(frozen=True)
class ColumnResult:
    """One column of the table: a group of loops scored with every metric."""

    loops: int
    metrics: dict[str, dict[str, float]]  # metric -> {mean, sd, n}
    seam: SeamCheck
    mode_rate: float
    originality: OriginalityCheck

    def to_json(self) -> dict[str, object]:
        return {
            "loops": self.loops,
            "metrics": self.metrics,
            "seam": self.seam.to_json(),
            "mode_rate": self.mode_rate,
            "originality": self.originality.to_json(),
        }


@dataclass(frozen=True)
class EvaluationReport:
    settings: EvaluationSettings
    columns: dict[str, ColumnResult]
    adherence: AdherenceCheck
    diversity: DiversityCheck
    info: dict[str, object] = field(default_factory=dict)

    @property
    def model(self) -> ColumnResult:
        return self.columns["model"]

    @property
    def checks(self) -> dict[str, bool]:
        return {
            "seam": self.model.seam.passed,
            "adherence": self.adherence.passed,
            "diversity": self.diversity.passed,
            "originality": self.model.originality.passed,
        }

    def to_json(self) -> dict[str, object]:
        return {
            "info": self.info,
            "settings": {
                "loops": self.settings.loops,
                "seed": self.settings.seed,
                "control_levels": list(self.settings.control_levels),
                "variance_levels": list(self.settings.variance_levels),
                "loops_per_level": self.settings.loops_per_level,
                "sets_per_variance": self.settings.sets_per_variance,
            },
            "columns": {name: column.to_json() for name, column in self.columns.items()},
            "adherence": self.adherence.to_json(),
            "diversity": self.diversity.to_json(),
            "checks": self.checks,
        }


def score_column(scores: Sequence[Score], modes: Sequence[str], index: CopyIndex) -> ColumnResult:
    per_loop = [loop_metrics(s) for s in scores]
    return ColumnResult(
        loops=len(scores),
        metrics={name: summarise([m[name] for m in per_loop]) for name in METRICS},
        seam=seam_check(scores),
        mode_rate=mode_rate(scores, modes),
        originality=originality_check(index, scores),
    )


class _Generator:
    """Runs requests through a composer, counting loops for the progress callback."""

    def __init__(
        self, composer: DiffusionComposer, total: int, progress: ProgressCallback | None
    ) -> None:
        self.composer = composer
        self.total = total
        self.done = 0
        self.progress = progress

    def sets(self, requests: Sequence[conditions.Request], stage: str) -> list[list[Score]]:
        out = []
        for request in requests:
            out.append(
                self.composer.compose(
                    request.spec(),
                    seed=request.seed,
                    variants=request.variants,
                    variance=request.variance,
                )
            )
            self.done += request.variants
            if self.progress is not None:
                self.progress(stage, self.done, self.total)
        return out


def _flatten(sets: Sequence[Sequence[Score]]) -> list[Score]:
    return [score for group in sets for score in group]


def run_evaluation(
    composer: DiffusionComposer,
    dataset: BarDataset,
    settings: EvaluationSettings | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> EvaluationReport:
    settings = settings or EvaluationSettings()
    started = time.perf_counter()
    timings: dict[str, float] = {}

    phase = time.perf_counter()
    index = CopyIndex.of(dataset)
    timings["copy_index_seconds"] = round(time.perf_counter() - phase, 2)

    main = conditions.main_spread(settings.loops, settings.seed)
    sweeps = {
        (control, level): conditions.control_requests(
            control, level, settings.loops_per_level, settings.seed
        )
        for control in SCALARS
        for level in settings.control_levels
    }
    by_variance = {
        variance: conditions.variance_requests(variance, settings.sets_per_variance, settings.seed)
        for variance in settings.variance_levels
    }
    total = (
        2 * settings.loops
        + sum(r.variants for rs in sweeps.values() for r in rs)
        + sum(r.variants for rs in by_variance.values() for r in rs)
    )
    generator = _Generator(composer, total, progress)

    phase = time.perf_counter()
    main_sets = generator.sets(main, "model")
    timings["model_seconds"] = round(time.perf_counter() - phase, 2)
    model_loops = _flatten(main_sets)
    requested = [r.mode for r in main for _ in range(r.variants)]

    phase = time.perf_counter()
    swept = {
        key: _flatten(generator.sets(requests, "controls")) for key, requests in sweeps.items()
    }
    variance_sets = {v: generator.sets(requests, "variance") for v, requests in by_variance.items()}
    timings["sweeps_seconds"] = round(time.perf_counter() - phase, 2)

    phase = time.perf_counter()
    untrained = DiffusionComposer(
        untrained_checkpoint(composer.checkpoint, settings.untrained_seed), composer.prompts
    )
    generator.composer = untrained
    untrained_loops = _flatten(generator.sets(main, "untrained"))
    timings["untrained_seconds"] = round(time.perf_counter() - phase, 2)

    rng = np.random.default_rng([settings.seed, 2])
    heldout = heldout_windows(dataset, [s.bars for s in model_loops], rng)
    shuffled_loops = [shuffled(s, rng) for s in heldout]

    phase = time.perf_counter()
    columns = {
        "model": score_column(model_loops, requested, index),
        "held-out": score_column(heldout, [s.mode for s in heldout], index),
        "untrained": score_column(untrained_loops, requested, index),
        "shuffled": score_column(shuffled_loops, [s.mode for s in shuffled_loops], index),
    }
    adherence = AdherenceCheck(
        mode_rate=columns["model"].mode_rate,
        loops=len(model_loops),
        sweeps=tuple(
            control_sweep(
                control, {level: swept[(control, level)] for level in settings.control_levels}
            )
            for control in SCALARS
        ),
    )
    diversity = diversity_check(conditions.default_variance(), main_sets, variance_sets)
    timings["scoring_seconds"] = round(time.perf_counter() - phase, 2)
    timings["total_seconds"] = round(time.perf_counter() - started, 2)
    info: dict[str, object] = {
        "weights_version": composer.weights_version,
        "weights_data_hash": composer.checkpoint.data_hash,
        "corpus_hash": dataset.manifest_hash,
        "corpus_matches_weights": dataset.manifest_hash == composer.checkpoint.data_hash,
        "corpus_bars": len(dataset.bars),
        "generated_loops": generator.done,
        "timings": timings,
    }
    return EvaluationReport(settings, columns, adherence, diversity, info)
