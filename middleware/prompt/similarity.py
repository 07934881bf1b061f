"""What the MiniLM sentence embedding says about a prompt, where no word states it outright.

The model is the all-MiniLM-L6-v2 the engine already ships (`engine_core.model.text`):
the prompt is compared (cosine similarity) with one short description per genre tag and
with a major and a minor description; energy, density and register come from the engine's
own `PromptInterpreter` anchors, so the inferred values and the model's conditioning agree.

Scores are kept in memory and on disk (``<cache>/ostinato/prompt_scores/``, keyed by the
prompt and `ANCHORS_VERSION`), so a warm process — or a second `ostinato` run — never loads
the model for a prompt it has seen.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANCHORS_VERSION = 1
#: A genre is taken from the embedding only when it is this similar to the prompt...
GENRE_MIN_SIMILARITY = 0.30
#: ...and this much more similar than the runner-up.
GENRE_MARGIN = 0.02
#: The mode is taken from the embedding when major and minor differ by this much.
MODE_MARGIN = 0.03

#: One description per genre tag. The meter-defining genres (waltz, march, jig, shanty) are
#: left out: a meter and a groove that strong needs the word itself.
GENRE_ANCHORS: dict[str, str] = {
    "orchestral": "orchestral music for strings, woodwinds and brass",
    "cinematic": "epic cinematic film score, a heroic movie soundtrack",
    "chorale": "a solemn church hymn sung by a choir with organ",
    "baroque": "baroque music with harpsichord and violins, like Bach",
    "folk": "a lively folk tune played on a fiddle and guitar",
    "celtic": "celtic irish music with fiddle, tin whistle and bodhran",
    "medieval": "medieval tavern music with lute and recorder",
    "renaissance": "renaissance court dance, an old madrigal",
    "chiptune": "8-bit chiptune video game music from a retro console",
    "synthwave": "synthwave, retro 80s synthesizers and neon night drives",
    "electronic": "electronic dance music with synthesizers and a club beat",
    "ambient": "ambient atmospheric drone music, slow evolving pads",
    "rock": "rock music with electric guitars, bass and drums",
    "jazz": "jazz with saxophone, piano and a swinging walking bass",
    "lofi": "lo-fi hip hop beats to relax and study to",
    "horror": "scary horror music, creepy and unsettling",
    "tribal": "tribal drums and chanting, primal rhythm",
}
MODE_ANCHORS: dict[str, str] = {
    "major": "happy bright cheerful joyful music in a major key",
    "minor": "sad dark gloomy serious music in a minor key",
}


@dataclass(frozen=True)
class Scores:
    """MiniLM's view of one prompt: similarities and the engine's scalar controls."""

    genres: dict[str, float]  # genre tag -> cosine similarity
    modes: dict[str, float]  # "major"/"minor" -> cosine similarity
    energy: float | None
    density: float | None
    register: float | None

    def best_genre(self, exclude: frozenset[str] = frozenset()) -> tuple[str, float] | None:
        """The most similar genre (not in `exclude`) when it clearly wins, else None."""
        ranked = sorted(
            ((g, s) for g, s in self.genres.items() if g not in exclude),
            key=lambda item: (-item[1], item[0]),
        )
        (top, score), (_, second) = ranked[0], ranked[1]
        if score >= GENRE_MIN_SIMILARITY and score - second >= GENRE_MARGIN:
            return top, score
        return None

    def mode(self) -> tuple[str, float] | None:
        """("major" or "minor", the similarity difference) when one clearly wins."""
        difference = self.modes["major"] - self.modes["minor"]
        if abs(difference) < MODE_MARGIN:
            return None
        return ("major" if difference > 0 else "minor"), abs(difference)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cache_dir() -> Path:
    base = os.environ.get("OSTINATO_CACHE") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "ostinato" / "prompt_scores"


class PromptScorer:
    """Scores prompts with MiniLM; loads the model only for a prompt it has not seen."""

    def __init__(self, cache_dir: Path | None = None, interpreter: Any = None) -> None:
        self._cache_dir = cache_dir or _cache_dir()
        self._interpreter = interpreter
        self._anchors: Any = None
        self._memory: dict[str, Scores] = {}

    @property
    def interpreter(self) -> Any:
        if self._interpreter is None:
            from engine_core.model.text import PromptInterpreter

            self._interpreter = PromptInterpreter()
        return self._interpreter

    def _key(self, prompt: str) -> str:
        blob = f"{ANCHORS_VERSION}\n{json.dumps([GENRE_ANCHORS, MODE_ANCHORS])}\n"
        blob += prompt.strip().lower()
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def scores(self, prompt: str) -> Scores:
        key = self._key(prompt)
        if key in self._memory:
            return self._memory[key]
        path = self._cache_dir / f"{key}.json"
        try:
            result = Scores(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            result = self._score(prompt)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(result.__dict__))
                tmp.replace(path)
            except OSError:
                pass  # a read-only cache only costs time
        self._memory[key] = result
        return result

    def _score(self, prompt: str) -> Scores:
        with _one_thread():  # one short sentence: threads only add hand-off cost
            return self._score_with_model(prompt)

    def _score_with_model(self, prompt: str) -> Scores:
        names = [f"genre:{g}" for g in GENRE_ANCHORS] + [f"mode:{m}" for m in MODE_ANCHORS]
        if self._anchors is None:
            texts = list(GENRE_ANCHORS.values()) + list(MODE_ANCHORS.values())
            self._anchors = self.interpreter.embed(texts)
        vector = self.interpreter.embed([prompt])[0]
        sims = {
            name: round(float(vector @ anchor), 4)
            for name, anchor in zip(names, self._anchors, strict=True)
        }
        controls = self.interpreter.controls(prompt, vector=vector)
        return Scores(
            genres={n[6:]: s for n, s in sims.items() if n.startswith("genre:")},
            modes={n[5:]: s for n, s in sims.items() if n.startswith("mode:")},
            energy=controls.energy,
            density=controls.density,
            register=controls.register,
        )
