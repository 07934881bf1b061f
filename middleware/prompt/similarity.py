"""What the MiniLM sentence embedding says about a prompt, where no word states it outright.

The model is the all-MiniLM-L6-v2 the engine already ships (`engine_core.model.text`).
The prompt's description (`parse.descriptive_text`: the prompt without the numbers, keys
and negated phrases the parser already read) is compared (cosine similarity) with three
short descriptions per genre tag — a genre scores its closest one — and with a major and a
minor description; energy, density and register come from the engine's own
`PromptInterpreter` anchors on the whole prompt, so the inferred values and the model's
conditioning agree. A genre is only taken when it wins clearly (`GENRE_MIN_SIMILARITY`,
`GENRE_MARGIN`); `infer` falls back to the prompt's energy otherwise.

Scores are kept in memory and on disk (``<cache>/ostinato/prompt_scores/``, keyed by the
prompt and the anchors), and so are the anchors' embeddings: a warm process — or a second
`ostinato` run — never loads the model for a prompt it has seen, and a cold one embeds only
the prompt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANCHORS_VERSION = 2
#: A genre is taken from the embedding only when its best anchor is this similar to the
#: prompt's description...
GENRE_MIN_SIMILARITY = 0.30
#: ...and this much more similar than the runner-up genre; otherwise the genre falls back to
#: the prompt's energy (`infer.ENERGY_GENRES`).
GENRE_MARGIN = 0.03
#: The mode is taken from the embedding when major and minor differ by this much.
MODE_MARGIN = 0.03

#: Several descriptions per genre tag — its sound, its idiom, the scenes a game uses it
#: for — each naming the genre's own instruments only (a piano or strings belong to many
#: genres). A genre scores its most similar description. The meter-defining genres (waltz,
#: march, jig, shanty) are left out: a meter and a groove that strong needs the word itself.
GENRE_ANCHORS: dict[str, tuple[str, ...]] = {
    "orchestral": (
        "orchestral music for strings, woodwinds and brass",
        "a sweeping classical score played by a full symphony orchestra",
        "gentle orchestral underscore for an adventure or story scene",
    ),
    "cinematic": (
        "epic cinematic film score, a heroic movie soundtrack",
        "intense action music for a battle, powerful and dramatic",
        "dramatic trailer music building tension to a huge climax",
    ),
    "chorale": (
        "a solemn church hymn sung by a choir with organ",
        "sacred choral music, reverent, slow and grieving",
        "a four-part chorale, a prayer in a cathedral",
    ),
    "baroque": (
        "baroque music with harpsichord and violins, like Bach",
        "an elegant baroque dance, a minuet or gavotte at court",
        "ornate eighteenth-century chamber music, a concerto grosso",
    ),
    "folk": (
        "a lively folk tune played on a fiddle and guitar",
        "rustic country folk music, a banjo and a harmonica on the porch",
        "traditional folk dance music with accordion and acoustic instruments",
    ),
    "celtic": (
        "celtic irish music with fiddle, tin whistle and bodhran",
        "a traditional irish reel or jig played in a pub",
        "a wistful celtic air from ireland or scotland",
    ),
    "medieval": (
        "medieval tavern music with lute and recorder",
        "music of the middle ages for knights and castles",
        "an old medieval dance with hurdy-gurdy drones and hand drums",
    ),
    "renaissance": (
        "renaissance court dance, an old madrigal",
        "elegant renaissance consort music of viols and recorders",
        "sixteenth-century polyphony, a pavane or a galliard",
    ),
    "chiptune": (
        "8-bit chiptune video game music from a retro console",
        "square-wave melodies from an old handheld game system",
        "fast retro platformer music made of simple computer tones",
    ),
    "synthwave": (
        "synthwave, retro 80s synthesizers and neon night drives",
        "outrun retrowave with gated drums and analog synth arpeggios",
        "a cyberpunk neon city with analog synthesizers",
    ),
    "electronic": (
        "electronic dance music with synthesizers and a club beat",
        "techno and house music with a four-on-the-floor kick",
        "futuristic digital electronic music with programmed beats",
    ),
    "ambient": (
        "ambient atmospheric drone music, slow evolving pads",
        "a vast, still, peaceful soundscape with no beat",
        "calm floating music for deep water, caves or outer space",
    ),
    "rock": (
        "rock music with electric guitars, bass and drums",
        "hard rock and heavy metal with distorted power chords",
        "an energetic rock band playing loud and fast",
    ),
    "jazz": (
        "jazz with saxophone and a swinging walking bass",
        "a smoky late-night jazz club, cool and improvised",
        "swing and bebop, a jazz combo improvising",
    ),
    "lofi": (
        "lo-fi hip hop beats to relax and study to",
        "chill lo-fi beats with dusty vinyl crackle and mellow keys",
        "laid-back chillhop with a lazy boom-bap groove",
    ),
    "horror": (
        "scary horror music, creepy and unsettling",
        "dissonant eerie suspense in a haunted house",
        "terrifying dread, monsters lurking in the dark",
    ),
    "tribal": (
        "tribal drums and chanting, primal rhythm",
        "ritual hand drums and chants, earthy and primal",
        "world music with hand drums, shakers and wooden flutes",
    ),
}
MODE_ANCHORS: dict[str, tuple[str, ...]] = {
    "major": ("happy bright cheerful joyful music in a major key",),
    "minor": ("sad dark gloomy serious music in a minor key",),
}


@dataclass(frozen=True)
class Scores:
    """MiniLM's view of one prompt: similarities and the engine's scalar controls."""

    genres: dict[str, float]  # genre tag -> cosine similarity of its closest description
    modes: dict[str, float]  # "major"/"minor" -> cosine similarity
    energy: float | None
    density: float | None
    register: float | None

    def ranked_genres(self, exclude: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        return sorted(
            ((g, s) for g, s in self.genres.items() if g not in exclude),
            key=lambda item: (-item[1], item[0]),
        )

    def best_genre(self, exclude: frozenset[str] = frozenset()) -> tuple[str, float] | None:
        """The most similar genre (not in `exclude`) when it clearly wins, else None."""
        ranked = self.ranked_genres(exclude)
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


def _anchor_items() -> list[tuple[str, str]]:
    """(name, description) of every anchor: "genre:<tag>" and "mode:<mode>"."""
    items = [(f"genre:{g}", text) for g, texts in GENRE_ANCHORS.items() for text in texts]
    items += [(f"mode:{m}", text) for m, texts in MODE_ANCHORS.items() for text in texts]
    return items


def _anchors_digest() -> str:
    blob = json.dumps([ANCHORS_VERSION, _anchor_items()])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class PromptScorer:
    """Scores prompts with MiniLM; loads the model only for a prompt it has not seen.

    The genre and mode are read from the prompt's description (`parse.descriptive_text`:
    without the numbers, keys and negated phrases the parser read exactly); energy, density
    and register from the whole prompt, as the engine reads it. The anchors' embeddings are
    kept on disk beside the scores, so a cold process embeds only the prompt.
    """

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
        blob = f"{_anchors_digest()}\n{prompt.strip().lower()}"
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
            _write_atomic(path, json.dumps(result.__dict__).encode())
        self._memory[key] = result
        return result

    def _score(self, prompt: str) -> Scores:
        with _one_thread():  # one short sentence: threads only add hand-off cost
            return self._score_with_model(prompt)

    def anchor_vectors(self) -> Any:
        """(anchors, 384) unit vectors in `_anchor_items` order: from disk, else embedded."""
        import numpy as np

        if self._anchors is not None:
            return self._anchors
        path = self._cache_dir / f"anchors-{_anchors_digest()}.npy"
        count = len(_anchor_items())
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape[0] != count:
                raise ValueError(f"{path}: {vectors.shape[0]} anchors, expected {count}")
        except (OSError, ValueError):
            vectors = self.interpreter.embed([text for _, text in _anchor_items()])
            buffer = io.BytesIO()
            np.save(buffer, vectors, allow_pickle=False)
            _write_atomic(path, buffer.getvalue())
        self._anchors = vectors
        return vectors

    def _score_with_model(self, prompt: str) -> Scores:
        from middleware.prompt.parse import descriptive_text, read_prompt

        description = descriptive_text(read_prompt(prompt))
        texts = [prompt] if description == prompt else [prompt, description]
        vectors = self.interpreter.embed(texts)
        whole, described = vectors[0], vectors[-1]
        sims = self.anchor_vectors() @ described
        genres: dict[str, float] = {}
        modes: dict[str, float] = {}
        for (name, _), sim in zip(_anchor_items(), sims, strict=True):
            kind, label = name.split(":", 1)
            table = genres if kind == "genre" else modes
            table[label] = max(table.get(label, -1.0), round(float(sim), 4))
        controls = self.interpreter.controls(prompt, vector=whole)
        return Scores(
            genres=genres,
            modes=modes,
            energy=controls.energy,
            density=controls.density,
            register=controls.register,
        )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename; a read-only cache only costs time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass
