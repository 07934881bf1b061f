@tool
@icon("res://addons/ostinato/icon.svg")
class_name OstinatoBakedMusic
extends Node
## Plays a pack baked by [code]ostinato bake[/code] with no service: the shipping twin of
## [OstinatoMusic], with the same methods and signals.
##
## Reads the pack's manifest.json and plays it like the service's director: transitions on
## the rule's beat, bar, phrase or loop end with its fades and filler stinger or baked
## bridge (the bridge from the sync point, the target entering on its last bar line with
## variant 0), same-position entry, one-shots handing over to their [code]next[/code] state,
## variants rotating at loop
## ends (an [AudioStreamPlaylist], gapless), intensity layers from the baked stems (each
## variant an [AudioStreamSynchronized] whose stem volumes follow the intensity with the
## director's curves), stingers over the music on their beat or bar, several at once, each
## ducking the music, each in its rendition for the state it lands over (laid again on a
## state's grid when that state enters first). Every decision comes from the pure
## functions of baked_plan.gd and baked_timing.gd (tested against the director); this node
## only executes them.

## The music started (the first state is playing).
signal music_ready
signal state_changed(state: String, variant: int)
## A transition was planned: [param time] is seconds from now until it is heard.
signal transition_planned(from: String, to: String, time: float)
signal transition_started(from: String, to: String)
## A stinger was planned: [param time] is seconds from now until it is heard.
signal stinger_planned(stinger: String, time: float)
signal beat(bar: int, beat_in_bar: int)
## bar, beat, position (s), tempo (bpm), time_signature_upper/lower, state, variant.
signal beat_info(info: Dictionary)
signal error(code: String, message: String)

const Timing := preload("baked_timing.gd")
const Plan := preload("baked_plan.gd")
const SILENT_DB := -80.0

## The baked pack's manifest.json, e.g. [code]res://music/fantasy_rpg/manifest.json[/code]
## (relative: next to this node's scene file). Add [code]*.json[/code] to the export
## preset's non-resource files so it ships.
@export_file("*.json") var manifest_path := "":
	set(value):
		manifest_path = value
		update_configuration_warnings()
## State entered when the music starts; empty: the pack's start state.
@export var start_state := ""
@export var autoplay := true
## Play the stems of layered states (intensity layers); off: the variants' mixes.
@export var use_stems := true
@export var bus := &"Master":
	set(value):
		bus = value
		update_configuration_warnings()
@export_range(-60.0, 12.0, 0.1) var volume_db := 0.0
## Keep playing while the tree is paused (sets process_mode to ALWAYS).
@export var play_while_paused := true
## Loops in a state's rotation before it repeats (weighted, never the same twice in a row).
@export_range(2, 32) var rotation_length := 8
## Seed of the variant rotation; 0 picks a random one.
@export var random_seed := 0

var manifest := {}
var state := ""
var intensity := 0.0

var _base := ""
var _rate := 48000
var _ramp := 480
var _rng := RandomNumberGenerator.new()
var _voices: Array = []  # music voices (Dictionary), oldest first
var _current := {}  # the voice of the state playing (or about to)
var _pending := {}  # a planned transition that has not started
var _held := ""  # the state a hold_previous rule remembers
var _stingers: Array = []  # planned or playing stingers (Dictionary)
var _ducks: Array = []  # [at, hold_end, depth]
var _streams := {}  # path -> AudioStream
var _layers := {}  # state -> Array of [AudioStreamSynchronized, stem names]
var _intensity_from := 0.0
var _intensity_to := 0.0
var _intensity_since := 0
var _clock := 0  # the mix head, in session samples
var _clock_usec := 0
var _heard := -1  # the last session sample whose beat was signalled
var _bar := -1
var _started := false


func _ready() -> void:
	if Engine.is_editor_hint():
		return
	if play_while_paused:
		process_mode = Node.PROCESS_MODE_ALWAYS
	if manifest_path != "" and load_manifest(manifest_file()) and autoplay:
		play()


func _get_configuration_warnings() -> PackedStringArray:
	var warnings := PackedStringArray()
	if manifest_path == "":
		warnings.append("Set manifest_path to a baked pack's manifest.json (ostinato bake).")
	elif not FileAccess.file_exists(manifest_file()):
		warnings.append("manifest_path %s does not exist." % manifest_file())
	if AudioServer.get_bus_index(bus) < 0:
		warnings.append("Audio bus '%s' does not exist." % bus)
	return warnings


## [member manifest_path], a relative one read next to this node's scene file (the scene
## [code]ostinato bake[/code] writes into the pack's folder uses "manifest.json").
func manifest_file() -> String:
	if manifest_path.is_relative_path() and scene_file_path != "":
		return scene_file_path.get_base_dir().path_join(manifest_path)
	return manifest_path


## Reads a baked pack; false (with an error) when it cannot be used.
func load_manifest(path: String) -> bool:
	var text := FileAccess.get_file_as_string(path)
	var parsed: Variant = JSON.parse_string(text) if text != "" else null
	if not parsed is Dictionary or not parsed.has("states"):
		_fail("bad_manifest", "%s is not a baked pack's manifest.json" % path)
		return false
	manifest = parsed
	_base = path.get_base_dir()
	_rate = int(manifest["sample_rate"])
	_ramp = maxi(1, roundi(Timing.DUCK_RAMP_MS * _rate / 1000.0))
	if random_seed != 0:
		_rng.seed = random_seed
	else:
		_rng.randomize()
	return true


## Starts the music in [member start_state] (or the pack's start state).
func play() -> void:
	var first := start_state if start_state != "" else str(manifest["pack"]["start_state"])
	_clock_usec = Time.get_ticks_usec()
	set_state(first)


## Changes the state on its transition rule's sync point; [param value] in 0..1 sets the
## intensity when the new music enters (-1: the state's own). Returns the planned sample
## of the change (-1 when nothing changes or the state is unknown).
func set_state(state_name: String, value := -1.0) -> int:
	if not manifest.has("states"):
		_fail("not_ready", "set_state(%s) before a manifest was loaded" % state_name)
		return -1
	if not manifest["states"].has(state_name):
		var known := ", ".join(PackedStringArray(manifest["states"].keys()))
		_fail("unknown_state", "no state '%s' in this pack (states: %s)" % [state_name, known])
		return -1
	var automatic: bool = _pending.get("automatic", false)
	if not _pending.is_empty() and _pending["target"] == state_name and not automatic:
		return int(_pending["sync"])
	if not _current.is_empty() and _current["state"] == state_name:
		if not automatic:
			_pending = {}
		if value >= 0.0:
			set_intensity(value)
		return -1
	var source: String = _current.get("state", "")
	var plan := Plan.plan_transition(
		manifest, source, int(_current.get("origin", 0)), _clock, state_name, false
	)
	plan["intensity"] = value
	_pending = plan
	transition_planned.emit(source, state_name, _seconds_until(int(plan["sync"])))
	_run_pending()
	return int(plan["sync"])


## Moves the intensity (0..1) towards [param value], smoothed like the service.
func set_intensity(value: float) -> void:
	_intensity_from = _intensity_now()
	_intensity_to = clampf(value, 0.0, 1.0)
	_intensity_since = _clock


## Lays a stinger over the music on its beat or bar; the music ducks under it. Several
## stingers may play at once. Returns the planned sample (-1: unknown stinger).
func play_stinger(stinger: String) -> int:
	if not manifest.get("stingers", {}).has(stinger):
		var known := ", ".join(PackedStringArray(manifest.get("stingers", {}).keys()))
		_fail("unknown_stinger", "no stinger '%s' in this pack (stingers: %s)" % [stinger, known])
		return -1
	var origin := int(_current.get("origin", 0))
	var plan := Plan.plan_stinger(manifest, _current.get("state", ""), origin, _clock, stinger)
	_schedule_stinger(plan)
	stinger_planned.emit(stinger, _seconds_until(int(plan["at"])))
	return int(plan["at"])


func _process(_delta: float) -> void:
	if Engine.is_editor_hint() or manifest.is_empty() or _clock_usec == 0:
		return
	_clock = _mix_head()
	_run_pending()
	_start_due_voices()
	_start_due_stingers()
	_apply_gains()
	_emit_beats()


func _fail(code: String, message: String) -> void:
	push_error("OstinatoBakedMusic: %s: %s" % [code, message])
	error.emit(code, message)


func _seconds_until(sample: int) -> float:
	return maxf(0.0, float(sample - _clock) / _rate)


func _run_pending() -> void:
	if _pending.is_empty() or int(_pending["sync"]) > _clock:
		return
	var plan := _pending
	_pending = {}
	var sync := int(plan["sync"])
	var kept := []
	for voice in _voices:
		if voice["player"] == null and int(voice["enter"]) >= sync:
			continue  # music that would start at or after this transition is dropped
		if voice["fade_out"] < 0:  # a fade already running keeps running
			voice["fade_out"] = sync
			voice["fade_out_length"] = int(plan["out_fade"])
		kept.append(voice)
	_voices = kept
	if plan["filler"] != "":
		var stinger := Plan.plan_stinger(manifest, "", 0, sync, plan["filler"])
		stinger["depth"] = 1.0  # a filler plays between the two musics: nothing to duck
		stinger["filler"] = true
		_schedule_stinger(stinger)
	if plan.get("bridge", "") != "":  # the baked bridge, from the sync point to its end
		(
			_voices
			. append(
				{
					"state": "",
					"bridge": plan["bridge"],
					"path": plan["bridge_path"],
					"origin": sync,
					"enter": sync,
					"offset": 0,
					"fade_in_length": Timing.guard_samples(_rate),
					"fade_out": -1,
					"fade_out_length": 0,
					"one_shot": true,
					"loop": int(plan["bridge_end"]) - sync,
					"player": null,
					"intensity": -1.0,
				}
			)
		)
	if plan["hold_previous"]:
		_held = plan["source"]
	var target: String = plan["target"]
	var target_state: Dictionary = manifest["states"][target]
	var voice := {
		"state": target,
		"origin": int(plan["origin"]),
		"enter": int(plan["enter"]),
		"offset": int(plan["offset"]),
		"fade_in_length": int(plan["in_fade"]),
		"fade_out": -1,
		"fade_out_length": 0,
		"one_shot": bool(target_state["one_shot"]),
		"loop": int(Plan.state_grid(manifest, target)["loop"]),
		"player": null,
		"intensity": float(plan["intensity"]),
		"first": plan["source"] == "",
		"variant": int(plan.get("variant", -1)),  # 0 after a bridge (it leads into variant 0)
	}
	_voices.append(voice)
	_current = voice
	_relay_stingers(voice)
	transition_started.emit(str(plan["source"]), target)
	if voice["one_shot"]:
		var follow := Plan.follow_state(manifest, target, _held)
		if follow != "":
			_held = ""
			var next := Plan.plan_transition(
				manifest, target, voice["origin"], voice["enter"], follow, true
			)
			next["intensity"] = -1.0
			next["automatic"] = true
			_pending = next


## A state enters: stingers planned over another state that would start at or after its
## entry are laid again on its grid, in its rendition (Plan.relay_stinger, the director's rule).
func _relay_stingers(voice: Dictionary) -> void:
	for i in _stingers.size():
		var plan: Dictionary = _stingers[i]
		if plan["player"] != null or plan.get("filler", false):
			continue
		var moved := Plan.relay_stinger(
			manifest, plan, voice["state"], int(voice["origin"]), int(voice["enter"])
		)
		if is_same(moved, plan):
			continue
		_ducks.erase(plan.get("duck", []))
		moved["player"] = null
		_stingers[i] = moved
		if float(moved["depth"]) < 1.0:
			moved["duck"] = [int(moved["at"]), int(moved["hold_end"]), float(moved["depth"])]
			_ducks.append(moved["duck"])
		stinger_planned.emit(str(moved["name"]), _seconds_until(int(moved["at"])))


func _start_due_voices() -> void:
	for voice in _voices:
		if voice["player"] == null and int(voice["enter"]) <= _clock:
			_start_voice(voice)
	var kept := []
	for voice in _voices:
		var out := int(voice["fade_out"])
		var done: bool = out >= 0 and _clock >= out + int(voice["fade_out_length"])
		var player: AudioStreamPlayer = voice["player"]
		if player != null and not player.playing and int(voice["enter"]) < _clock - _rate:
			done = true  # a one-shot that rang out
		if done:
			if player != null:
				player.queue_free()
			continue
		kept.append(voice)
	_voices = kept


func _start_voice(voice: Dictionary) -> void:
	var name: String = voice["state"]
	var player := AudioStreamPlayer.new()
	player.bus = bus
	player.volume_db = SILENT_DB
	var bridge: bool = voice.has("bridge")
	player.stream = _stream(voice["path"]) if bridge else _state_stream(name, voice)
	add_child(player)
	voice["player"] = player
	voice["loops"] = 0
	voice["last"] = 0.0
	if bridge:  # plays once, from where the timeline is now
		player.play(float(_clock - int(voice["enter"])) / _rate)
		return
	if voice.get("first", false):  # nothing plays yet: start from the top, now
		voice["origin"] = _clock
		voice["enter"] = _clock
	var late := _clock - int(voice["enter"])  # start where the timeline is now
	player.play(float(int(voice["offset"]) + late) / _rate)
	var level: float = voice["intensity"]
	if level < 0.0:
		level = float(manifest["states"][name]["intensity"])
	if voice == _current:
		set_intensity(level)
		state = name
		state_changed.emit(name, _variant_of(voice))
		if not _started:
			_started = true
			music_ready.emit()


## The state's music: a playlist of its variants in a weighted order (one-shots: one
## variant), each variant the AudioStreamSynchronized of its stems or its mix.
func _state_stream(name: String, voice: Dictionary) -> AudioStream:
	var state_info: Dictionary = manifest["states"][name]
	var variants: Array = state_info["variants"]
	var layers := []
	var parts := []
	for variant in variants:
		var stem_names: Array = variant.get("stems", {}).keys()
		stem_names.sort()
		if not use_stems or stem_names.is_empty():
			parts.append(_stream(variant["file"]["path"]))
			continue
		var synced := AudioStreamSynchronized.new()
		synced.stream_count = stem_names.size()
		for i in stem_names.size():
			synced.set_sync_stream(i, _stream(variant["stems"][stem_names[i]]["path"]))
			synced.set_sync_stream_volume(i, SILENT_DB)
		layers.append([synced, stem_names])
		parts.append(synced)
	_layers[name] = layers
	var weights: Array = []
	if state_info.get("variant_weights") is Array:
		weights = state_info["variant_weights"]
	var first := int(voice.get("variant", -1))  # 0 after a bridge, else -1 (the rotation's)
	if bool(state_info["one_shot"]) or parts.size() == 1:
		var only := Plan.next_variant(parts.size(), -1, weights, _rng.randf())
		if first >= 0 and first < parts.size():
			only = first
		voice["order"] = [only]
		return parts[only]
	var picks := []
	for i in rotation_length:
		picks.append(_rng.randf())
	var order := Plan.variant_sequence_from(first, parts.size(), weights, picks)
	voice["order"] = order
	var playlist := AudioStreamPlaylist.new()
	playlist.loop = true
	playlist.shuffle = false
	playlist.fade_time = 0.001  # variants meet on the loop boundary: a click guard only
	playlist.stream_count = order.size()
	for i in order.size():
		playlist.set_list_stream(i, parts[order[i]])
	return playlist


func _stream(relative: String) -> AudioStream:
	var path := _base.path_join(relative)
	if not _streams.has(path):
		var stream: AudioStream = load(path)
		if stream == null:
			_fail("missing_audio", "cannot load %s (is it imported?)" % path)
		_streams[path] = stream
	return _streams[path]


func _schedule_stinger(plan: Dictionary) -> void:
	plan["player"] = null
	_stingers.append(plan)
	if float(plan["depth"]) < 1.0:
		plan["duck"] = [int(plan["at"]), int(plan["hold_end"]), float(plan["depth"])]
		_ducks.append(plan["duck"])


func _start_due_stingers() -> void:
	var kept := []
	for plan in _stingers:
		var player: AudioStreamPlayer = plan["player"]
		if player == null and int(plan["at"]) <= _clock:
			var path: String = plan["path"]  # the rendition for the host state, or the stinger
			player = AudioStreamPlayer.new()
			player.bus = bus
			player.stream = _stream(path)
			player.volume_db = linear_to_db(float(plan["gain"])) + volume_db
			add_child(player)
			player.play(float(_clock - int(plan["at"])) / _rate)
			plan["player"] = player
		if player != null and not player.playing and _clock > int(plan["end"]):
			player.queue_free()
			continue
		kept.append(plan)
	_stingers = kept
	var ducks := []
	for duck in _ducks:
		if _clock < maxi(duck[0] + _ramp, duck[1]) + _ramp:
			ducks.append(duck)
	_ducks = ducks


func _intensity_now() -> float:
	var step := Timing.intensity_step(_rate)
	return Timing.intensity_at(_clock - _intensity_since, _intensity_from, _intensity_to, step)


func _apply_gains() -> void:
	var duck := Timing.ducks_gain(_clock, _ducks, _ramp)
	for voice in _voices:
		var player: AudioStreamPlayer = voice["player"]
		if player == null:
			continue
		var gain := Timing.fade_gain(_clock, voice["enter"], voice["fade_in_length"], true)
		if int(voice["fade_out"]) >= 0:
			var out_start := int(voice["fade_out"])
			gain *= Timing.fade_gain(_clock, out_start, voice["fade_out_length"], false)
		player.volume_db = maxf(SILENT_DB, linear_to_db(gain * duck)) + volume_db
	intensity = _intensity_now()
	for name in _layers:
		var stems: Dictionary = manifest["states"][name]["stems"]
		for entry in _layers[name]:
			var synced: AudioStreamSynchronized = entry[0]
			var stem_names: Array = entry[1]
			for i in stem_names.size():
				var stem: Dictionary = stems.get(stem_names[i], {})
				var span: Array = stem.get("intensity", [0.0, 1.0])
				var gain := Timing.stem_gain(intensity, float(span[0]), float(span[1]))
				gain *= Timing.db_to_gain(float(stem.get("gain_db", 0.0)))
				synced.set_sync_stream_volume(i, maxf(SILENT_DB, linear_to_db(gain)))


## The session sample being mixed now: the current voice's playback position on its
## timeline (plus the time since the last mix), else the wall clock since play().
func _mix_head() -> int:
	var since := AudioServer.get_time_since_last_mix()
	for i in range(_voices.size() - 1, -1, -1):
		var voice: Dictionary = _voices[i]
		var player: AudioStreamPlayer = voice["player"]
		if player == null or not player.playing:
			continue
		var loop_seconds := float(voice["loop"]) / _rate
		var position := player.get_playback_position() + since
		if not voice["one_shot"]:
			position = fposmod(position, loop_seconds)
			if position < float(voice["last"]) - loop_seconds / 2.0:
				voice["loops"] += 1
			voice["last"] = position
		var timeline := int(voice["loops"]) * int(voice["loop"]) + roundi(position * _rate)
		var sample := int(voice["origin"]) + timeline
		_clock_usec = Time.get_ticks_usec() - roundi(sample * 1.0e6 / _rate)
		return maxi(_clock, sample)
	var elapsed := Time.get_ticks_usec() - _clock_usec
	return maxi(_clock, roundi(elapsed * _rate / 1.0e6))


func _emit_beats() -> void:
	if _current.is_empty() or _current["player"] == null:
		return
	var heard := _clock - roundi(AudioServer.get_output_latency() * _rate)
	var name: String = _current["state"]
	var grid := Plan.state_grid(manifest, name)
	var origin := int(_current["origin"])
	if _heard < int(_current["enter"]):
		_heard = int(_current["enter"]) - 1
	var next := origin + Timing.next_sync_sample(_heard + 1 - origin, "next_beat", grid, 1)
	while next <= heard:
		var inside := posmod(next - origin, int(grid["loop"]))
		var index := Timing.lower_bound(grid["beats"], inside)
		var in_bar := posmod(index, int(grid["beats_per_bar"]))
		if in_bar == 0:
			_bar += 1
		var info := {
			"bar": _bar,
			"beat": in_bar,
			"position": float(next) / _rate,
			"tempo": float(manifest["states"][name]["bpm"]),
			"time_signature_upper": int(grid["beats_per_bar"]),
			"time_signature_lower": _meter_lower(str(manifest["states"][name]["meter"])),
			"state": name,
			"variant": _variant_of(_current),
		}
		beat.emit(_bar, in_bar)
		beat_info.emit(info)
		_heard = next
		next = origin + Timing.next_sync_sample(next + 1 - origin, "next_beat", grid, 1)


static func _meter_lower(meter: String) -> int:
	var parts := meter.split("/")
	return int(parts[1]) if parts.size() == 2 else 4


## The variant a voice plays now: its playlist order, one entry per loop pass.
static func _variant_of(voice: Dictionary) -> int:
	var order: Array = voice.get("order", [])
	if order.is_empty():
		return -1
	return int(order[posmod(int(voice.get("loops", 0)), order.size())])
