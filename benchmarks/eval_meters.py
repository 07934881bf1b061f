"""Musical measures of the re-barred meters (2/4, 12/8, 5/4, 7/8) against folk-tune corpora.

For each new meter, a few prompts (not used anywhere else) are inferred into specs
(`middleware.prompt.infer_state`), composed by the shipped model, arranged and rendered.
Per variant, on the melody stem: the share of distinct onsets on beat 1, and the
strong-minus-weak velocity gap (strong: each beat group's first beat; weak: the other
beats). Per variant: silent stems (peak below -60 dBFS) and the longest hole of the mix
(in beats, and in quarter notes: a 7/8 beat is an eighth).

Corpus baseline: music21's ABC folk tunes in the same meter (ryansMammoth, essenFolksong,
oneills1850, airdsAirs): the share of melody onsets on beat 1 (median and quartiles).
The ABC tunes carry no dynamics, so the velocity gap has no corpus baseline.

    .venv/bin/python benchmarks/eval_meters.py [--tunes 120] [--variants 2]
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
from pathlib import Path

import numpy as np

PROMPTS: dict[str, tuple[str, ...]] = {
    "2/4": (
        "a bouncy polka for a goblin market, clarinet and tuba",
        "a brisk 2/4 march for the palace guard, snare and trumpets",
        "frantic 2/4 chase through the sewers, staccato strings",
    ),
    "12/8": (
        "slow blues shuffle in a smoky tavern, electric piano and bass",
        "an epic 12/8 ballad for the fallen king, horns and strings",
        "a rolling 12/8 sea crossing, warm cellos and harp",
    ),
    "5/4": (
        "boss fight in 5/4, dark brass and pounding drums",
        "tense stealth mission in 5/4, pizzicato and marimba",
        "a mysterious 5/4 desert caravan, oud and frame drum",
    ),
    "7/8": (
        "odd meter battle cue, aggressive strings and drums",
        "a balkan village dance, accordion and fiddle",
        "a 7/8 robot factory groove, synth bass and drums",
    ),
}
CORPORA = ("ryansMammoth", "essenFolksong", "oneills1850", "airdsAirs")


def corpus_downbeats(meter: str, limit: int) -> list[float]:
    """Beat-1 onset share of up to `limit` corpus melodies in `meter` (whole tunes)."""
    from music21 import converter, corpus, note

    shares: list[float] = []
    header = re.compile(rf"^M:\s*{re.escape(meter)}\s*$", re.MULTILINE)
    for number, name in enumerate(CORPORA):
        quota = limit * (number + 1) // len(CORPORA)  # an even share from each collection
        for path in corpus.getComposer(name):
            if len(shares) >= quota:
                break
            text = Path(path).read_text(encoding="latin-1")
            for tune in re.split(r"\n(?=X:)", text):
                if len(shares) >= quota or not header.search(tune):
                    continue
                if len(re.findall(r"^M:", tune, re.MULTILINE)) > 1:
                    continue  # meter changes inside the tune
                try:
                    score = converter.parse(tune, format="abc")
                except Exception:
                    continue
                onsets = set()
                down = 0
                for n in score.recurse().getElementsByClass(note.Note):
                    measure = n.getContextByClass("Measure")
                    if measure is None:
                        continue
                    offset = float(n.getOffsetBySite(measure)) + float(measure.paddingLeft)
                    key = (measure.number, round(offset * 12))
                    if key in onsets:
                        continue
                    onsets.add(key)
                    down += offset == 0.0
                if len(onsets) >= 8:
                    shares.append(down / len(onsets))
    return shares


def melody_measures(arrangement, meter) -> tuple[float, float]:
    """(beat-1 onset share, strong - weak velocity) of the melody stem."""
    melody = next(s for s in arrangement.stems if s.stem.role == "melody")
    per_beat = meter.steps_per_beat
    bar = meter.steps_per_bar
    onsets: dict[int, float] = {}
    for n in melody.notes:
        step = round(n.start_beats * per_beat)
        onsets[step] = max(onsets.get(step, 0.0), n.velocity)
    if not onsets:
        return math.nan, math.nan
    down = sum(1 for s in onsets if s % bar == 0) / len(onsets)
    strong = [v for s, v in onsets.items() if s % bar in meter.group_starts]
    weak = [v for s, v in onsets.items() if s % per_beat == 0 and s % bar not in meter.group_starts]
    gap = float(np.mean(strong) - np.mean(weak)) if strong and weak else math.nan
    return down, gap


def corpus_table(limit: int) -> dict[str, str]:
    table = {}
    for meter in PROMPTS:
        shares = corpus_downbeats(meter, limit)
        if len(shares) >= 3:
            q1, median, q3 = statistics.quantiles(shares, n=4)
            table[meter] = f"{median:.3f} [{q1:.3f}, {q3:.3f}] ({len(shares)})"
        else:
            table[meter] = f"no baseline ({len(shares)} tunes)"
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tunes", type=int, default=120)
    parser.add_argument("--variants", type=int, default=2)
    args = parser.parse_args()

    from engine_core.arrange.arranger import arrange
    from engine_core.arrange.grooves import load_library
    from engine_core.evaluation.music import longest_hole_beats, peak_dbfs
    from engine_core.export.midi import quarters_per_beat
    from engine_core.generate import Engine
    from middleware.prompt.infer import infer_state

    engine = Engine()
    library = load_library()
    print(f"{'meter':5} {'prompt':58} {'v':>2} {'beat1':>6} {'gap':>6} {'silent':>6} "
          f"{'hole_b':>6} {'hole_q':>6}")  # fmt: skip
    summary: dict[str, list[tuple[float, float, int, float]]] = {}
    for meter_text, prompts in PROMPTS.items():
        for number, prompt in enumerate(prompts):
            spec = infer_state(prompt, default_bars=4).spec()
            assert spec.meter == meter_text, (prompt, spec.meter)
            meter = spec.meter_info
            seed = 11 + number
            scores = engine.composer.compose(spec, seed=seed, variants=args.variants)
            variant_set = engine.render_scores(spec, scores, state="m", seed=seed)
            for index, score in enumerate(scores):
                arrangement = arrange(
                    score, spec, seed=seed, variant_index=index, grooves=library, theme=scores[0]
                )
                variant = variant_set.variants[index]
                down, gap = melody_measures(arrangement, meter)
                silent = sum(1 for audio in variant.stems.values() if peak_dbfs(audio) < -60.0)
                hole = longest_hole_beats(variant.mix, spec.sample_rate, spec.bpm)
                quarters = hole * quarters_per_beat(meter)
                summary.setdefault(meter_text, []).append((down, gap, silent, hole))
                print(f"{meter_text:5} {prompt[:58]:58} {index:2d} {down:6.3f} {gap:6.3f} "
                      f"{silent:6d} {hole:6.2f} {quarters:6.2f}")  # fmt: skip
    print()
    print(f"{'meter':5} {'beat1 mean':>10} {'corpus median [q1, q3] (n)':>30} {'gap mean':>9} "
          f"{'silent':>6} {'max hole':>8}")  # fmt: skip
    corpora = corpus_table(args.tunes)
    for meter_text, rows in summary.items():
        corpus = corpora[meter_text]
        down = float(np.nanmean([r[0] for r in rows]))
        gap = float(np.nanmean([r[1] for r in rows]))
        print(f"{meter_text:5} {down:10.3f} {corpus:>30} {gap:9.3f} "
              f"{sum(r[2] for r in rows):6d} {max(r[3] for r in rows):8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
