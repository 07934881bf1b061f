"""Godot 4 resources for a baked pack: the whole pack plays with no Ostinato code in the game.

Written next to `manifest.json`, paths relative to each resource (Godot resolves relative
`ext_resource` paths against the resource's own folder):

- `<pack>.tres`: an `AudioStreamInteractive`. One clip per state variant (variant 0 is named
  after the state, variant i > 0 `<state>.v<i>`) and one per stinger (`stinger.<name>`).
  The variants of a state auto-advance into each other at the loop end (Godot's clip
  rotation). The template's transition rules become Godot's transition table, expanded to
  one entry per (playing clip, target state) so the lookup gives exactly the rule the
  template resolves, with fades converted to beats at the source's tempo.
- `<state>.playlist.tres`: an `AudioStreamPlaylist` of a state's variants, for a game that
  just plays one state's music.
- `<state>_v<i>.layers.tres`: an `AudioStreamSynchronized` of a layered variant's stems
  (volumes set for the state's initial intensity), for vertical remixing.
- `<pack>.music.tscn`: a scene whose root is the Ostinato addon's `OstinatoBakedMusic` node
  reading this folder's `manifest.json`: intensity layers from the stems, stingers over the
  music with ducking, the director's transition rules (instance it, or make it an autoload).
- `<file>.ogg.import`: the Ogg importer's parameters for every clip: `loop`, `loop_offset`,
  `bpm`, `beat_count`, `bar_beats`. Only Ogg Vorbis (and MP3) streams carry these, and
  `AudioStreamInteractive` needs them for next-beat / next-bar / end transitions. Godot
  keeps existing `[params]` when it (re)imports a file.

The interactive stream's clips are the variants' mixes rather than the layered resources:
Godot's `AudioStreamSynchronized` and `AudioStreamPlaylist` report no `bar_beats`, so a
next-bar transition out of them would fire at once instead of on the bar line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine_core.spec import GenerationSpec
from middleware.bake.manifest import MANIFEST_NAME
from middleware.templates.model import (
    WILDCARD,
    EnterAt,
    Fade,
    LeaveAt,
    LengthUnit,
    TemplatePack,
    TransitionRule,
)

# Godot's enums (modules/interactive_music/audio_stream_interactive.h).
CLIP_ANY = -1
FROM_TIME = {
    LeaveAt.IMMEDIATE: 0,  # TRANSITION_FROM_TIME_IMMEDIATE
    LeaveAt.NEXT_BEAT: 1,  # TRANSITION_FROM_TIME_NEXT_BEAT
    LeaveAt.NEXT_BAR: 2,  # TRANSITION_FROM_TIME_NEXT_BAR
    LeaveAt.LOOP_END: 3,  # TRANSITION_FROM_TIME_END
}  # next_phrase has no Godot equivalent: see `from_time`
TO_TIME = {EnterAt.SAME_POSITION: 0, EnterAt.START: 1}  # TRANSITION_TO_TIME_*
FADE_MODE = {Fade.NONE: 0, Fade.IN: 1, Fade.OUT: 2, Fade.CROSS: 3, Fade.AUTO: 4}  # FADE_*
AUTO_ADVANCE_DISABLED, AUTO_ADVANCE_ENABLED, AUTO_ADVANCE_RETURN_TO_HOLD = 0, 1, 2
SILENT_DB = -60.0  # AudioStreamSynchronized's lowest volume
#: Where the Godot addon's baked player lives once the addon is installed (README: Install).
BAKED_PLAYER_SCRIPT = "res://addons/ostinato/ostinato_baked_music.gd"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(value: Any) -> str:
    """A Python value in Godot's text resource syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(round(value, 6))
        return text if "e" not in text else f"{value:.6f}"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, dict):
        items = [f"{_key(k)}: {_value(v)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n}" if items else "{}"
    raise TypeError(f"no Godot syntax for {type(value).__name__}")


def _key(key: Any) -> str:
    if isinstance(key, tuple):  # Vector2i(from, to)
        return f"Vector2i({key[0]}, {key[1]})"
    return _value(key)


@dataclass(frozen=True)
class _Raw:
    text: str


@dataclass
class _Resource:
    """Builds one text resource: external files, sub-resources, then the main resource."""

    type: str
    ext: list[tuple[str, str, str]] = field(default_factory=list)  # (type, path, id)
    subs: list[tuple[str, str, list[tuple[str, Any]]]] = field(default_factory=list)
    props: list[tuple[str, Any]] = field(default_factory=list)

    def external(self, type_: str, path: str) -> _Raw:
        for existing_type, existing_path, existing_id in self.ext:
            if (existing_type, existing_path) == (type_, path):
                return _Raw(f'ExtResource("{existing_id}")')
        slug = path.rsplit("/", 1)[-1].split(".", 1)[0]
        ident = f"{len(self.ext) + 1}_{slug}"
        self.ext.append((type_, path, ident))
        return _Raw(f'ExtResource("{ident}")')

    def text(self) -> bytes:
        steps = len(self.ext) + len(self.subs) + 1
        out = [f'[gd_resource type="{self.type}" load_steps={steps} format=3]', ""]
        for type_, path, ident in self.ext:
            out += [f'[ext_resource type="{type_}" path={_quote(path)} id="{ident}"]', ""]
        for type_, ident, props in self.subs:
            out.append(f'[sub_resource type="{type_}" id="{ident}"]')
            out += [f"{name} = {_value(value)}" for name, value in props]
            out.append("")
        out.append("[resource]")
        out += [f"{name} = {_value(value)}" for name, value in self.props]
        return ("\n".join(out) + "\n").encode()


def music_scene_name(pack_name: str) -> str:
    return f"{pack_name}.music.tscn"


def _music_scene() -> bytes:
    """A scene with the addon's OstinatoBakedMusic node playing this folder's manifest
    (a relative `manifest_path` is read next to the scene file)."""
    lines = [
        "[gd_scene load_steps=2 format=3]",
        "",
        f'[ext_resource type="Script" path={_quote(BAKED_PLAYER_SCRIPT)} id="1_music"]',
        "",
        '[node name="Music" type="Node"]',
        'script = ExtResource("1_music")',
        f"manifest_path = {_quote(MANIFEST_NAME)}",
        "",
    ]
    return "\n".join(lines).encode()


def clip_name(state: str, index: int) -> str:
    return state if index == 0 else f"{state}.v{index}"


def stinger_clip_name(name: str) -> str:
    return f"stinger.{name}"


def bridge_clip_name(source: str, target: str) -> str:
    """The clip of the generated bridge from `source` to `target` (the pair's filler)."""
    return f"bridge.{source}.{target}"


def import_params(*, loop: bool, bpm: float, beat_count: int, bar_beats: int) -> bytes:
    """A `.ogg.import` file carrying the clip's loop and tempo for Godot's Ogg importer."""
    lines = [
        "[remap]",
        "",
        'importer="oggvorbisstr"',
        'type="AudioStreamOggVorbis"',
        "",
        "[params]",
        "",
        f"loop={_value(loop)}",
        "loop_offset=0.0",
        f"bpm={_value(float(bpm))}",
        f"beat_count={beat_count}",
        f"bar_beats={bar_beats}",
    ]
    return ("\n".join(lines) + "\n").encode()


def fade_beats(rule_value: float, unit: LengthUnit, bpm: float, beats_per_bar: int) -> float:
    """A template fade length in beats of the outgoing music (Godot measures fades in beats)."""
    if unit is LengthUnit.BEATS:
        beats = Fraction(str(rule_value))
    elif unit is LengthUnit.BARS:
        beats = Fraction(str(rule_value)) * beats_per_bar
    else:
        beats = Fraction(str(rule_value)) * Fraction(str(bpm)) / 60
    return float(round(beats, 6))


def from_time(rule: TransitionRule, spec: GenerationSpec) -> tuple[int, bool]:
    """Godot's from_time for a rule leaving music made from `spec`, and whether it is exact.

    Godot has no phrases: `next_phrase` is exactly the loop end when the loop is one phrase
    long, and otherwise approximated by the next bar.
    """
    if rule.leave_at is not LeaveAt.NEXT_PHRASE:
        return FROM_TIME[rule.leave_at], True
    if spec.bars == rule.phrase_bars:
        return FROM_TIME[LeaveAt.LOOP_END], True
    return FROM_TIME[LeaveAt.NEXT_BAR], False


def godot_transition(
    rule: TransitionRule,
    spec: GenerationSpec,
    clips: dict[str, int],
    bridge_clip: int | None = None,
) -> dict[str, Any]:
    """The Godot transition entry for `rule`, leaving music made from `spec`.

    The fade is written as `fade_beats` (Godot 4.3's field, still read by later versions as
    a length in beats) at the outgoing music's tempo.
    """
    beats = fade_beats(
        rule.fade_length.value, rule.fade_length.unit, spec.bpm, spec.meter_info.beats_per_bar
    )
    fade_mode = FADE_MODE[rule.fade]
    if beats <= 0:
        fade_mode, beats = FADE_MODE[Fade.NONE], 1.0
    entry: dict[str, Any] = {
        "fade_beats": beats,
        "fade_mode": fade_mode,
        "from_time": from_time(rule, spec)[0],
        "to_time": TO_TIME[rule.enter_at],
    }
    if rule.filler is not None and rule.filler.stinger is not None:
        entry["filler_clip"] = clips[stinger_clip_name(rule.filler.stinger)]
        entry["use_filler_clip"] = True
    elif rule.filler is not None and bridge_clip is not None:  # the pair's baked bridge
        entry["filler_clip"] = bridge_clip
        entry["use_filler_clip"] = True
    if rule.hold_previous:
        entry["hold_previous"] = True
    return dict(sorted(entry.items()))


def godot_notes(pack: TemplatePack) -> list[str]:
    """What the Godot resources can only approximate of this pack's rules."""
    notes = []
    for source in pack.states:
        for target in pack.states:
            if source == target:
                continue
            rule = pack.transition(source, target)
            if not from_time(rule, pack.states[source].spec)[1]:
                notes.append(
                    f"Godot: {source} -> {target} leaves on the next bar, not the next "
                    f"{rule.phrase_bars}-bar phrase (Godot has no phrases)"
                )
            if rule.filler is not None and rule.filler.bridge_bars > 0:
                notes.append(
                    f"Godot: {source} -> {target} plays its baked bridge as the .tres filler "
                    "clip (the target enters on Godot's filler timing, not on the bridge's "
                    "last bar line; OstinatoBakedMusic enters where the director does)"
                )
    return notes


def write_godot_resources(pack: TemplatePack, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every Godot file for the baked pack, by path relative to the pack's output folder."""
    files: dict[str, bytes] = {}
    states = manifest["states"]
    clips: dict[str, int] = {}
    clip_streams: list[tuple[str, str]] = []  # (clip name, ogg path)
    for name, state in states.items():
        beat_count = state["bars"] * state["beats_per_bar"]
        for variant in state["variants"]:
            clips[clip_name(name, variant["index"])] = len(clip_streams)
            clip_streams.append((clip_name(name, variant["index"]), variant["file"]["path"]))
            loop = not state["one_shot"]
            params = import_params(
                loop=loop, bpm=state["bpm"], beat_count=beat_count, bar_beats=state["beats_per_bar"]
            )
            files[variant["file"]["path"] + ".import"] = params
            for stem in variant["stems"].values():
                files[stem["path"] + ".import"] = params
    for name, stinger in manifest["stingers"].items():
        clips[stinger_clip_name(name)] = len(clip_streams)
        clip_streams.append((stinger_clip_name(name), stinger["file"]["path"]))
        spec = pack.stingers[name].spec
        files[stinger["file"]["path"] + ".import"] = import_params(
            loop=False,
            bpm=spec.bpm if spec else 0.0,
            beat_count=spec.bars * spec.meter_info.beats_per_bar if spec else 0,
            bar_beats=spec.meter_info.beats_per_bar if spec else 4,
        )
        for rendition in stinger.get("renditions", {}).values():  # not clips: the player's
            files[rendition["file"]["path"] + ".import"] = import_params(
                loop=False,
                bpm=rendition["bpm"],
                beat_count=spec.bars * rendition["beats_per_bar"] if spec else 0,
                bar_beats=rendition["beats_per_bar"],
            )
    for bridge in manifest.get("bridges", {}).values():
        name = bridge_clip_name(bridge["source"], bridge["target"])
        clips[name] = len(clip_streams)
        clip_streams.append((name, bridge["file"]["path"]))
        beat_count = len(bridge["beat_samples"])
        files[bridge["file"]["path"] + ".import"] = import_params(
            loop=False,
            bpm=round(60.0 * beat_count * manifest["sample_rate"] / bridge["music_samples"], 4),
            beat_count=beat_count,
            bar_beats=beat_count // bridge["bars"],
        )
    files[f"{pack.name}.tres"] = _interactive(pack, manifest, clips, clip_streams)
    files[music_scene_name(pack.name)] = _music_scene()
    for name, state in states.items():
        if len(state["variants"]) > 1 and not state["one_shot"]:
            files[f"{name}.playlist.tres"] = _playlist(state)
        for variant in state["variants"]:
            if variant["stems"]:
                files[f"{name}_v{variant['index']}.layers.tres"] = _layers(state, variant)
    return dict(sorted(files.items()))


def _interactive(
    pack: TemplatePack,
    manifest: dict[str, Any],
    clips: dict[str, int],
    clip_streams: list[tuple[str, str]],
) -> bytes:
    states = manifest["states"]
    resource = _Resource("AudioStreamInteractive")
    holds = {
        target
        for source in states
        for target in states
        if source != target and pack.transition(source, target).hold_previous
    }
    props: list[tuple[str, Any]] = [("clip_count", len(clip_streams))]
    for index, (name, path) in enumerate(clip_streams):
        props.append((f"clip_{index}/name", name))
        props.append((f"clip_{index}/stream", resource.external("AudioStream", path)))
        advance, next_clip = _auto_advance(name, states, clips, holds)
        props.append((f"clip_{index}/auto_advance", advance))
        if advance == AUTO_ADVANCE_ENABLED:
            props.append((f"clip_{index}/next_clip", next_clip))
    props.append(("initial_clip", clips[pack.start_state]))
    transitions: dict[tuple[int, int], dict[str, Any]] = {}
    for source, state in states.items():
        count = len(state["variants"])
        for index in range(count):
            from_clip = clips[clip_name(source, index)]
            for target in states:
                if target != source:
                    transitions[(from_clip, clips[target])] = godot_transition(
                        pack.transition(source, target),
                        pack.states[source].spec,
                        clips,
                        clips.get(bridge_clip_name(source, target)),
                    )
            if count > 1 and not state["one_shot"]:  # variant rotation: seamless at loop end
                transitions[(from_clip, clips[clip_name(source, (index + 1) % count)])] = {
                    "fade_beats": 1.0,
                    "fade_mode": FADE_MODE[Fade.NONE],
                    "from_time": FROM_TIME[LeaveAt.LOOP_END],
                    "to_time": TO_TIME[EnterAt.START],
                }
    transitions[(CLIP_ANY, CLIP_ANY)] = godot_transition(
        pack.transition(WILDCARD, WILDCARD), pack.states[pack.start_state].spec, clips
    )
    props.append(("_transitions", dict(sorted(transitions.items()))))
    resource.props = props
    return resource.text()


def _auto_advance(
    name: str, states: dict[str, Any], clips: dict[str, int], holds: set[str]
) -> tuple[int, int]:
    state_name, _, suffix = name.partition(".v")
    state = states.get(state_name)
    if state is None or name.startswith("stinger."):
        return AUTO_ADVANCE_DISABLED, 0
    if state["one_shot"]:
        if state["next"] in states:
            return AUTO_ADVANCE_ENABLED, clips[state["next"]]
        if state_name in holds:
            return AUTO_ADVANCE_RETURN_TO_HOLD, 0
        return AUTO_ADVANCE_DISABLED, 0
    count = len(state["variants"])
    if count < 2:
        return AUTO_ADVANCE_DISABLED, 0
    index = int(suffix) if suffix else 0
    return AUTO_ADVANCE_ENABLED, clips[clip_name(state_name, (index + 1) % count)]


def _playlist(state: dict[str, Any]) -> bytes:
    resource = _Resource("AudioStreamPlaylist")
    props: list[tuple[str, Any]] = [
        ("shuffle", False),
        ("loop", True),
        ("fade_time", 0.05),
        ("stream_count", len(state["variants"])),
    ]
    for variant in state["variants"]:
        ref = resource.external("AudioStream", variant["file"]["path"])
        props.append((f"stream_{variant['index']}", ref))
    resource.props = props
    return resource.text()


def _layers(state: dict[str, Any], variant: dict[str, Any]) -> bytes:
    resource = _Resource("AudioStreamSynchronized")
    stems = sorted(variant["stems"].items())
    props: list[tuple[str, Any]] = [("stream_count", len(stems))]
    intensity = state["intensity"]
    for index, (stem_name, stem_file) in enumerate(stems):
        low, high = state["stems"][stem_name]["intensity"]
        audible = low <= intensity < high or (high >= 1.0 and intensity >= 1.0)
        props.append(
            (f"stream_{index}/stream", resource.external("AudioStream", stem_file["path"]))
        )
        props.append((f"stream_{index}/volume", 0.0 if audible else SILENT_DB))
    resource.props = props
    return resource.text()
