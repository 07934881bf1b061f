"""An `EvaluationReport` as the text table `ostinato eval-model` prints."""

from __future__ import annotations

import math

from engine_core.evaluation.diversity import DEFAULT_RANGE
from engine_core.evaluation.suite import COLUMNS, EvaluationReport

#: metric -> table label
LABELS: dict[str, str] = {
    "pitch_class_entropy": "pitch-class entropy (bits)",
    "scale_consistency": "scale consistency",
    "polyphony": "polyphony (pitches)",
    "empty_beat_rate": "empty-beat rate",
    "groove_consistency": "groove consistency",
    "notes_per_bar": "notes per bar",
}
_LABEL_WIDTH = 30
_COLUMN_WIDTH = 13


def _number(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _row(label: str, cells: list[str]) -> str:
    return label.ljust(_LABEL_WIDTH) + "".join(c.rjust(_COLUMN_WIDTH) for c in cells)


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def format_table(report: EvaluationReport) -> str:
    columns = [report.columns[name] for name in COLUMNS]
    lines = [_row("metric (mean over loops)", list(COLUMNS))]
    lines.append("-" * (_LABEL_WIDTH + _COLUMN_WIDTH * len(COLUMNS)))
    lines.append(_row("loops", [str(c.loops) for c in columns]))
    for name, label in LABELS.items():
        lines.append(_row(label, [_number(c.metrics[name]["mean"]) for c in columns]))
    lines.append(
        _row("seam join distance (median)", [_number(c.seam.seam_median) for c in columns])
    )
    lines.append(
        _row(
            "inner joins (IQR)",
            [f"{_number(c.seam.inner_q1, 2)}-{_number(c.seam.inner_q3, 2)}" for c in columns],
        )
    )
    lines.append(_row("seam median in inner IQR", [_verdict(c.seam.passed) for c in columns]))
    lines.append(_row("mode match", [_number(c.mode_rate) for c in columns]))
    lines.append(
        _row("loops copying >= 2 bars", [str(c.originality.loops_copying) for c in columns])
    )
    lines.append("")

    model = report.model
    seam = model.seam
    lines.append(
        f"seam        {_verdict(seam.passed)}  median seam {_number(seam.seam_median)} "
        f"in inner-join IQR [{_number(seam.inner_q1)}, {_number(seam.inner_q3)}] "
        f"({seam.loops} seams, {seam.inner_joins} inner joins)"
    )
    adherence = report.adherence
    lines.append(
        f"adherence   {_verdict(adherence.passed)}  mode {adherence.mode_rate:.1%} of "
        f"{adherence.loops} loops (target >= 90%) {_verdict(adherence.mode_passed)}"
    )
    for sweep in adherence.sweeps:
        values = "  ".join(
            f"{level:g}:{_number(value, 2)}"
            for level, value in zip(sweep.levels, sweep.measured, strict=True)
        )
        lines.append(
            f"            {sweep.control:<8} {values}  "
            f"({sweep.to_json()['unit']}, {sweep.loops_per_level} loops/level) "
            f"monotonic {_verdict(sweep.monotonic)}"
        )
    diversity = report.diversity
    low, high = DEFAULT_RANGE
    by_variance = "  ".join(
        f"{v:g}:{_number(o, 2)}" for v, o in sorted(diversity.by_variance.items())
    )
    lines.append(
        f"diversity   {_verdict(diversity.passed)}  overlap {_number(diversity.default_overlap)} "
        f"at variance {diversity.default_variance:g} (target {low}-{high}) "
        f"{_verdict(diversity.in_range)}"
    )
    lines.append(
        f"            by variance {by_variance}  falling {_verdict(diversity.follows_variance)}"
    )
    originality = model.originality
    lines.append(
        f"originality {_verdict(originality.passed)}  {originality.loops_copying} of "
        f"{originality.loops} loops copy >= 2 bars of a training piece "
        f"({originality.indexed_windows} training windows indexed)"
    )
    info = report.info
    if not info.get("corpus_matches_weights", True):
        lines.append(
            f"note: corpus {info.get('corpus_hash')} is not the weights' training data "
            f"({info.get('weights_data_hash')}): held-out windows and the originality index "
            "come from this corpus"
        )
    return "\n".join(lines)


def json_safe(value: object) -> object:
    """`value` with every NaN float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
