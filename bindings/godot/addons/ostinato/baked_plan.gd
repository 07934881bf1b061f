class_name OstinatoBakedPlan
extends RefCounted
## What the baked player does and when, from a baked pack's manifest (a Dictionary parsed
## from manifest.json): the service director's rules (middleware/director/director.py).
## Leave on the rule's sync point; a filler stinger plays there and the target enters after
## its musical length; same-position entry keeps bar and beat; fades use the outgoing
## music's tempo; "auto" is a cross between equal tempo and meter, else an out-fade; every
## cut gets a 1 ms guard fade; a rule with a baked bridge plays it from the sync point and
## the target enters at the bridge's last bar line, at its start, with variant 0; a stinger
## plays its rendition for the state it lands over. Pure functions: tests run this file on
## the director's vectors (tests/vectors/godot_baked.json, tests/vectors/baked_score.json).

const Timing := preload("baked_timing.gd")

const DEFAULT_RULE := {
	"from": "*",
	"to": "*",
	"leave_at": "next_bar",
	"enter_at": "start",
	"fade": "cross",
	"fade_length": {"value": 1.0, "unit": "bars"},
	"phrase_bars": 4,
	"filler_stinger": null,
	"bridge_bars": 0,
	"hold_previous": false,
}


## The rule for [param source] -> [param target]: exact, (source, *), (*, target), (*, *),
## then the manifest's default.
static func transition_rule(manifest: Dictionary, source: String, target: String) -> Dictionary:
	var rules: Array = manifest.get("transitions", [])
	for pair in [[source, target], [source, "*"], ["*", target], ["*", "*"]]:
		for rule in rules:
			if str(rule["from"]) == pair[0] and str(rule["to"]) == pair[1]:
				return rule
	var fallback: Variant = manifest.get("default_transition")
	if fallback is Dictionary:
		return fallback
	return DEFAULT_RULE


## The loop grid of a state (its first variant's beat and bar lines).
static func state_grid(manifest: Dictionary, name: String) -> Dictionary:
	var state: Dictionary = manifest["states"][name]
	return Timing.variant_grid(
		state["variants"][0], bool(state["one_shot"]), int(state["beats_per_bar"])
	)


static func effective_fade(fade: String, source: Dictionary, target: Dictionary) -> String:
	if fade != "auto":
		return fade
	var same_tempo: bool = float(source["bpm"]) == float(target["bpm"])
	var same_meter: bool = int(source["beats_per_bar"]) == int(target["beats_per_bar"])
	return "cross" if same_tempo and same_meter else "out"


## The baked bridge [param rule] plays from [param source] to [param target]: the
## manifest's [code]bridges["<source>-><target>"][/code] when the rule asks for one
## ([code]bridge_bars[/code] > 0), else {} (no bridge baked: the rule's fade plays, like
## the director's [code]bridge.fallback[/code]).
static func transition_bridge(
	manifest: Dictionary, rule: Dictionary, source: String, target: String
) -> Dictionary:
	if source == "" or int(rule.get("bridge_bars", 0)) <= 0:
		return {}
	var bridges: Dictionary = manifest.get("bridges", {})
	return bridges.get(source + "->" + target, {})


## Plan leaving [param source] (its timeline's sample 0 at [param origin]; "" when nothing
## plays) for [param target], asked at timeline sample [param now]. With
## [param automatic] (a one-shot's follow-up) it leaves at the one-shot's end.
## With a baked bridge, [code]bridge[/code] names it ("<source>-><target>", else ""): it
## plays [code]bridge_path[/code] from [code]sync[/code] to [code]bridge_end[/code] (its
## tail rings past [code]enter[/code], the bridge's last bar line, where the target enters
## at its start with variant [code]variant[/code]; -1: the rotation chooses).
static func plan_transition(
	manifest: Dictionary, source: String, origin: int, now: int, target: String, automatic: bool
) -> Dictionary:
	var rate := int(manifest["sample_rate"])
	var guard := Timing.guard_samples(rate)
	var plan := {
		"source": source,
		"target": target,
		"sync": now,
		"enter": now,
		"offset": 0,
		"origin": now,
		"fade": "none",
		"out_fade": guard,
		"in_fade": guard,
		"filler": "",
		"hold_previous": false,
		"bridge": "",
		"bridge_path": "",
		"bridge_end": now,
		"variant": -1,
	}
	if source == "":
		return plan
	var states: Dictionary = manifest["states"]
	var from_state: Dictionary = states[source]
	var to_state: Dictionary = states[target]
	var rule := transition_rule(manifest, source, target)
	var from_grid := state_grid(manifest, source)
	var to_grid := state_grid(manifest, target)
	var sync := Timing.next_sync_sample(
		now - origin, str(rule["leave_at"]), from_grid, int(rule.get("phrase_bars", 4))
	)
	if automatic:
		sync = int(from_grid["loop"])
	plan["sync"] = origin + sync
	var length: Dictionary = rule["fade_length"]
	var fade_length := Timing.fade_samples(
		float(length["value"]),
		str(length["unit"]),
		float(from_state["bpm"]),
		int(from_grid["beats_per_bar"]),
		rate
	)
	fade_length = maxi(guard, fade_length)
	var enter: int = plan["sync"]
	var filler: Variant = rule.get("filler_stinger")
	var stingers: Dictionary = manifest.get("stingers", {})
	var bridge := transition_bridge(manifest, rule, source, target)
	plan["bridge_end"] = plan["sync"]
	if filler is String and stingers.has(filler):
		plan["filler"] = filler
		enter += int(stingers[filler]["music_samples"])
	elif not bridge.is_empty():
		plan["bridge"] = source + "->" + target
		plan["bridge_path"] = str(bridge["file"]["path"])
		plan["bridge_end"] = enter + int(bridge["frames"])
		plan["variant"] = int(bridge.get("target_variant", 0))
		enter += int(bridge["music_samples"])
	plan["enter"] = enter
	var fade := effective_fade(str(rule["fade"]), from_state, to_state)
	plan["fade"] = fade
	var same_position := str(rule["enter_at"]) == "same_position" and plan["bridge"] == ""
	if same_position and not bool(to_state["one_shot"]):
		plan["offset"] = Timing.same_position_offset(enter - origin, from_grid, to_grid)
	plan["origin"] = enter - int(plan["offset"])
	if fade == "cross" or fade == "out":
		plan["out_fade"] = fade_length
	if fade == "cross" or fade == "in":
		plan["in_fade"] = fade_length
	plan["hold_previous"] = bool(rule.get("hold_previous", false))
	return plan


## The state a one-shot hands over to once it ends: its "next", else the state a
## hold_previous rule remembered ([param held]), else "" (it just ends).
static func follow_state(manifest: Dictionary, one_shot: String, held: String) -> String:
	var state: Dictionary = manifest["states"][one_shot]
	var next: Variant = state.get("next")
	if next is String and manifest["states"].has(next):
		return next
	return held


## Which take of stinger [param name] plays over [param host] (the state playing where it
## lands, "" when none): its rendition (the host's key, tempo and beat grid) when the
## manifest has one, else the stinger itself. [code]fallback[/code] says why the base
## plays, as the director's [code]stinger.planned[/code] does: "no music playing", or
## "rendition not ready" (a generated stinger baked without this host's rendition);
## "" for a rendition and for a designer's file (it has no renditions).
static func choose_rendition(manifest: Dictionary, name: String, host: String) -> Dictionary:
	var stinger: Dictionary = manifest["stingers"][name]
	var renditions: Dictionary = stinger.get("renditions", {})
	var choice := {"rendition": name, "host": host, "fallback": "", "take": stinger}
	var playing: bool = host != "" and manifest["states"].has(host)
	if playing and renditions.has(host):
		choice["rendition"] = name + "@" + host
		choice["take"] = renditions[host]
		return choice
	if not playing:
		choice["host"] = ""
	if str(stinger.get("source", "generated")) == "file":
		return choice  # a designer's file plays as it is over every state
	choice["fallback"] = "rendition not ready" if playing else "no music playing"
	return choice


## Plan stinger [param name] over [param state] (timeline origin [param origin], "" when
## no music plays), asked at [param now]: where it lands, how long the music ducks, how deep,
## and which file plays ([method choose_rendition]: the rendition for [param state], else
## the stinger's own file). [code]replaces[/code] is -1 ([method relay_stinger] sets it).
static func plan_stinger(
	manifest: Dictionary, state: String, origin: int, now: int, name: String
) -> Dictionary:
	var stinger: Dictionary = manifest["stingers"][name]
	var choice := choose_rendition(manifest, name, state)
	var played: Dictionary = choice["take"]
	var at := now
	if state != "":
		var grid := state_grid(manifest, state)
		at = origin + Timing.next_sync_sample(now - origin, str(stinger["sync"]), grid, 4)
	return {
		"name": name,
		"rendition": choice["rendition"],
		"host": choice["host"],
		"fallback": choice["fallback"],
		"path": str(played["file"]["path"]),
		"at": at,
		"hold_end": at + int(played["music_samples"]),
		"end": at + int(played["frames"]),
		"depth": Timing.db_to_gain(float(stinger["duck_db"])),
		"gain": Timing.db_to_gain(float(stinger.get("gain_db", 0.0))),
		"replaces": -1,
	}


## A state entered at [param enter] (its timeline's sample 0 at [param origin]): a stinger
## planned over another state that would start at or after [param enter] is planned again
## on the new state's grid, in its rendition (so it plays over the state audible at its
## start), like the director's relay; [code]replaces[/code] is the sample it had been
## planned on. Any other plan is returned as it is.
static func relay_stinger(
	manifest: Dictionary, plan: Dictionary, state: String, origin: int, enter: int
) -> Dictionary:
	var at := int(plan["at"])
	if at < enter or str(plan["host"]) == "" or str(plan["host"]) == state:
		return plan
	var moved := plan_stinger(manifest, state, origin, at, str(plan["name"]))
	moved["replaces"] = at
	return moved


## The next variant: weighted (uniform when [param weights] is empty), never
## [param previous] when there is a choice. [param pick] is a random number in [0, 1).
static func next_variant(count: int, previous: int, weights: Array, pick: float) -> int:
	if count <= 1:
		return 0
	var total := 0.0
	for i in range(count):
		if i != previous:
			total += _weight(weights, i)
	if total <= 0.0:
		return posmod(previous + 1, count)
	var left := pick * total
	var last := -1
	for i in range(count):
		if i == previous or _weight(weights, i) <= 0.0:
			continue
		last = i
		left -= _weight(weights, i)
		if left < 0.0:
			return i
	return last


static func _weight(weights: Array, index: int) -> float:
	if index >= weights.size() or weights[index] == null:
		return 1.0
	return maxf(0.0, float(weights[index]))


## A looping order of variants built from [param picks] (random numbers in [0, 1)): no
## variant follows itself, not even from the last entry back to the first.
static func variant_sequence(count: int, weights: Array, picks: Array) -> Array:
	return variant_sequence_from(-1, count, weights, picks)


## As [method variant_sequence], starting with variant [param first] (-1: any), as the
## director does after a bridge (it leads into variant 0).
static func variant_sequence_from(first: int, count: int, weights: Array, picks: Array) -> Array:
	var order := []
	var previous := -1
	if first >= 0 and first < count:
		order.append(first)
		previous = first
	for pick in picks:
		previous = next_variant(count, previous, weights, float(pick))
		order.append(previous)
	while order.size() > 1 and order[order.size() - 1] == order[0]:
		order.pop_back()
	return order
