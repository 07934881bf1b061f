extends SceneTree
## The addon's checks, run by tests/test_godot_addon.py when GODOT_BIN is set:
##   godot --headless --path bindings/godot --script res://tests/test_ostinato.gd --
##       --vectors=DIR --zmtp=FILE [--endpoint=tcp://host:port --blocks=N --state=S --stinger=S]
## Prints one line per check and a summary line; exits 1 on any failure.

const MsgPack := preload("res://addons/ostinato/msgpack.gd")
const Zmtp := preload("res://addons/ostinato/zmtp.gd")
const Client := preload("res://addons/ostinato/client.gd")
const Pcm := preload("res://addons/ostinato/pcm.gd")
const BakedPlan := preload("res://addons/ostinato/baked_plan.gd")
const BakedTiming := preload("res://addons/ostinato/baked_timing.gd")

var _passed := 0
var _failed := 0
var _args := {}


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		var parts: PackedStringArray = arg.trim_prefix("--").split("=", true, 1)
		_args[parts[0]] = parts[1] if parts.size() > 1 else ""
	_run.call_deferred()


func _run() -> void:
	if _args.has("zmtp"):
		_check_zmtp(_read_json(_args["zmtp"]))
	if _args.has("vectors"):
		_check_vectors(_args["vectors"])
		_check_baked(_read_json(str(_args["vectors"]).path_join("godot_baked.json")))
		_check_baked_score(_read_json(str(_args["vectors"]).path_join("baked_score.json")))
	if _args.has("endpoint"):
		await _check_live_session()
	print("OSTINATO-GODOT-TESTS passed=%d failed=%d" % [_passed, _failed])
	quit(1 if _failed > 0 or _passed == 0 else 0)


func _check(name: String, ok: bool, detail := "") -> void:
	if ok:
		_passed += 1
		print("PASS ", name)
	else:
		_failed += 1
		print("FAIL ", name, ": ", detail)


func _read_json(path: String) -> Variant:
	return JSON.parse_string(FileAccess.get_file_as_string(path))


func _check_zmtp(vectors: Dictionary) -> void:
	_check("zmtp greeting", Zmtp.greeting().hex_encode() == vectors["greeting"])
	for item in vectors["frames"]:
		var body: PackedByteArray = str(item["body"]).hex_decode()
		var produced := Zmtp.frame(body, item["more"], item["command"]).hex_encode()
		_check("zmtp frame of %d bytes" % body.size(), produced == item["bytes"], produced)
	_check(
		"zmtp READY dealer", Zmtp.ready_command("DEALER").hex_encode() == vectors["ready_dealer"]
	)
	_check("zmtp READY sub", Zmtp.ready_command("SUB").hex_encode() == vectors["ready_sub"])
	var identity := Zmtp.ready_command("DEALER", "game-1".to_ascii_buffer()).hex_encode()
	_check("zmtp READY identity", identity == vectors["ready_dealer_identity"])
	var ping := Zmtp.ping_command(10, "ctx".to_ascii_buffer()).hex_encode()
	_check("zmtp PING", ping == vectors["ping_ttl10_ctx"])
	var pong := Zmtp.command("PONG", "ctx".to_ascii_buffer()).hex_encode()
	_check("zmtp PONG", pong == vectors["pong_ctx"])
	var sub := Zmtp.subscribe_frame("beat/".to_utf8_buffer()).hex_encode()
	_check("zmtp subscribe", sub == vectors["subscribe_beat"])
	_check("zmtp greeting accepted", Zmtp.check_greeting(Zmtp.greeting()) == "")


## The baked player's plans against the director's (tests/vectors/godot_baked.json).
func _check_baked(vectors: Dictionary) -> void:
	var manifest: Dictionary = vectors["manifest"]
	var wrong := 0
	for case in vectors["transitions"]:
		var plan := BakedPlan.plan_transition(
			manifest, case["source"], int(case["origin"]), int(case["now"]), case["target"], false
		)
		for key in ["sync", "enter", "offset", "out_fade", "in_fade"]:
			if int(plan[key]) != int(case[key]):
				wrong += 1
		if int(plan["origin"]) != int(case["plan_origin"]) or plan["fade"] != case["fade"]:
			wrong += 1
	_check("baked transitions (%d)" % vectors["transitions"].size(), wrong == 0, str(wrong))
	wrong = 0
	for case in vectors["stingers"]:
		var origin := int(case["origin"])
		var plan := BakedPlan.plan_stinger(manifest, case["state"], origin, int(case["now"]), "hit")
		if int(plan["at"]) != int(case["at"]):
			wrong += 1
	_check("baked stingers", wrong == 0, str(wrong))
	wrong = 0
	var duck: Dictionary = vectors["duck"]
	for case in vectors["ducks"]:
		var gain := BakedTiming.duck_gain(
			int(case["sample"]),
			int(duck["at"]),
			int(duck["hold_end"]),
			duck["depth"],
			int(vectors["duck_ramp"])
		)
		if absf(gain - float(case["gain"])) > 1e-6:
			wrong += 1
	for case in vectors["stems"]:
		var gain := BakedTiming.stem_gain(case["intensity"], case["low"], case["high"])
		if absf(gain - float(case["gain"])) > 1e-9:
			wrong += 1
	_check("baked ducks and stem gains", wrong == 0, str(wrong))


## Bridges and stinger renditions against the director's (tests/vectors/baked_score.json).
func _check_baked_score(vectors: Dictionary) -> void:
	var manifest: Dictionary = vectors["manifest"]
	var wrong := 0
	for case in vectors["transitions"]:
		var plan := BakedPlan.plan_transition(
			manifest, case["source"], int(case["origin"]), int(case["now"]), case["target"], false
		)
		for key in ["sync", "enter", "offset", "out_fade", "in_fade", "bridge_end", "variant"]:
			if int(plan[key]) != int(case[key]):
				wrong += 1
		if int(plan["origin"]) != int(case["plan_origin"]) or plan["bridge"] != case["bridge"]:
			wrong += 1
	_check("baked bridges (%d)" % vectors["transitions"].size(), wrong == 0, str(wrong))
	wrong = 0
	for case in vectors["stingers"] + vectors["during_bridge"]:
		var plan := BakedPlan.plan_stinger(
			manifest, case["state"], int(case["origin"]), int(case["now"]), case["name"]
		)
		if int(plan["at"]) != int(case["at"]) or plan["rendition"] != case["rendition"]:
			wrong += 1
		if plan["host"] != case["host"] or plan["fallback"] != case["fallback"]:
			wrong += 1
	for case in vectors["relays"]:
		var first := BakedPlan.plan_stinger(
			manifest, case["source"], int(case["origin"]), int(case["now"]), "hit"
		)
		var plan := BakedPlan.relay_stinger(
			manifest, first, case["target"], int(case["target_origin"]), int(case["enter"])
		)
		if int(plan["at"]) != int(case["at"]) or plan["rendition"] != case["rendition"]:
			wrong += 1
		if int(plan["replaces"]) != int(case["replaces"]):
			wrong += 1
	_check("baked stinger renditions and relays", wrong == 0, str(wrong))


func _check_vectors(directory: String) -> void:
	var index: Dictionary = _read_json(directory.path_join("index.json"))
	var codec := MsgPack.new()
	for vector in index["vectors"]:
		var frames: Array = vector["frames"]
		var path: String = directory.path_join(frames[1] if vector["kind"] == "pub" else frames[0])
		var bytes := FileAccess.get_file_as_bytes(path)
		var value: Variant = codec.decode(bytes)
		if vector["name"] == "bad_not_msgpack":
			_check("vector bad_not_msgpack refused", codec.error != "")
			continue
		var name: String = vector["name"]
		_check("vector %s decodes" % name, codec.error == "", codec.error)
		_check("vector %s re-encodes" % name, MsgPack.encode(value) == bytes)
		if vector.has("value"):
			_check("vector %s value" % name, _same(value, vector["value"]), str(value))
	_check_pcm(directory)


## JSON has one number type: compare numbers by value, bytes through {"$bin": base64}.
func _same(decoded: Variant, expected: Variant) -> bool:
	var same := false
	if expected is Dictionary and expected.has("$bin"):
		same = decoded is PackedByteArray and decoded == Marshalls.base64_to_raw(expected["$bin"])
	elif expected is Dictionary:
		same = decoded is Dictionary and decoded.size() == expected.size()
		for key in expected:
			same = same and decoded.has(key) and _same(decoded[key], expected[key])
	elif expected is Array:
		same = decoded is Array and decoded.size() == expected.size()
		for i in expected.size():
			same = same and _same(decoded[i], expected[i])
	elif expected is float and (decoded is int or decoded is float):
		same = is_equal_approx(float(decoded), expected)
	else:
		same = typeof(decoded) == typeof(expected) and decoded == expected
	return same


func _check_pcm(directory: String) -> void:
	var f32 := FileAccess.get_file_as_bytes(directory.path_join("pcm_f32.1.bin"))
	var frames := f32.size() / 8
	var bulk := Pcm.bulk_f32(f32, frames)
	var loop := Pcm.loop_f32(f32, frames)
	_check("pcm f32 bulk path available", bulk.size() == frames, "size %d" % bulk.size())
	_check("pcm f32 bulk == per-frame", bulk == loop)
	var s16 := FileAccess.get_file_as_bytes(directory.path_join("pcm_s16.1.bin"))
	var converted := Pcm.to_frames(s16, "s16", s16.size() / 4)
	var close := true
	for i in converted.size():
		close = close and absf(converted[i].x - loop[i].x) < 1.0 / 16000.0
	_check("pcm s16 matches f32 within one step", close and converted.size() == frames)
	_measure_feed_cost(f32, frames)


## Prints what converting one second of 48 kHz audio costs on each path.
func _measure_feed_cost(block: PackedByteArray, frames: int) -> void:
	var blocks := int(ceil(48000.0 / frames))
	var start := Time.get_ticks_usec()
	for i in blocks:
		Pcm.bulk_f32(block, frames)
	var bulk_usec := Time.get_ticks_usec() - start
	start = Time.get_ticks_usec()
	for i in blocks:
		Pcm.loop_f32(block, frames)
	var loop_usec := Time.get_ticks_usec() - start
	print("COST per second of audio: bulk %d us, per-frame loop %d us" % [bulk_usec, loop_usec])


func _check_live_session() -> void:
	var client := Client.new()
	client.endpoint = _args["endpoint"]
	client.client_name = "godot-addon-test/0.1"
	var replies := {}
	var blocks: Array = []
	client.reply_received.connect(
		func(id: int, _type: String, ok: bool, result: Dictionary, error: Dictionary) -> void:
			replies[id] = [ok, result, error]
	)
	client.block_received.connect(
		func(header: Dictionary, data: PackedByteArray) -> void: blocks.append([header, data])
	)
	client.open()
	var connected: bool = await _until(func() -> bool: return client.online, client)
	_check("live hello", connected, client.session_id)
	if not connected:
		return
	var event_id := client.set_state(_args.get("state", "battle"))
	var intensity_id := client.set_intensity(0.8)
	var stinger_id := client.play_stinger(_args.get("stinger", "level_up"))
	var stream_id := client.stream_start(1024, 0)
	await _until(func() -> bool: return replies.has(stream_id), client)
	var wanted := int(_args.get("blocks", "16"))
	client.credit(wanted, int(replies[stream_id][1].get("stream", -1)))
	await _until(func() -> bool: return blocks.size() >= wanted, client)
	_check("live event", replies.get(event_id, [false])[0], str(replies.get(event_id)))
	_check("live intensity", replies.get(intensity_id, [false])[0], str(replies.get(intensity_id)))
	_check("live stinger replied", replies.has(stinger_id))
	_check("live %d blocks" % wanted, blocks.size() == wanted, "got %d" % blocks.size())
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	for block in blocks:
		hashing.update(block[1])
	print("PCM sha256 ", hashing.finish().hex_encode())
	var fetched: Array = []
	client.fetch_completed.connect(
		func(_state: String, _variant: int, data: PackedByteArray) -> void: fetched.append(data)
	)
	client.fetch("battle", 1, "wav")
	await _until(func() -> bool: return not fetched.is_empty(), client)
	_check("live fetch", not fetched.is_empty() and not fetched[0].is_empty())
	if not fetched.is_empty():
		var file_hash := HashingContext.new()
		file_hash.start(HashingContext.HASH_SHA256)
		file_hash.update(fetched[0])
		print("FETCH sha256 ", file_hash.finish().hex_encode())
	client.close()


func _until(condition: Callable, client: Client, timeout_msec := 10000) -> bool:
	var deadline := Time.get_ticks_msec() + timeout_msec
	while Time.get_ticks_msec() < deadline:
		client.poll()
		if condition.call():
			return true
		await process_frame
	return false
