class_name OstinatoZmtp
extends RefCounted
## ZMTP 3.1 over [StreamPeerTCP], NULL mechanism: a DEALER or SUB peer of libzmq.
##
## Non-blocking: call [method poll] every frame; it advances the handshake,
## answers PING with PONG and returns the complete multipart messages received
## (each an Array of PackedByteArray frames). The byte-level helpers are static
## so tests can compare them with the specification's bytes.

enum Status { DISCONNECTED, CONNECTING, GREETING, HANDSHAKE, READY, FAILED }

const GREETING_SIZE := 64
const FLAG_MORE := 0x01
const FLAG_LONG := 0x02
const FLAG_COMMAND := 0x04
const MAX_FRAME_BYTES := 64 * 1024 * 1024

var status: Status = Status.DISCONNECTED
## Why the connection failed (when [member status] is FAILED).
var failure := ""
var socket_type := "DEALER"
var peer_socket_type := ""
## Ticks (msec) of the last PONG received, 0 if none.
var last_pong_msec := 0

var _tcp := StreamPeerTCP.new()
var _in := PackedByteArray()
var _frames: Array = []
var _subscriptions: Array = []


## The 64-byte greeting of a ZMTP 3.1 client using the NULL mechanism.
static func greeting() -> PackedByteArray:
	var bytes := PackedByteArray()
	bytes.resize(GREETING_SIZE)
	bytes.fill(0)
	bytes[0] = 0xff
	bytes[9] = 0x7f
	bytes[10] = 3
	bytes[11] = 1
	var mechanism := "NULL".to_ascii_buffer()
	for i in mechanism.size():
		bytes[12 + i] = mechanism[i]
	return bytes


## Empty if [param bytes] is an acceptable peer greeting, else the reason.
static func check_greeting(bytes: PackedByteArray) -> String:
	var problem := ""
	if bytes.size() != GREETING_SIZE or bytes[0] != 0xff or bytes[9] != 0x7f:
		problem = "peer did not send a ZMTP signature"
	elif bytes[10] < 3:
		problem = "peer speaks ZMTP %d.x; 3.x is required" % bytes[10]
	elif bytes.slice(12, 32).get_string_from_ascii() != "NULL":
		problem = "peer asks for a security mechanism other than NULL"
	return problem


## One frame: flags, 1- or 8-byte big-endian size, body.
static func frame(body: PackedByteArray, more: bool, is_command := false) -> PackedByteArray:
	var flags := (FLAG_MORE if more else 0) | (FLAG_COMMAND if is_command else 0)
	var out := PackedByteArray()
	if body.size() <= 255:
		out.append(flags)
		out.append(body.size())
	else:
		out.append(flags | FLAG_LONG)
		for i in range(7, -1, -1):
			out.append((body.size() >> (8 * i)) & 0xff)
	out.append_array(body)
	return out


static func command(name: String, data: PackedByteArray) -> PackedByteArray:
	var body := PackedByteArray([name.length()])
	body.append_array(name.to_ascii_buffer())
	body.append_array(data)
	return frame(body, false, true)


## READY with the Socket-Type property (and Identity when given).
static func ready_command(type_name: String, identity := PackedByteArray()) -> PackedByteArray:
	var data := _property("Socket-Type", type_name.to_ascii_buffer())
	if not identity.is_empty():
		data.append_array(_property("Identity", identity))
	return command("READY", data)


static func _property(name: String, value: PackedByteArray) -> PackedByteArray:
	var out := PackedByteArray([name.length()])
	out.append_array(name.to_ascii_buffer())
	for i in range(3, -1, -1):
		out.append((value.size() >> (8 * i)) & 0xff)
	out.append_array(value)
	return out


## READY metadata as a Dictionary (names lower-cased).
static func parse_properties(data: PackedByteArray) -> Dictionary:
	var props := {}
	var pos := 0
	while pos < data.size():
		var name_size: int = data[pos]
		if pos + 1 + name_size + 4 > data.size():
			break
		var name := data.slice(pos + 1, pos + 1 + name_size).get_string_from_ascii()
		pos += 1 + name_size
		var value_size := (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8)
		value_size |= data[pos + 3]
		pos += 4
		props[name.to_lower()] = data.slice(pos, pos + value_size)
		pos += value_size
	return props


static func ping_command(ttl_deciseconds: int, context: PackedByteArray) -> PackedByteArray:
	var data := PackedByteArray([(ttl_deciseconds >> 8) & 0xff, ttl_deciseconds & 0xff])
	data.append_array(context)
	return command("PING", data)


## A SUB subscription as a message (0x01 + prefix), understood by every ZMTP 3.x PUB.
static func subscribe_frame(prefix: PackedByteArray) -> PackedByteArray:
	var body := PackedByteArray([1])
	body.append_array(prefix)
	return frame(body, false)


## Starts connecting to "tcp://host:port" as [param type_name] ("DEALER" or "SUB").
func open(endpoint: String, type_name: String) -> Error:
	socket_type = type_name
	_in.clear()
	_frames.clear()
	if not endpoint.begins_with("tcp://") or endpoint.rfind(":") <= 6:
		return _fail_with("endpoint must look like tcp://host:port, got '%s'" % endpoint)
	var colon := endpoint.rfind(":")
	var host := endpoint.substr(6, colon - 6).trim_prefix("[").trim_suffix("]")
	var port := endpoint.substr(colon + 1).to_int()
	_tcp = StreamPeerTCP.new()
	var err := _tcp.connect_to_host(host, port)
	if err != OK:
		return _fail_with("cannot connect to %s (error %d)" % [endpoint, err])
	_tcp.set_no_delay(true)
	status = Status.CONNECTING
	return OK


## Subscribes (SUB only); remembered and sent once the handshake is done.
func subscribe(prefix: String) -> void:
	_subscriptions.append(prefix.to_utf8_buffer())
	if status == Status.READY:
		_tcp.put_data(subscribe_frame(_subscriptions[-1]))


## Sends one multipart message; false if the connection is not ready.
func send(frames: Array) -> bool:
	if status != Status.READY:
		return false
	var out := PackedByteArray()
	for i in frames.size():
		out.append_array(frame(frames[i], i < frames.size() - 1))
	return _tcp.put_data(out) == OK


func ping(context: PackedByteArray) -> void:
	if status == Status.READY:
		_tcp.put_data(ping_command(10, context))


func close() -> void:
	_tcp.disconnect_from_host()
	status = Status.DISCONNECTED


## Advances the connection; returns the complete messages received since the last call.
func poll() -> Array:
	var messages: Array = []
	if status == Status.DISCONNECTED or status == Status.FAILED:
		return messages
	_tcp.poll()
	var tcp_status := _tcp.get_status()
	if tcp_status == StreamPeerTCP.STATUS_CONNECTING:
		return messages
	if tcp_status != StreamPeerTCP.STATUS_CONNECTED:
		_fail_with("connection lost")
		return messages
	if status == Status.CONNECTING:
		_tcp.put_data(greeting())
		status = Status.GREETING
	var available := _tcp.get_available_bytes()
	if available > 0:
		var chunk: Array = _tcp.get_partial_data(available)
		if chunk[0] == OK:
			_in.append_array(chunk[1])
	if status == Status.GREETING and _in.size() >= GREETING_SIZE:
		var problem := check_greeting(_in.slice(0, GREETING_SIZE))
		_in = _in.slice(GREETING_SIZE)
		if problem != "":
			_fail_with(problem)
			return messages
		_tcp.put_data(ready_command(socket_type))
		status = Status.HANDSHAKE
	if status == Status.HANDSHAKE or status == Status.READY:
		_parse_frames(messages)
	return messages


func _parse_frames(messages: Array) -> void:
	var pos := 0
	while status != Status.FAILED:
		if _in.size() - pos < 2:
			break
		var flags: int = _in[pos]
		var size: int = _in[pos + 1]
		var header := 2
		if flags & FLAG_LONG:
			if _in.size() - pos < 9:
				break
			size = 0
			for i in 8:
				size = (size << 8) | _in[pos + 1 + i]
			header = 9
		if size < 0 or size > MAX_FRAME_BYTES:
			_fail_with("frame of %d bytes refused" % size)
			break
		if _in.size() - pos < header + size:
			break
		var body := _in.slice(pos + header, pos + header + size)
		pos += header + size
		if flags & FLAG_COMMAND:
			_on_command(body)
		elif status == Status.READY:
			_frames.append(body)
			if not flags & FLAG_MORE:
				messages.append(_frames)
				_frames = []
	_in = _in.slice(pos)


func _on_command(body: PackedByteArray) -> void:
	if body.is_empty() or body.size() < 1 + body[0]:
		_fail_with("malformed command frame")
		return
	var name := body.slice(1, 1 + body[0]).get_string_from_ascii()
	var data := body.slice(1 + body[0])
	match name:
		"READY":
			var props := parse_properties(data)
			peer_socket_type = props.get("socket-type", PackedByteArray()).get_string_from_ascii()
			if not _compatible(socket_type, peer_socket_type):
				_fail_with("%s cannot talk to a %s socket" % [socket_type, peer_socket_type])
				return
			status = Status.READY
			for prefix in _subscriptions:
				_tcp.put_data(subscribe_frame(prefix))
		"PING":
			_tcp.put_data(command("PONG", data.slice(2, 18)))
		"PONG":
			last_pong_msec = Time.get_ticks_msec()
		"ERROR":
			var reason := data.slice(1).get_string_from_ascii() if data.size() > 0 else ""
			_fail_with("peer reported an error: " + reason)


static func _compatible(ours: String, peer: String) -> bool:
	if ours == "DEALER":
		return peer in ["ROUTER", "DEALER", "REP"]
	if ours == "SUB":
		return peer in ["PUB", "XPUB"]
	return false


func _fail_with(message: String) -> Error:
	failure = message
	status = Status.FAILED
	_tcp.disconnect_from_host()
	return FAILED
