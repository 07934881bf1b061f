@tool
@icon("res://addons/ostinato/icon.svg")
class_name OstinatoMusic
extends Node
## Adaptive music from an Ostinato service, played through an AudioStreamPlayer.
##
## Tell it the game's state with [method set_state]; the service follows with
## beat-synchronised transitions. PCM arrives as float32 blocks under credit
## flow control into a jitter buffer of [member jitter_blocks] blocks, and is
## fed to an [AudioStreamGenerator] a whole block at a time. Beat signals are
## emitted when the beat is audible (generator buffer and output latency
## accounted for). Errors are also printed ([method @GlobalScope.push_error]).
##
## To keep the music across scene changes, make the node an autoload (Project Settings >
## Autoload: a scene whose root is this node); it keeps playing while the tree is paused
## when [member play_while_paused] is on.

## Connected and playing (Node already has a [code]ready[/code] signal).
signal music_ready(session: String, resumed: bool)
signal state_changed(state: String, variant: int)
## A transition was planned: [param time] is seconds from now until it is heard.
signal transition_planned(from: String, to: String, time: float)
signal transition_started(from: String, to: String)
signal beat(bar: int, beat_in_bar: int)
## Everything FMOD's timeline-beat callback carries, plus state and variant:
## bar, beat, position (s), tempo (bpm), time_signature_upper/lower, state, variant.
signal beat_info(info: Dictionary)
signal error(code: String, message: String)

const Client := preload("client.gd")
const Pcm := preload("pcm.gd")
const Feeding := preload("feeding.gd")

@export var endpoint := "tcp://127.0.0.1:5570":
	set(value):
		endpoint = value
		update_configuration_warnings()
## Pack to play; empty plays the service's first pack.
@export var pack := ""
## State entered once connected; empty keeps the session's state.
@export var start_state := ""
## AudioStreamGenerator buffer, seconds. Godot rounds it up to a power of two of frames:
## 0.2 s at 48 kHz holds 16383 frames and plays through a 320 ms frame; 0.1 s only 149 ms.
@export_range(0.02, 1.0, 0.01) var buffer_length := 0.2:
	set(value):
		buffer_length = value
		update_configuration_warnings()
## Stream blocks kept in flight and queued: the jitter buffer.
@export_range(2, 64) var jitter_blocks := 8
@export_range(128, 16384) var block_frames := 1024
@export var bus := &"Master":
	set(value):
		bus = value
		update_configuration_warnings()
@export var autoconnect := true
## Keep feeding the music while the tree is paused (sets process_mode to ALWAYS).
@export var play_while_paused := true

var client := Client.new()
var session_id := ""
var state := ""
var sample_rate := 48000
var underruns := 0

var _player: AudioStreamPlayer
var _playback: AudioStreamGeneratorPlayback
var _generator_frames := 0  # the generator's real capacity (Godot rounds it up to a power of two)
var _queue: Array = []  # PackedVector2Array blocks waiting for the generator
var _stream_id := -1
var _stream_request := -1
var _granted := 0
var _blocks_pushed := 0
var _frames_pushed := 0
var _segments: Array = []  # [ring frame, session sample] where a run of blocks starts
var _next_session_sample := -1
var _events: Array = []  # notifications waiting to become audible
var _tempo := {}  # state -> [bpm, upper, lower]
var _list_request := -1


func _ready() -> void:
	if Engine.is_editor_hint():
		return
	if play_while_paused:
		process_mode = Node.PROCESS_MODE_ALWAYS
	client.endpoint = endpoint
	client.pack = pack
	client.client_name = "godot-addon/0.1"
	client.connected.connect(_on_connected)
	client.disconnected.connect(_on_disconnected)
	client.reply_received.connect(_on_reply)
	client.block_received.connect(_on_block)
	client.notification_received.connect(_on_notification)
	if autoconnect:
		connect_to_service()


func _exit_tree() -> void:
	if not Engine.is_editor_hint():
		client.close()


func _get_configuration_warnings() -> PackedStringArray:
	var warnings := PackedStringArray()
	if not endpoint.begins_with("tcp://"):
		warnings.append("endpoint must look like tcp://HOST:PORT (ostinato serve --bind).")
	if AudioServer.get_bus_index(bus) < 0:
		warnings.append("Audio bus '%s' does not exist." % bus)
	var safe := Feeding.longest_safe_frame(48000, buffer_length, block_frames)
	if safe < 0.2:
		var ms := roundi(safe * 1000.0)
		var text := (
			"buffer_length %.2f s plays through frames up to %d ms only" % [buffer_length, ms]
		)
		warnings.append(text + ": a longer frame (a load hitch) underruns; 0.2 s is safer.")
	return warnings


## Connects (or reconnects) to [member endpoint].
func connect_to_service() -> void:
	client.open(session_id)


## Changes the game state; [param intensity] in 0..1, or -1 for the state's default.
func set_state(state_name: String, intensity := -1.0) -> int:
	return client.set_state(state_name, intensity)


func set_intensity(value: float) -> int:
	return client.set_intensity(clampf(value, 0.0, 1.0))


func play_stinger(stinger: String) -> int:
	return client.play_stinger(stinger)


## The session-clock frame being heard now, or -1 before anything played.
func audible_sample() -> int:
	if _playback == null:
		return -1
	var queued := _generator_frames - _playback.get_frames_available()
	var latency := int(AudioServer.get_output_latency() * sample_rate)
	var frame := _frames_pushed - queued - latency
	for i in range(_segments.size() - 1, -1, -1):
		if _segments[i][0] <= frame:
			return _segments[i][1] + frame - _segments[i][0]
	return -1


func _process(_delta: float) -> void:
	if Engine.is_editor_hint():
		return
	client.poll()
	_feed()
	_grant()
	_release_events()


func _on_connected(resumed: bool, hello: Dictionary) -> void:
	session_id = client.session_id
	state = str(hello.get("state", ""))
	sample_rate = int(hello.get("pack", {}).get("sample_rate", 48000))
	_setup_player()
	_list_request = client.request("list")
	_stream_request = client.stream_start(block_frames, 0)
	if start_state != "" and not resumed:
		client.set_state(start_state)
	music_ready.emit(session_id, resumed)


func _setup_player() -> void:
	if _player == null:
		_player = AudioStreamPlayer.new()
		_player.bus = bus
		add_child(_player)
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = sample_rate
	generator.buffer_length = buffer_length
	_player.stream = generator
	_player.play()
	_playback = _player.get_stream_playback()
	_generator_frames = _playback.get_frames_available()  # empty right after play()


func _on_reply(id: int, type: String, ok: bool, result: Dictionary, err: Dictionary) -> void:
	if not ok:
		if type != "credit":
			_report(str(err.get("code", "internal")), str(err.get("message", "")), type)
		return
	if id == _stream_request:
		_stream_id = int(result.get("stream", -1))
		_granted = _blocks_pushed + _queue.size()
	elif id == _list_request:
		for info in result.get("states", []):
			var meter: PackedStringArray = str(info.get("meter", "4/4")).split("/")
			var upper := int(meter[0]) if meter.size() == 2 else 4
			var lower := int(meter[1]) if meter.size() == 2 else 4
			_tempo[str(info.get("name", ""))] = [float(info.get("bpm", 120.0)), upper, lower]
	elif type == "event" and result.get("transition") is Dictionary:
		var transition: Dictionary = result["transition"]
		var now := audible_sample()
		var seconds := float(int(transition.get("at_sample", 0)) - now) / sample_rate
		transition_planned.emit(str(transition["from"]), str(transition["to"]), maxf(seconds, 0.0))


func _on_block(header: Dictionary, data: PackedByteArray) -> void:
	if int(header.get("stream", -2)) != _stream_id:
		return  # a block of a replaced stream
	var frames := int(header.get("frames", 0))
	var block := Pcm.to_frames(data, str(header.get("format", "f32")), frames)
	var sample := int(header.get("sample", 0))
	var ring_frame := _frames_pushed
	for queued in _queue:
		ring_frame += queued.size()
	if sample != _next_session_sample:
		_segments.append([ring_frame, sample])
		if _segments.size() > 64:
			_segments.pop_front()
	_next_session_sample = sample + frames
	_queue.append(block)


func _feed() -> void:
	if _playback == null:
		return
	while not _queue.is_empty() and _playback.get_frames_available() >= _queue[0].size():
		var block: PackedVector2Array = _queue.pop_front()
		_playback.push_buffer(block)
		_frames_pushed += block.size()
		_blocks_pushed += 1
	var skips := _playback.get_skips()
	if skips > underruns:
		underruns = skips


func _grant() -> void:
	if _stream_id < 0 or not client.online:
		return
	var want := _blocks_pushed + jitter_blocks - _granted
	if want > 0:
		_granted += want
		client.credit(want, _stream_id)


func _on_notification(topic: String, body: Dictionary) -> void:
	if body.get("session") != null and str(body.get("session")) != session_id:
		return
	if topic == "error":
		_report(str(body.get("code", "internal")), str(body.get("message", "")), "service")
		return
	if topic in ["beat", "transition.started", "state"]:
		body["topic"] = topic
		_events.append(body)


func _release_events() -> void:
	var now := audible_sample()
	while not _events.is_empty() and now >= 0 and int(_events[0].get("sample", 0)) <= now:
		var body: Dictionary = _events.pop_front()
		var topic: String = body["topic"]
		if topic == "beat":
			_emit_beat(body)
		elif topic == "transition.started":
			transition_started.emit(str(body.get("from", "")), str(body.get("to", "")))
		else:
			state = str(body.get("state", state))
			state_changed.emit(state, int(body.get("variant", -1)))


## A service error: printed (push_error) and emitted on [signal error].
func _report(code: String, message: String, request: String) -> void:
	push_error("OstinatoMusic: %s failed: %s: %s" % [request, code, message])
	error.emit(code, message)


func _on_disconnected(reason: String) -> void:
	push_warning("OstinatoMusic: disconnected from %s: %s (reconnecting)" % [endpoint, reason])
	error.emit("disconnected", reason)


func _emit_beat(body: Dictionary) -> void:
	var beat_state := str(body.get("state", ""))
	var timing: Array = _tempo.get(beat_state, [0.0, 4, 4])
	var info := {
		"bar": int(body.get("bar", 0)),
		"beat": int(body.get("beat", 0)),
		"position": float(int(body.get("sample", 0))) / sample_rate,
		"tempo": timing[0],
		"time_signature_upper": timing[1],
		"time_signature_lower": timing[2],
		"state": beat_state,
		"variant": int(body.get("variant", -1)),
	}
	beat.emit(info["bar"], info["beat"])
	beat_info.emit(info)
