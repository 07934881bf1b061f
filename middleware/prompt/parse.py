"""Explicit reading of a prompt: numbers, keys, modes, meters, instruments, negations, words.

`read_prompt` is pure and fast (no model): it finds what the text states outright —
"85 BPM", "in G minor", "dorian", "3/4", "8 bars", instrument names with the role words
around them ("harp arpeggios", "fiddle leads"), negations ("no drums", "without
percussion or bass") and the descriptive words of `words.WORDS`. Each finding keeps the
words it came from, so `templates show` can say why. Statements that contradict each
other ("3/4 march in 6/8", "90 BPM ... 140 BPM") raise `PromptError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine_core.spec import LOOP_BARS, MODES, SUPPORTED_METERS
from middleware.errors import PromptError
from middleware.prompt.words import (
    INSTRUMENTS,
    NEGATIONS,
    ROLE_WORDS,
    SCOPE_BREAKS,
    WORDS,
    Instrument,
    WordEffect,
)

BPM_RANGE = (20, 300)
_BPM = re.compile(
    r"(?:(?P<a>\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats\s+per\s+minute)\b)"
    r"|(?:\b(?:tempo|bpm)\s*(?:of|=|:|at)?\s*(?P<b>\d{2,3}(?:\.\d+)?)\b)"
    r"|(?:\beighths?(?:\s+notes?)?\s*(?:=|:|at)\s*(?P<c>\d{2,3}(?:\.\d+)?)\b)",
    re.IGNORECASE,
)
_METER = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(2|4|8|16)(?![\d/])")
_METER_WORDS: dict[str, str] = {
    "common time": "4/4", "triple time": "3/4", "triple meter": "3/4",
    "three-four": "3/4", "six-eight": "6/8", "compound time": "6/8", "compound meter": "6/8",
    "two-four": "2/4", "duple time": "2/4", "duple meter": "2/4", "twelve-eight": "12/8",
    "five-four": "5/4", "quintuple": "5/4", "seven-eight": "7/8", "septuple": "7/8",
}  # fmt: skip
#: Time signatures the engine does not play, mapped onto one it does (and said so).
METER_MAPS: dict[str, str] = {"2/2": "4/4", "3/8": "3/4"}
_MODE_WORDS: dict[str, str] = {
    "major": "major", "maj": "major", "minor": "minor", "min": "minor", "dorian": "dorian",
    "phrygian": "phrygian", "lydian": "lydian", "mixolydian": "mixolydian",
    "aeolian": "minor", "ionian": "major",
}  # fmt: skip
_KEY = re.compile(
    r"\b(?:in\s+(?:the\s+key\s+of\s+)?|key\s+of\s+)?"
    r"(?P<tonic>[A-Ga-g])(?P<acc>#|♯|b|♭|-sharp|-flat|\s+sharp|\s+flat)?"
    r"\s*(?P<mode>major|minor|maj|min|dorian|phrygian|lydian|mixolydian|aeolian|ionian)\b",
    re.IGNORECASE,
)
_KEY_OF = re.compile(r"\b(?:in\s+the\s+key\s+of|key\s+of)\s+(?P<tonic>[A-G])(?P<acc>#|b)?\b")
_BARS = re.compile(r"\b(\d{1,2})[\s-]*bars?\b", re.IGNORECASE)
_UNSUPPORTED_MODES = re.compile(r"\blocrian\b", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class Found:
    """A value read from the prompt and the words that stated it."""

    value: object
    words: str


@dataclass(frozen=True)
class Mention:
    """An instrument named in the prompt."""

    word: str
    instrument: Instrument
    role: str | None  # the role the words around it give ("harp arpeggios" -> "arp")
    negated: bool
    position: int  # token index (order of appearance)
    height: str | None = None  # "low" / "high" from the word before ("low clarinet")
    pattern: str | None = None  # a named line from the word before ("walking bass")


@dataclass(frozen=True)
class PromptReading:
    """Everything `read_prompt` found (None / empty = the prompt does not say)."""

    text: str
    bpm: Found | None = None
    tonic: Found | None = None  # "G", "F#", "Bb"
    mode: Found | None = None  # a mode named outright ("G minor", "dorian")
    meter: Found | None = None
    meter_note: str = ""
    bars: Found | None = None
    mentions: tuple[Mention, ...] = ()
    words: tuple[tuple[str, WordEffect], ...] = ()  # descriptive words, in order
    tokens: tuple[str, ...] = ()  # the lower-case words ("|" ends a clause)
    no_drums: str = ""  # the words that ruled drums out ("no drums")
    notes: tuple[str, ...] = field(default=())  # things mapped onto what the engine plays

    @property
    def wanted(self) -> tuple[Mention, ...]:
        return tuple(m for m in self.mentions if not m.negated)


def _norm_accidental(acc: str | None) -> str:
    if not acc:
        return ""
    acc = acc.strip().lower().lstrip("-")
    return "#" if acc in ("#", "♯", "sharp") else "b" if acc in ("b", "♭", "flat") else ""


def _explicit_bpm(text: str) -> Found | None:
    found: list[tuple[float, str]] = []
    for match in _BPM.finditer(text):
        value = float(match.group("a") or match.group("b") or match.group("c"))
        found.append((value, match.group(0).strip()))
    if not found:
        return None
    values = {v for v, _ in found}
    if len(values) > 1:
        raise PromptError(
            "the prompt gives two tempos: " + " and ".join(repr(w) for _, w in found),
            {"field": "bpm", "values": sorted(values)},
        )
    value, words = found[0]
    if not BPM_RANGE[0] <= value <= BPM_RANGE[1]:
        raise PromptError(
            f"{words!r}: tempo outside {BPM_RANGE[0]}-{BPM_RANGE[1]} BPM",
            {"field": "bpm", "value": value},
        )
    return Found(value, words)


def _explicit_meter(text: str) -> tuple[Found | None, str]:
    found: list[tuple[str, str]] = []
    notes: list[str] = []
    lowered = text.lower()
    for match in _METER.finditer(text):
        meter = f"{int(match.group(1))}/{int(match.group(2))}"
        if meter in METER_MAPS:
            notes.append(f"{meter} is played in {METER_MAPS[meter]} (the engine's meters)")
            meter = METER_MAPS[meter]
        elif meter not in SUPPORTED_METERS:
            raise PromptError(
                f"{match.group(0)!r}: the engine plays {', '.join(SUPPORTED_METERS)} "
                "(and maps 2/2, 3/8 onto them)",
                {"field": "meter", "value": meter, "allowed": list(SUPPORTED_METERS)},
            )
        found.append((meter, match.group(0)))
    for words, meter in _METER_WORDS.items():
        if words in lowered:
            found.append((meter, words))
    if not found:
        return None, ""
    meters = {m for m, _ in found}
    if len(meters) > 1:
        raise PromptError(
            "the prompt gives contradictory meters: " + " and ".join(repr(w) for _, w in found),
            {"field": "meter", "values": sorted(meters)},
        )
    return Found(found[0][0], found[0][1]), "; ".join(notes)


def _explicit_key(text: str) -> tuple[Found | None, Found | None]:
    """(tonic, mode) stated outright: "in G minor", "F# dorian", "key of D", "phrygian"."""
    if match := _UNSUPPORTED_MODES.search(text):
        raise PromptError(
            f"{match.group(0)!r}: the engine plays {', '.join(MODES)}",
            {"field": "key", "allowed": list(MODES)},
        )
    keys: list[tuple[str, str, str]] = []
    for match in _KEY.finditer(text):
        tonic_letter = match.group("tonic")
        introduced = match.group(0).lower().startswith(("in ", "key "))
        if tonic_letter.islower() and not introduced:
            continue  # "a minor role", "e major" without "in": not a key statement
        tonic = tonic_letter.upper() + _norm_accidental(match.group("acc"))
        mode = _MODE_WORDS[match.group("mode").lower()]
        keys.append((tonic, mode, match.group(0).strip()))
    for match in _KEY_OF.finditer(text):
        if not any(match.group(0) in k[2] for k in keys):
            keys.append((match.group("tonic") + (match.group("acc") or ""), "", match.group(0)))
    if len({(t, m) for t, m, _ in keys}) > 1:
        raise PromptError(
            "the prompt gives two keys: " + " and ".join(repr(w) for _, _, w in keys),
            {"field": "key"},
        )
    tonic = Found(keys[0][0], keys[0][2]) if keys else None
    mode = Found(keys[0][1], keys[0][2]) if keys and keys[0][1] else None
    if mode is None:  # a mode word on its own: "a dorian flavour"
        named = [
            (_MODE_WORDS[w], w)
            for w in re.findall(r"\b(dorian|phrygian|lydian|mixolydian|aeolian)\b", text.lower())
        ]
        if len({m for m, _ in named}) > 1:
            raise PromptError(
                "the prompt names two modes: " + " and ".join(w for _, w in named),
                {"field": "key"},
            )
        if named:
            mode = Found(named[0][0], named[0][1])
    return tonic, mode


def _explicit_bars(text: str) -> Found | None:
    found = [(int(m.group(1)), m.group(0)) for m in _BARS.finditer(text)]
    if not found:
        return None
    if len({n for n, _ in found}) > 1:
        raise PromptError(
            "the prompt gives two loop lengths: " + " and ".join(repr(w) for _, w in found),
            {"field": "bars"},
        )
    bars, words = found[0]
    if bars not in LOOP_BARS:
        raise PromptError(
            f"{words!r}: a loop is {', '.join(str(b) for b in LOOP_BARS)} bars long",
            {"field": "bars", "value": bars, "allowed": list(LOOP_BARS)},
        )
    return Found(bars, words)


def _phrases(tokens: list[str], vocabulary: dict[str, object], longest: int = 3):
    """(start, end, phrase) of the longest vocabulary phrase at each position, left to right."""
    index = 0
    while index < len(tokens):
        for size in range(longest, 0, -1):
            words = tokens[index : index + size]
            if len(words) < size:
                continue
            phrase = " ".join(words)
            if phrase not in vocabulary and words[-1].endswith("s"):  # "french horns"
                phrase = " ".join([*words[:-1], words[-1][:-1]])
            if phrase in vocabulary:
                yield index, index + size, phrase
                index += size
                break
        else:
            index += 1


def _negated(tokens: list[str], start: int, taken: set[int]) -> bool:
    """True when a negation word governs the phrase starting at token `start`."""
    for back in range(start - 1, max(start - 6, -1), -1):
        word = tokens[back]
        if word in NEGATIONS:
            return True
        if word in SCOPE_BREAKS or word == "|":
            return False
        if back not in taken and word not in ("or", "any", "a", "the", "heavy", "loud"):
            return False
    return False


#: words before an instrument that place it in its range ("low clarinet", "soaring violin")
HEIGHT_WORDS: dict[str, str] = {
    "low": "low", "deep": "low", "lower": "low", "low-register": "low",
    "high": "high", "soaring": "high", "higher": "high", "high-register": "high",
}  # fmt: skip


def _height_near(tokens: list[str], start: int, taken: set[int]) -> str | None:
    """ "low" or "high" when one of `HEIGHT_WORDS` stands just before the instrument (one
    other describing word may come between: "a low breathy clarinet")."""
    for back in (start - 1, start - 2):
        if back < 0 or tokens[back] == "|" or back in taken:
            return None
        if tokens[back] in HEIGHT_WORDS:
            return HEIGHT_WORDS[tokens[back]]
    return None


#: words before an instrument that name the line it plays (`engine_core.spec.STEM_PATTERNS`)
PATTERN_WORDS: dict[str, str] = {"walking": "walking"}
#: words that name a drone: the instrument itself ("a drone") or the word after it
#: ("cello drone", "bagpipe drones")
DRONE_WORDS = ("drone", "drones")


def _pattern_near(tokens: list[str], start: int, end: int) -> str | None:
    """The pattern the words name: "walking bass", "cello drone", "a drone"; else None."""
    if start > 0 and tokens[start - 1] in PATTERN_WORDS:
        return PATTERN_WORDS[tokens[start - 1]]
    if tokens[end - 1] in DRONE_WORDS or (end < len(tokens) and tokens[end] in DRONE_WORDS):
        return "drone"
    return None


def _role_near(tokens: list[str], start: int, end: int) -> str | None:
    for index in (end, end + 1, start - 1):
        if 0 <= index < len(tokens) and ROLE_WORDS.get(tokens[index]):
            if index == end + 1 and tokens[end] in ("|",):
                continue
            return ROLE_WORDS[tokens[index]]
    return None


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; punctuation that ends a clause becomes "|"."""
    tokens: list[str] = []
    for piece in re.split(r"([,.;:!?()])", text.lower()):
        if piece in (",", ".", ";", ":", "!", "?", "(", ")"):
            tokens.append("|")
        else:
            tokens.extend(_TOKEN.findall(piece))
    return tokens


def read_prompt(text: str) -> PromptReading:
    """What the prompt says outright. Raises `PromptError` for an empty or contradictory one."""
    if not isinstance(text, str) or not text.strip():
        raise PromptError(
            "the prompt is empty: describe the music in a sentence or two",
            {"field": "prompt"},
        )
    prompt = " ".join(text.split())
    bpm = _explicit_bpm(prompt)
    meter, meter_note = _explicit_meter(prompt)
    tonic, mode = _explicit_key(prompt)
    bars = _explicit_bars(prompt)
    tokens = tokenize(prompt)
    if not any(t != "|" and not t.isdigit() for t in tokens):
        raise PromptError(
            f"the prompt {text.strip()!r} has no words to read music from", {"field": "prompt"}
        )

    mentions: list[Mention] = []
    taken: set[int] = set()
    described: set[int] = set()  # words that describe an instrument's line
    no_drums = ""
    spans = list(_phrases(tokens, INSTRUMENTS))  # type: ignore[arg-type]
    for start, end, _ in spans:
        taken.update(range(start, end))
    ends = {end for _, end, _ in spans}
    for start, end, phrase in spans:
        if start in ends and ROLE_WORDS.get(tokens[start]) and end == start + 1:
            continue  # "string pads", "cello bass": the role of the instrument before it
        instrument = INSTRUMENTS[phrase]
        negated = _negated(tokens, start, taken)
        role, height = _role_near(tokens, start, end), _height_near(tokens, start, taken)
        pattern = _pattern_near(tokens, start, end)
        mentions.append(Mention(phrase, instrument, role, negated, start, height, pattern))
        if pattern == "walking":
            described.add(start - 1)  # "walking bass" names a bass line, not a tempo
        if negated and instrument.family == "drums" and not no_drums:
            no_drums = " ".join(tokens[max(0, start - 1) : end])
    if "drumless" in tokens or "unpercussive" in tokens:
        no_drums = no_drums or "drumless"

    effects: list[tuple[str, WordEffect]] = []
    for start, _, phrase in _phrases(tokens, WORDS):  # type: ignore[arg-type]
        if start in taken or start in described or _negated(tokens, start, taken):
            continue  # "no drums" is not "drums"; "not slow" says nothing reliable
        effects.append((phrase, WORDS[phrase]))

    if meter is None:
        worded = [(p, e) for p, e in effects if e.meter]
        if worded:
            phrase, effect = worded[0]
            meter = Found(effect.meter, phrase)
            meter_note = effect.meter_note
    else:
        clash = [p for p, e in effects if e.meter and e.meter != meter.value]
        if clash and meter.value is not None:
            meter_note = (
                f"{meter.words!r} wins over {clash[0]!r} (which suggests {WORDS[clash[0]].meter})"
            )
    return PromptReading(
        text=prompt,
        bpm=bpm,
        tonic=tonic,
        mode=mode,
        meter=meter,
        meter_note=meter_note,
        bars=bars,
        mentions=tuple(mentions),
        words=tuple(effects),
        tokens=tuple(tokens),
        no_drums=no_drums,
    )


def descriptive_text(reading: PromptReading) -> str:
    """The prompt without what the parser already read exactly — tempo, key, meter and bar
    counts — and without negated phrases ("no drums": a sentence embedding cannot read a
    negation and would hear drums). What is left describes the music: MiniLM reads it for
    the genre and mood. The whole prompt when nothing would be left."""
    text = reading.text
    for found in (reading.bpm, reading.tonic, reading.mode, reading.meter, reading.bars):
        if found is not None and found.words and found.words.lower() not in WORDS:
            pattern = rf"(?:\b(?:at|in|of|for)\s+(?:a\s+)?)?{re.escape(found.words)}"
            text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    negations = "|".join(sorted(NEGATIONS))
    for mention in reading.mentions:
        if mention.negated:
            text = re.sub(
                rf"\b(?:{negations})\b(?:\s+(?:any|the|a|or|heavy|loud))*\s+{re.escape(mention.word)}\w*",
                " ",
                text,
                flags=re.IGNORECASE,
            )
    if reading.no_drums == "drumless":
        text = re.sub(r"\b(?:drumless|unpercussive)\b", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))
    text = re.sub(r"(^|[,;:]\s*)[,;:]\s*", r"\1", text).strip(" ,;:")
    return text if any(ch.isalpha() for ch in text) else reading.text
