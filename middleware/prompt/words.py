"""The words a prompt is read with: instruments, tempo and mood words, genres, palettes.

Data only (word lists are the right tool for names: "cello" is a cello). Everything the
MiniLM model decides lives in `middleware.prompt.similarity`; how the two are combined
lives in `middleware.prompt.infer`. Documented in docs/templates.md (Prompt inference).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    """A named instrument: its General MIDI program, the roles it prefers, its range."""

    program: int  # General MIDI program 0-127 (ignored for drum roles: kit 0)
    roles: tuple[str, ...]  # preferred roles, best first
    low: int  # lowest sensible MIDI note
    high: int  # highest sensible MIDI note
    family: str  # the General MIDI family the eval checks (or "drums")


def _i(program: int, roles: str, low: int, high: int, family: str = "") -> Instrument:
    return Instrument(program, tuple(roles.split()), low, high, family or gm_family(program))


def gm_family(program: int) -> str:
    """The General MIDI family of a program (the 16 groups of 8)."""
    return GM_FAMILIES[program // 8]


GM_FAMILIES: tuple[str, ...] = (
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble",
    "brass", "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic",
    "percussive", "sound effects",
)  # fmt: skip

#: Instrument words (longest phrases are matched first; plurals are folded by the parser).
#: `oud` has no General MIDI program: the nearest plucked, fretless-sounding lute is the
#: Shamisen (106); `lute` maps to the nylon guitar, `lyre` to the harp.
INSTRUMENTS: dict[str, Instrument] = {
    "piano": _i(0, "harmony melody arp", 36, 96),
    "grand piano": _i(0, "harmony melody arp", 36, 96),
    "bright piano": _i(1, "harmony melody arp", 36, 96),
    "electric grand": _i(2, "harmony melody", 36, 96),
    "honky-tonk piano": _i(3, "harmony melody", 36, 96),
    "honky tonk piano": _i(3, "harmony melody", 36, 96),
    "honky-tonk": _i(3, "harmony melody", 36, 96),
    "saloon piano": _i(3, "harmony melody", 36, 96),
    "clavinet": _i(7, "harmony melody", 36, 89),
    "electric piano": _i(4, "harmony melody", 40, 88),
    "rhodes": _i(4, "harmony melody", 40, 88),
    "harpsichord": _i(6, "harmony arp melody", 41, 89),
    "celesta": _i(8, "melody arp", 60, 96),
    "glockenspiel": _i(9, "melody arp", 72, 100),
    "music box": _i(10, "melody arp", 60, 96),
    "vibraphone": _i(11, "melody harmony", 53, 89),
    "vibes": _i(11, "melody harmony", 53, 89),
    "marimba": _i(12, "melody arp", 45, 96),
    "xylophone": _i(13, "melody arp", 65, 100),
    "bells": _i(14, "melody", 60, 79),
    "tubular bells": _i(14, "melody", 60, 79),
    "chimes": _i(14, "melody", 60, 79),
    "dulcimer": _i(15, "arp melody", 50, 86),
    "organ": _i(19, "pad harmony melody", 36, 91),
    "church organ": _i(19, "pad harmony melody", 36, 91),
    "accordion": _i(21, "melody harmony", 53, 89),
    "harmonica": _i(22, "melody", 60, 96),
    "guitar": _i(24, "harmony arp melody", 40, 84),
    "acoustic guitar": _i(24, "harmony arp melody", 40, 84),
    "nylon guitar": _i(24, "harmony arp melody", 40, 84),
    "lute": _i(24, "harmony arp melody", 40, 84),
    "mandolin": _i(25, "melody harmony", 55, 88),
    "steel guitar": _i(25, "harmony arp melody", 40, 84),
    "jazz guitar": _i(26, "harmony melody", 40, 84),
    "electric guitar": _i(27, "harmony melody", 40, 86),
    "overdriven guitar": _i(29, "harmony melody", 40, 86),
    "distorted guitar": _i(30, "harmony melody", 40, 86),
    "distortion guitar": _i(30, "harmony melody", 40, 86),
    "double bass": _i(43, "bass", 28, 55),
    "upright bass": _i(32, "bass", 28, 55),
    "bass guitar": _i(33, "bass", 28, 55),
    "bass": _i(33, "bass", 28, 55),
    "fretless bass": _i(35, "bass", 28, 55),
    "slap bass": _i(36, "bass", 28, 55),
    "synth bass": _i(38, "bass", 24, 55),
    "violin": _i(40, "melody counter", 55, 96),
    "violins": _i(40, "melody counter", 55, 96),
    "fiddle": _i(110, "melody counter", 55, 93),
    "viola": _i(41, "counter melody harmony", 48, 84),
    "cello": _i(42, "melody counter bass", 36, 76),
    "contrabass": _i(43, "bass", 28, 55),
    "tremolo strings": _i(44, "pad harmony", 40, 88),
    "pizzicato": _i(45, "arp harmony", 40, 88),
    "pizzicato strings": _i(45, "arp harmony", 40, 88),
    "harp": _i(46, "arp melody", 36, 96),
    "lyre": _i(46, "arp melody", 48, 91),
    "timpani": _i(47, "bass", 38, 57),
    "strings": _i(48, "harmony pad melody", 36, 88),
    "string": _i(48, "harmony pad melody", 36, 88),
    "string ensemble": _i(48, "harmony pad melody", 36, 88),
    "orchestra": _i(48, "harmony pad", 36, 88),
    "synth strings": _i(50, "pad harmony", 36, 88),
    "choir": _i(52, "pad harmony melody", 45, 79),
    "chorus": _i(52, "pad harmony melody", 45, 79),
    "voices": _i(52, "pad harmony melody", 45, 79),
    "vocals": _i(53, "melody pad", 48, 79),
    "voice": _i(53, "melody pad", 48, 79),
    "synth choir": _i(54, "pad", 45, 79),
    "orchestra hit": _i(55, "harmony", 48, 79),
    "trumpet": _i(56, "melody counter", 55, 82),
    "trumpets": _i(56, "melody counter", 55, 82),
    "trombone": _i(57, "harmony bass counter", 40, 72),
    "tuba": _i(58, "bass", 28, 58),
    "horn": _i(60, "melody harmony counter", 41, 77),
    "horns": _i(60, "melody harmony counter", 41, 77),
    "french horn": _i(60, "melody harmony counter", 41, 77),
    "brass": _i(61, "harmony melody", 36, 82),
    "brass section": _i(61, "harmony melody", 36, 82),
    "synth brass": _i(62, "harmony melody", 36, 84),
    "saxophone": _i(65, "melody counter", 49, 81),
    "sax": _i(65, "melody counter", 49, 81),
    "alto sax": _i(65, "melody counter", 49, 81),
    "tenor sax": _i(66, "melody counter", 44, 76),
    "oboe": _i(68, "melody counter", 58, 91),
    "english horn": _i(69, "melody counter", 52, 81),
    "bassoon": _i(70, "bass counter", 34, 72),
    "clarinet": _i(71, "melody counter", 50, 91),
    "woodwinds": _i(71, "counter melody", 50, 91),
    "piccolo": _i(72, "melody", 74, 102),
    "flute": _i(73, "melody counter", 60, 96),
    "flutes": _i(73, "melody counter", 60, 96),
    "recorder": _i(74, "melody counter", 60, 86),
    "pan flute": _i(75, "melody", 60, 86),
    "panpipes": _i(75, "melody", 60, 86),
    "shakuhachi": _i(77, "melody", 55, 84),
    "whistle": _i(78, "melody counter", 74, 98),
    "tin whistle": _i(78, "melody counter", 74, 98),
    "ocarina": _i(79, "melody", 60, 84),
    "chiptune lead": _i(80, "melody", 60, 96),
    "square lead": _i(80, "melody", 60, 96),
    "square wave": _i(80, "melody", 60, 96),
    "synth lead": _i(81, "melody", 55, 96),
    "lead synth": _i(81, "melody", 55, 96),
    "saw lead": _i(81, "melody", 55, 96),
    "synth": _i(81, "melody harmony", 48, 96),
    "synths": _i(90, "pad harmony", 40, 90),
    "arpeggiator": _i(81, "arp", 55, 91),
    "pad": _i(89, "pad", 40, 84),
    "pads": _i(89, "pad", 40, 84),
    "synth pad": _i(89, "pad", 40, 84),
    "warm pad": _i(89, "pad", 40, 84),
    "polysynth": _i(90, "pad harmony", 40, 88),
    "drone": _i(92, "pad", 36, 72),
    "sitar": _i(104, "melody", 48, 84),
    "oud": _i(106, "melody counter", 45, 81, "ethnic"),
    "shamisen": _i(106, "melody", 50, 86),
    "banjo": _i(105, "harmony arp melody", 48, 84),
    "koto": _i(107, "arp melody", 48, 84),
    "kalimba": _i(108, "melody arp", 60, 88),
    "bagpipe": _i(109, "melody", 57, 77),
    "bagpipes": _i(109, "melody", 57, 77),
    "steel drums": _i(114, "melody", 55, 84),
    "drums": _i(0, "drums", 0, 127, "drums"),
    "drum": _i(0, "drums", 0, 127, "drums"),
    "drum kit": _i(0, "drums", 0, 127, "drums"),
    "war drums": _i(0, "drums", 0, 127, "drums"),
    "taiko": _i(0, "drums", 0, 127, "drums"),
    "taiko drums": _i(0, "drums", 0, 127, "drums"),
    "snare": _i(0, "drums", 0, 127, "drums"),
    "snare drum": _i(0, "drums", 0, 127, "drums"),
    "beat": _i(0, "drums", 0, 127, "drums"),
    "beats": _i(0, "drums", 0, 127, "drums"),
    "percussion": _i(0, "percussion", 0, 127, "drums"),
    "hand percussion": _i(0, "percussion", 0, 127, "drums"),
    "bodhran": _i(0, "percussion", 0, 127, "drums"),
    "bongos": _i(0, "percussion", 0, 127, "drums"),
    "congas": _i(0, "percussion", 0, 127, "drums"),
    "shaker": _i(0, "percussion", 0, 127, "drums"),
    "tambourine": _i(0, "percussion", 0, 127, "drums"),
}

#: Words just after (or before) an instrument that say which role it plays.
ROLE_WORDS: dict[str, str] = {
    "melody": "melody", "lead": "melody", "leads": "melody", "solo": "melody",
    "tune": "melody", "theme": "melody", "sings": "melody",
    "chords": "harmony", "comping": "harmony", "strums": "harmony", "strumming": "harmony",
    "stabs": "harmony", "chord": "harmony",
    "pad": "pad", "pads": "pad", "drone": "pad", "drones": "pad", "swells": "pad",
    "arpeggio": "arp", "arpeggios": "arp", "arpeggiated": "arp", "arps": "arp",
    "ostinato": "arp", "plucks": "arp",
    "bassline": "bass", "bass": "bass", "line": "", "answers": "counter",
    "countermelody": "counter", "counter": "counter",
}  # fmt: skip

NEGATIONS: frozenset[str] = frozenset({"no", "without", "not", "minus", "zero", "sans", "nor"})
#: Words that end a negation's scope ("no drums, but a harp": the harp is wanted).
SCOPE_BREAKS: frozenset[str] = frozenset({"but", "with", "and", "just", "only", "plus"})


@dataclass(frozen=True)
class WordEffect:
    """What one prompt word says about the state (every field optional)."""

    tags: tuple[str, ...] = ()
    energy: float | None = None
    density: float | None = None
    brightness: float | None = None
    bpm: float | None = None
    mode: str | None = None  # "major" / "minor" / a church mode
    meter: str | None = None
    meter_note: str = ""  # why a meter was mapped ("2/4 march played in 4/4")
    drums: bool | None = None  # True: wants drums; False: no drums
    melody: int | None = None  # a melody program this word calls for ("fanfare" -> trumpet)


def _w(tags: str = "", **fields: object) -> WordEffect:
    return WordEffect(tags=tuple(tags.split()), **fields)  # type: ignore[arg-type]


#: Descriptive words (matched after instrument phrases; multi-word phrases first).
WORDS: dict[str, WordEffect] = {
    # tempo
    "very slow": _w(bpm=54, energy=0.1),
    "largo": _w(bpm=50, energy=0.1),
    "grave": _w(bpm=46, energy=0.15, mode="minor"),
    "slow": _w(bpm=66, energy=0.2),
    "adagio": _w(bpm=70, energy=0.2),
    "lento": _w(bpm=58, energy=0.15),
    "andante": _w(bpm=84, energy=0.35),
    "walking": _w(bpm=92, energy=0.4),
    "moderate": _w(bpm=100, energy=0.5),
    "moderato": _w(bpm=104, energy=0.5),
    "mid-tempo": _w(bpm=100, energy=0.5),
    "brisk": _w(bpm=132, energy=0.65),
    "allegro": _w(bpm=132, energy=0.65),
    "fast": _w("driving", bpm=150, energy=0.8),
    "quick": _w(bpm=144, energy=0.75),
    "upbeat": _w("happy", bpm=128, energy=0.7),
    "lively": _w("playful", bpm=126, energy=0.7),
    "bouncy": _w("playful", bpm=120, energy=0.65),
    "vivace": _w(bpm=152, energy=0.8),
    "presto": _w(bpm=172, energy=0.9),
    "frantic": _w("urgent", bpm=168, energy=0.95, density=0.85),
    "breakneck": _w("urgent", bpm=176, energy=0.95),
    "relentless": _w("driving", bpm=156, energy=0.9),
    "racing": _w("urgent", bpm=160, energy=0.9),
    "chase": _w("urgent driving", bpm=160, energy=0.9, mode="minor", drums=True),
    # mood and energy
    "calm": _w("calm", energy=0.15, density=0.3),
    "gentle": _w("calm", energy=0.2, density=0.3),
    "soft": _w("calm", energy=0.2),
    "quiet": _w("calm sparse", energy=0.15, density=0.25),
    "relaxing": _w("peaceful", energy=0.15),
    "relaxed": _w("peaceful", energy=0.2),
    "peaceful": _w("peaceful", energy=0.15, mode="major"),
    "serene": _w("peaceful", energy=0.15, mode="major"),
    "tranquil": _w("peaceful", energy=0.12),
    "meditative": _w("peaceful sustained", energy=0.1, drums=False),
    "lullaby": _w("calm", bpm=72, energy=0.1, mode="major", drums=False),
    "sleepy": _w("calm", energy=0.1),
    "dreamy": _w("dreamy", energy=0.2, density=0.3),
    "ethereal": _w("dreamy high", energy=0.15, brightness=0.75),
    "happy": _w("happy", energy=0.6, mode="major"),
    "joyful": _w("happy", energy=0.65, mode="major"),
    "cheerful": _w("happy", energy=0.6, mode="major"),
    "whimsical": _w("playful", energy=0.55, mode="major"),
    "playful": _w("playful", energy=0.6, mode="major"),
    "heroic": _w("heroic", energy=0.75, mode="major"),
    "triumphant": _w("triumphant", energy=0.8, mode="major"),
    "victory": _w("triumphant", energy=0.75, mode="major"),
    "victorious": _w("triumphant", energy=0.75, mode="major"),
    "fanfare": _w("triumphant", energy=0.8, mode="major", drums=True, melody=56),
    "epic": _w("epic", energy=0.85, density=0.8),
    "grand": _w("epic", energy=0.7, density=0.7),
    "majestic": _w("epic", energy=0.65, mode="major"),
    "intense": _w("urgent", energy=0.9, density=0.75),
    "tense": _w("tense", energy=0.65, mode="minor"),
    "suspense": _w("tense", energy=0.5, mode="minor"),
    "suspenseful": _w("tense", energy=0.5, mode="minor"),
    "stealth": _w("tense sparse", bpm=92, energy=0.4, mode="minor"),
    "dark": _w("dark", brightness=0.25, mode="minor"),
    "ominous": _w("ominous", energy=0.4, brightness=0.2, mode="minor"),
    "eerie": _w("ominous", energy=0.3, mode="minor"),
    "creepy": _w("horror", energy=0.3, mode="minor"),
    "scary": _w("horror", energy=0.4, mode="minor"),
    "haunted": _w("horror", energy=0.3, mode="minor"),
    "mysterious": _w("mysterious", density=0.35, mode="minor"),
    "sad": _w("sad", energy=0.2, mode="minor"),
    "melancholic": _w("melancholic", energy=0.25, mode="minor"),
    "melancholy": _w("melancholic", energy=0.25, mode="minor"),
    "sorrowful": _w("sad", energy=0.2, mode="minor"),
    "mournful": _w("sad", energy=0.15, mode="minor"),
    "nostalgic": _w("nostalgic", energy=0.35),
    "aggressive": _w("aggressive", energy=0.95, drums=True),
    "urgent": _w("urgent", energy=0.9),
    "angry": _w("aggressive", energy=0.9, mode="minor"),
    "heavy": _w("low", energy=0.8, brightness=0.3),
    "battle": _w("urgent", energy=0.85, mode="minor", drums=True),
    "fight": _w("urgent", energy=0.85, mode="minor", drums=True),
    "combat": _w("urgent", energy=0.85, mode="minor", drums=True),
    "war": _w("aggressive", energy=0.85, mode="minor", drums=True),
    "boss": _w("epic", energy=0.9, mode="minor", drums=True),
    "danger": _w("tense", energy=0.7, mode="minor"),
    # texture and register
    "sparse": _w("sparse", density=0.15),
    "minimal": _w("sparse", density=0.15),
    "dense": _w("dense", density=0.85),
    "lush": _w("legato", density=0.7),
    "busy": _w("dense", density=0.8),
    "driving": _w("driving", energy=0.85, drums=True),
    "pulsing": _w("driving", energy=0.7),
    "flowing": _w("flowing", energy=0.5),
    "staccato": _w("staccato", energy=0.65),
    "legato": _w("legato", energy=0.35),
    "sustained": _w("sustained", energy=0.15),
    "percussive": _w(energy=0.7, drums=True),
    "low": _w("low", brightness=0.15),
    "deep": _w("low", brightness=0.2),
    "high": _w("high", brightness=0.85),
    "bright": _w("bright", brightness=0.75, mode="major"),
    "sparkling": _w("bright", brightness=0.85),
    "warm": _w("warm", brightness=0.35),
    # genres (each genre word is also a tag of the same name when it is one)
    "orchestral": _w("orchestral"),
    "symphonic": _w("orchestral", density=0.7),
    "cinematic": _w("cinematic"),
    "chorale": _w("chorale", drums=False),
    "hymn": _w("chorale", drums=False),
    "folk": _w("folk"),
    "celtic": _w("celtic"),
    "irish": _w("celtic"),
    "medieval": _w("medieval"),
    "renaissance": _w("renaissance"),
    "baroque": _w("baroque"),
    "chiptune": _w("chiptune", drums=True),
    "8-bit": _w("chiptune", drums=True),
    "retro": _w("chiptune"),
    "synthwave": _w("synthwave", drums=True),
    "retrowave": _w("synthwave", drums=True),
    "electronic": _w("electronic", drums=True),
    "techno": _w("electronic", bpm=128, drums=True),
    "ambient": _w("ambient", energy=0.1, density=0.2, drums=False),
    "rock": _w("rock", drums=True),
    "metal": _w("rock aggressive", energy=0.95, drums=True),
    "jazz": _w("jazz", drums=True),
    "jazzy": _w("jazz", drums=True),
    "swing": _w("jazz", drums=True),
    "lofi": _w("lofi", bpm=80, drums=True),
    "lo-fi": _w("lofi", bpm=80, drums=True),
    "waltz": _w("waltz", meter="3/4"),
    "minuet": _w("baroque", meter="3/4"),
    "mazurka": _w("folk", meter="3/4"),
    "march": _w("march", meter="4/4", meter_note="a march (2/4 or 4/4) played in 4/4", drums=True),
    "marching": _w("march", meter="4/4", meter_note="a march (2/4 or 4/4) played in 4/4"),
    "polka": _w("folk", meter="2/4", drums=True),
    "galop": _w("folk playful", meter="2/4", bpm=138, energy=0.85, drums=True),
    "blues": _w("jazz", meter="12/8", meter_note="a blues shuffle in 12/8", drums=True),
    "shuffle": _w("jazz", meter="12/8", meter_note="a shuffle in 12/8", drums=True),
    "odd meter": _w("tense", meter="7/8", meter_note="an odd meter: 7/8 as 2+2+3"),
    "odd-meter": _w("tense", meter="7/8", meter_note="an odd meter: 7/8 as 2+2+3"),
    "odd time": _w("tense", meter="7/8", meter_note="an odd meter: 7/8 as 2+2+3"),
    "balkan": _w("folk", meter="7/8", meter_note="a Balkan dance in 7/8 (2+2+3)", drums=True),
    "jig": _w("jig", meter="6/8"),
    "shanty": _w("shanty", meter="6/8"),
    "sea shanty": _w("shanty", meter="6/8"),
    "tarantella": _w("folk", meter="6/8", bpm=138, energy=0.8),
    "siciliano": _w("folk", meter="6/8", bpm=60),
    "barcarolle": _w("calm", meter="6/8", bpm=60),
    "horror": _w("horror", mode="minor"),
    "tribal": _w("tribal", drums=True),
}

#: Genre tags in the order a tie is broken; the genre decides palette and default tempo.
GENRES: tuple[str, ...] = (
    "waltz", "march", "jig", "shanty", "horror", "tribal", "chiptune", "synthwave",
    "lofi", "jazz", "rock", "electronic", "ambient", "celtic", "folk", "medieval",
    "renaissance", "baroque", "chorale", "cinematic", "orchestral",
)  # fmt: skip

#: Words that suggest a genre's palette without being a genre ("battle" -> cinematic).
GENRE_HINTS: dict[str, str] = {
    "battle": "cinematic", "fight": "cinematic", "combat": "cinematic", "war": "cinematic",
    "boss": "cinematic", "epic": "cinematic", "heroic": "cinematic", "fanfare": "orchestral",
    "majestic": "orchestral", "symphonic": "orchestral", "grand": "orchestral",
    "creepy": "horror", "scary": "horror", "haunted": "horror", "eerie": "horror",
    "tavern": "medieval", "castle": "medieval", "knight": "medieval", "8-bit": "chiptune",
    "retro": "chiptune", "neon": "synthwave", "cyberpunk": "synthwave", "techno": "electronic",
    "metal": "rock", "swing": "jazz", "meditative": "ambient", "space": "ambient",
    "hymn": "chorale", "pirate": "shanty", "sailors": "shanty", "chase": "cinematic",
}  # fmt: skip
#: Genres similarity alone may not give a calm prompt, and those it may not give a frantic one.
LOUD_GENRES: frozenset[str] = frozenset({"rock", "electronic", "chiptune", "tribal", "synthwave"})
QUIET_GENRES: frozenset[str] = frozenset({"ambient", "chorale", "lofi", "horror"})

#: Genre -> the model's style family (its training collections); every other genre takes the
#: chorale family, whose loops carry melody, harmony and bass (a full arrangement's material).
GENRE_STYLE: dict[str, str] = {
    "folk": "folk", "celtic": "folk", "jig": "folk", "shanty": "folk",
    "medieval": "renaissance", "renaissance": "renaissance",
}  # fmt: skip
STYLES: tuple[str, ...] = ("chorale", "folk", "renaissance")

#: Genre -> default tempo (beats per minute of the felt pulse; dotted quarters in 6/8).
GENRE_BPM: dict[str, float] = {
    "waltz": 104, "march": 116, "jig": 112, "shanty": 96, "horror": 66, "tribal": 108,
    "chiptune": 148, "synthwave": 108, "lofi": 80, "jazz": 120, "rock": 132,
    "electronic": 124, "ambient": 66, "celtic": 108, "folk": 104, "medieval": 92,
    "renaissance": 88, "baroque": 100, "chorale": 72, "cinematic": 100, "orchestral": 96,
}  # fmt: skip

#: Genre -> whether it wants a drum kit by default (None: decided by energy).
GENRE_DRUMS: dict[str, bool] = {
    "march": True, "tribal": True, "chiptune": True, "synthwave": True, "lofi": True,
    "jazz": True, "rock": True, "electronic": True, "ambient": False, "chorale": False,
    "horror": False, "renaissance": False, "medieval": False, "baroque": False,
}  # fmt: skip

#: Genre -> the tonic a key in that genre usually has, by mode family.
GENRE_TONIC: dict[str, tuple[str, str]] = {  # (major tonic, minor tonic)
    "celtic": ("D", "E"), "jig": ("D", "E"), "folk": ("G", "E"), "shanty": ("G", "D"),
    "march": ("Bb", "G"), "waltz": ("F", "A"), "horror": ("C", "C#"),
    "chiptune": ("C", "A"), "synthwave": ("F", "F#"), "rock": ("E", "E"),
    "jazz": ("F", "C"), "lofi": ("Eb", "F"), "orchestral": ("D", "D"),
    "cinematic": ("D", "D"), "ambient": ("Db", "C#"),
}  # fmt: skip
#: A church mode's natural tonic (its white-key home) when the prompt names no tonic.
MODE_TONIC: dict[str, str] = {
    "major": "C", "minor": "A", "dorian": "D", "phrygian": "E", "lydian": "F",
    "mixolydian": "G",
}  # fmt: skip


@dataclass(frozen=True)
class Palette:
    """A genre's default instruments per role (programs) and its harmony bed."""

    melody: int
    harmony: int
    pad: int
    bass: int
    bed: str  # "harmony" or "pad": the chords a complete arrangement plays
    arp: int | None = None  # an arpeggio layer the genre adds at high intensity
    kit: int = 0  # the General MIDI drum kit of its drum stem (48 orchestra, 25 TR-808...)


PALETTES: dict[str, Palette] = {
    "orchestral": Palette(melody=40, harmony=48, pad=49, bass=43, bed="harmony", kit=48),
    "cinematic": Palette(melody=60, harmony=48, pad=49, bass=43, bed="harmony", kit=48),
    "chorale": Palette(melody=52, harmony=19, pad=19, bass=43, bed="harmony", kit=48),
    "baroque": Palette(melody=40, harmony=6, pad=48, bass=42, bed="harmony", kit=48),
    "folk": Palette(melody=110, harmony=25, pad=21, bass=32, bed="harmony"),
    "celtic": Palette(melody=110, harmony=24, pad=48, bass=32, bed="harmony"),
    "jig": Palette(melody=110, harmony=24, pad=48, bass=32, bed="harmony"),
    "shanty": Palette(melody=21, harmony=25, pad=21, bass=32, bed="harmony"),
    "medieval": Palette(melody=74, harmony=24, pad=48, bass=42, bed="harmony"),
    "renaissance": Palette(melody=74, harmony=24, pad=48, bass=42, bed="harmony"),
    "waltz": Palette(melody=40, harmony=45, pad=48, bass=43, bed="harmony", kit=48),
    "march": Palette(melody=56, harmony=61, pad=48, bass=58, bed="harmony", kit=48),
    "chiptune": Palette(melody=80, harmony=80, pad=81, bass=38, bed="harmony", arp=80, kit=24),
    "synthwave": Palette(melody=81, harmony=90, pad=89, bass=38, bed="pad", arp=81, kit=25),
    "electronic": Palette(melody=81, harmony=90, pad=89, bass=38, bed="pad", arp=81, kit=25),
    "ambient": Palette(melody=88, harmony=89, pad=89, bass=89, bed="pad"),
    "rock": Palette(melody=29, harmony=30, pad=48, bass=34, bed="harmony", kit=16),
    "jazz": Palette(melody=66, harmony=0, pad=4, bass=32, bed="harmony", kit=40),
    "lofi": Palette(melody=11, harmony=4, pad=89, bass=33, bed="harmony", kit=8),
    "horror": Palette(melody=10, harmony=44, pad=92, bass=43, bed="pad", kit=48),
    "tribal": Palette(melody=75, harmony=52, pad=52, bass=43, bed="pad"),
}
DEFAULT_PALETTE = Palette(melody=73, harmony=48, pad=49, bass=43, bed="harmony")

#: Role -> default register (lowest, highest MIDI note) before fitting the instrument.
ROLE_REGISTERS: dict[str, tuple[int, int]] = {
    "melody": (60, 84),
    "counter": (55, 76),
    "harmony": (48, 72),
    "pad": (48, 74),
    "arp": (55, 84),
    "bass": (31, 55),
    "drums": (35, 81),
    "percussion": (35, 81),
}

#: Role -> (intensity range, gain dB, pan) of an inferred stem: the bed and bass from the
#: start, the tune from a quarter, extra layers from 0.6 (vertical remixing).
ROLE_LAYERS: dict[str, tuple[tuple[float, float], float, float]] = {
    "melody": ((0.0, 1.0), 0.0, 0.0),
    "harmony": ((0.0, 1.0), -3.0, -0.15),
    "pad": ((0.0, 1.0), -4.0, 0.0),
    "bass": ((0.0, 1.0), -2.0, 0.0),
    "drums": ((0.3, 1.0), -2.0, 0.0),
    "percussion": ((0.5, 1.0), -5.0, 0.25),
    "counter": ((0.6, 1.0), -4.0, -0.35),
    "arp": ((0.6, 1.0), -5.0, 0.35),
}
