class_name OstinatoClient
extends RefCounted
## The Ostinato protocol client (docs/protocol.md) for Godot: a DEALER for
## requests and the PCM stream, a SUB for notifications, heartbeats and
## reconnection with session resume. Poll-driven (no threads): call
## [method poll] once per frame; results arrive as signals.

signal connected(resumed: bool, hello: Dictionary)
signal disconnected(reason: String)
signal reply_received(id: int, type: String, ok: bool, result: Dictionary, error: Dictionary)
signal block_received(header: Dictionary, data: PackedByteArray)
signal notification_received(topic: String, body: Dictionary)
## A [method fetch] finished: the whole file, its SHA-256 checked (empty on failure).
signal fetch_completed(state: String, variant: int, data: PackedByteArray)

const Zmtp := preload("zmtp.gd")
const MsgPack := preload("msgpack.gd")
const PROTOCOL_VERSION := 1
const SESSION_TOPICS := ["beat/", "bar/", "transition.planned/", "transition.started/", "state/"]
const SERVICE_TOPICS := ["error", "variant.ready"]

var endpoint := "tcp://127.0.0.1:5570"
var client_name := "godot-addon/0.1"
var pack := ""
var pcm_format := "f32"
var auto_reconnect := true
var reconnect_delay_s := 0.5
var session_id := ""
## Secret from the last hello reply: with [member session_id] it resumes the session.
var resume_token := ""
var pub_endpoint := ""
var heartbeat_s := 2.0
var hello_result := {}
var online := false

var _dealer: Zmtp
var _sub: Zmtp
var _codec := MsgPack.new()
var _next_id := 0
var _hello_id := -1
var _outbox: Array = []
var _last_send_msec := 0
var _retry_at_msec := -1
var _outage := false
var _fetches := {}  # request id -> {state, variant, format, chunks: Array, sha256}


## Connects and says hello (resuming [param resume_session] when given).
func open(resume_session := "") -> void:
	_dealer = Zmtp.new()
	_outbox.clear()
	online = false
	if _dealer.open(endpoint, "DEALER") != OK:
		_lost(_dealer.failure)
		return
	var body := {
		"versions": [PROTOCOL_VERSION],
		"client": client_name,
		"capabilities": ["pcm." + pcm_format],
	}
	if resume_session != "":
		body["resume"] = resume_session
		if resume_token != "":
			body["resume_token"] = resume_token
	if pack != "":
		body["pack"] = pack
	_hello_id = _queue("hello", body)


## Says bye (best effort) and closes both connections.
func close() -> void:
	if online and _dealer != null:
		_dealer.send([_envelope(_take_id(), "bye", {})])
	auto_reconnect = false
	online = false
	if _dealer != null:
		_dealer.close()
	if _sub != null:
		_sub.close()


## Sends a request; returns its id (the reply comes with [signal reply_received]).
func request(type: String, body := {}) -> int:
	return _queue(type, body)


func ping() -> int:
	return request("ping", {"t": Time.get_ticks_msec()})


func set_state(state: String, intensity := -1.0, params := {}) -> int:
	var body := {"state": state}
	if intensity >= 0.0:
		body["intensity"] = intensity
	if not params.is_empty():
		body["params"] = params
	return request("event", body)


func set_intensity(value: float) -> int:
	return request("intensity", {"value": value})


func play_stinger(stinger: String) -> int:
	return request("stinger", {"name": stinger})


func stream_start(block_frames: int, credits: int) -> int:
	var body := {"format": pcm_format, "block_frames": block_frames, "credits": credits}
	return request("stream_start", body)


func credit(blocks: int, stream: int) -> int:
	return request("credit", {"credits": blocks, "stream": stream})


func stream_stop() -> int:
	return request("stream_stop")


func status() -> int:
	return request("status")


func list() -> int:
	return request("list")


func bye() -> int:
	return request("bye")


## Downloads a variant's encoded loop chunk by chunk; ends with [signal fetch_completed].
func fetch(state: String, variant := 0, file_format := "wav") -> int:
	var job := {"state": state, "variant": variant, "format": file_format, "parts": []}
	return _fetch_chunk(job, 0)


func _fetch_chunk(job: Dictionary, chunk: int) -> int:
	var body := {
		"state": job["state"], "variant": job["variant"], "format": job["format"], "chunk": chunk
	}
	var id := request("fetch", body)
	_fetches[id] = job
	return id


func _on_fetch_reply(job: Dictionary, ok: bool, result: Dictionary) -> void:
	if not ok:
		fetch_completed.emit(job["state"], job["variant"], PackedByteArray())
		return
	job["parts"].append(result.get("data", PackedByteArray()))
	if job["parts"].size() < int(result.get("chunks", 1)):
		_fetch_chunk(job, job["parts"].size())
		return
	var data := PackedByteArray()
	for part in job["parts"]:
		data.append_array(part)
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	hashing.update(data)
	if hashing.finish().hex_encode() != str(result.get("sha256", "")):
		data = PackedByteArray()
	fetch_completed.emit(job["state"], job["variant"], data)


## The envelope bytes of a request (docs/protocol.md, "Envelope").
static func envelope(id: int, type: String, body: Dictionary) -> PackedByteArray:
	return MsgPack.encode({"v": PROTOCOL_VERSION, "id": id, "type": type, "body": body})


## Advances both connections; emits the signals for whatever arrived.
func poll() -> void:
	var now := Time.get_ticks_msec()
	if _retry_at_msec >= 0 and now >= _retry_at_msec:
		_retry_at_msec = -1
		open(session_id)
	if _dealer == null:
		return
	for message in _dealer.poll():
		_on_dealer_message(message)
	if _dealer.status == Zmtp.Status.FAILED:
		_lost(_dealer.failure)
		return
	if _dealer.status == Zmtp.Status.READY and not _outbox.is_empty():
		for frame in _outbox:
			_dealer.send([frame])
		_outbox.clear()
		_last_send_msec = now
	if online and now - _last_send_msec > int(heartbeat_s * 1000.0):
		request("ping", {"t": now})
	if _sub != null:
		for message in _sub.poll():
			if message.size() == 2:
				_on_notification(message[0], message[1])
		if _sub.status == Zmtp.Status.FAILED and online:
			_open_sub()


func _take_id() -> int:
	_next_id += 1
	return _next_id


func _envelope(id: int, type: String, body: Dictionary) -> PackedByteArray:
	return envelope(id, type, body)


func _queue(type: String, body: Dictionary) -> int:
	var id := _take_id()
	var frame := _envelope(id, type, body)
	if _dealer != null and _dealer.status == Zmtp.Status.READY and _outbox.is_empty():
		_dealer.send([frame])
		_last_send_msec = Time.get_ticks_msec()
	else:
		_outbox.append(frame)
	return id


func _on_dealer_message(message: Array) -> void:
	if message.size() == 2:
		var header: Variant = _codec.decode(message[0])
		if header is Dictionary and header.get("type") == "pcm":
			block_received.emit(header, message[1])
		return
	if message.size() != 1:
		return
	var reply: Variant = _codec.decode(message[0])
	if not reply is Dictionary:
		return
	var id: int = reply.get("id", -1) if reply.get("id") is int else -1
	var ok: bool = reply.get("ok", false)
	var result: Dictionary = reply.get("result", {}) if ok else {}
	var error: Dictionary = {} if ok else reply.get("error", {})
	if _fetches.has(id):
		_on_fetch_reply(_fetches[id], ok, result)
		_fetches.erase(id)
	if id == _hello_id:
		_hello_id = -1
		if ok:
			_on_hello(result)
		else:
			auto_reconnect = false
	reply_received.emit(id, str(reply.get("type", "")), ok, result, error)


func _on_hello(result: Dictionary) -> void:
	hello_result = result
	session_id = str(result.get("session", ""))
	resume_token = str(result.get("resume_token", ""))
	pub_endpoint = str(result.get("pub_endpoint", ""))
	heartbeat_s = float(result.get("heartbeat_s", 2.0))
	online = true
	_outage = false
	_open_sub()
	connected.emit(bool(result.get("resumed", false)), result)


func _open_sub() -> void:
	if _sub != null:
		_sub.close()
	_sub = Zmtp.new()
	for prefix in SESSION_TOPICS:
		_sub.subscribe(prefix + session_id)
	for prefix in SERVICE_TOPICS:
		_sub.subscribe(prefix)
	_sub.open(pub_endpoint, "SUB")


func _on_notification(topic_bytes: PackedByteArray, body_bytes: PackedByteArray) -> void:
	var body: Variant = _codec.decode(body_bytes)
	if not body is Dictionary:
		return
	var topic := topic_bytes.get_string_from_utf8()
	var slash := topic.find("/")
	notification_received.emit(topic if slash < 0 else topic.substr(0, slash), body)


func _lost(reason: String) -> void:
	online = false
	if _dealer != null:
		_dealer.close()
		_dealer = null
	if not _outage:  # once per outage, not once per failed retry
		_outage = true
		disconnected.emit(reason)
	if auto_reconnect:
		_retry_at_msec = Time.get_ticks_msec() + int(reconnect_delay_s * 1000.0)
