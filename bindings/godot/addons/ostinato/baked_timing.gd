class_name OstinatoBakedTiming
extends RefCounted
## Pure timing maths of the baked player: the service director's rules
## (middleware/director/timing.py, mixer/curves.py, director/intensity.py) in GDScript.
##
## Positions are samples on a timeline (ints). A loop grid is a Dictionary:
## [code]{"beats": [..], "bars": [..], "loop": samples, "beats_per_bar": n}[/code], its
## lines counted from the loop's first sample. Every function here is pure (no engine
## calls) so tests/test_godot_baked.py can run this very file on the director's vectors.

const GUARD_MS := 1.0
const DUCK_RAMP_MS := 10.0
const STEM_EDGE := 0.1
const FULL_SWEEP_S := 0.5


## The grid of a baked variant (lines inside the loop; a one-shot's length is its last bar line).
static func variant_grid(variant: Dictionary, one_shot: bool, beats_per_bar: int) -> Dictionary:
	var start: int = int(variant["loop_start"])
	var bar_lines: Array = variant["bar_samples"]
	var length: int = int(variant["loop_end"]) - start
	if one_shot and bar_lines.size() > 1:
		length = int(bar_lines[bar_lines.size() - 1])
	return {
		"beats": _inside(variant["beat_samples"], start, length),
		"bars": _inside(bar_lines, start, length),
		"loop": length,
		"beats_per_bar": maxi(1, beats_per_bar),
	}


static func _inside(lines: Array, start: int, length: int) -> Array:
	var out := []
	for line in lines:
		var shifted: int = int(line) - start
		if shifted >= 0 and shifted < length:
			out.append(shifted)
	return out


## Index of the first line >= value (lines sorted).
static func lower_bound(lines: Array, value: int) -> int:
	var low := 0
	var high := lines.size()
	while low < high:
		var mid := (low + high) >> 1
		if lines[mid] < value:
			low = mid + 1
		else:
			high = mid
	return low


## Index of the first line > value.
static func upper_bound(lines: Array, value: int) -> int:
	var low := 0
	var high := lines.size()
	while low < high:
		var mid := (low + high) >> 1
		if lines[mid] <= value:
			low = mid + 1
		else:
			high = mid
	return low


## a // b for b > 0 (rounds towards minus infinity, like Python).
static func floor_div(a: int, b: int) -> int:
	var rest := posmod(a, b)
	@warning_ignore("integer_division")
	return (a - rest) / b


static func _next_line(position: int, lines: Array, period: int, every: int) -> int:
	var loop := floor_div(position, period)
	var inside := position - loop * period
	var number := loop * lines.size() + lower_bound(lines, inside)
	number = -floor_div(-number, every) * every
	var line_loop := floor_div(number, lines.size())
	var index := number - line_loop * lines.size()
	return line_loop * period + int(lines[index])


## First timeline sample at or after [param position] where music may leave (or a stinger
## land): "immediate", "next_beat", "next_bar", "next_phrase", "loop_end". A position
## exactly on a line is that line. -1 for an unknown mode.
static func next_sync_sample(
	position: int, mode: String, grid: Dictionary, phrase_bars: int
) -> int:
	if mode == "immediate":
		return position
	if mode == "next_beat":
		return _next_line(position, grid["beats"], grid["loop"], 1)
	if mode == "next_bar":
		return _next_line(position, grid["bars"], grid["loop"], 1)
	if mode == "next_phrase":
		return _next_line(position, grid["bars"], grid["loop"], maxi(1, phrase_bars))
	if mode == "loop_end":
		return _next_line(position, [0], grid["loop"], 1)
	return -1


static func _beat_length(grid: Dictionary, beat_index: int) -> int:
	var beats: Array = grid["beats"]
	var next: int = int(grid["loop"])
	if beat_index + 1 < beats.size():
		next = int(beats[beat_index + 1])
	return next - int(beats[beat_index])


## Where the target loop enters so it keeps the source's bar and beat; the part of the beat
## already played carries over scaled to the target's beat length (rounded half up).
static func same_position_offset(position: int, source: Dictionary, target: Dictionary) -> int:
	var source_loop: int = source["loop"]
	var source_bars: Array = source["bars"]
	var source_beats: Array = source["beats"]
	var target_bars: Array = target["bars"]
	var target_beats: Array = target["beats"]
	var loop := floor_div(position, source_loop)
	var inside := position - loop * source_loop
	var bar_in_loop := upper_bound(source_bars, inside) - 1
	var beat_index := upper_bound(source_beats, inside) - 1
	var beat_in_bar := beat_index - lower_bound(source_beats, source_bars[bar_in_loop])
	var offset_samples: int = inside - int(source_beats[beat_index])
	var bar := posmod(loop * source_bars.size() + bar_in_loop, target_bars.size())
	var first_beat := lower_bound(target_beats, target_bars[bar])
	var last_beat := target_beats.size()
	if bar + 1 < target_bars.size():
		last_beat = lower_bound(target_beats, target_bars[bar + 1])
	var target_beat := first_beat + posmod(beat_in_bar, maxi(1, last_beat - first_beat))
	var source_length := _beat_length(source, beat_index)
	var target_length := _beat_length(target, target_beat)
	var carried := floor_div(2 * offset_samples * target_length + source_length, 2 * source_length)
	return posmod(int(target_beats[target_beat]) + carried, int(target["loop"]))


## n / d rounded half to even (d > 0), in integers.
static func div_round_even(n: int, d: int) -> int:
	var q := floor_div(n, d)
	var twice := 2 * (n - q * d)
	if twice > d or (twice == d and posmod(q, 2) == 1):
		return q + 1
	return q


## A decimal written with up to 3 places (a bpm, a fade length) as thousandths.
static func milli(value: float) -> int:
	return roundi(value * 1000.0)


## A fade length in samples at the outgoing music's tempo, rounded half to even like the
## director's exact rational arithmetic. unit: "beats", "bars" or "seconds".
static func fade_samples(
	value: float, unit: String, bpm: float, beats_per_bar: int, rate: int
) -> int:
	if unit == "seconds":
		return div_round_even(milli(value) * rate, 1000)
	var beats_milli := milli(value)
	if unit == "bars":
		beats_milli *= beats_per_bar
	return div_round_even(beats_milli * 60 * rate, milli(bpm))


## The 1 ms guard fade that stands in for a hard cut.
static func guard_samples(rate: int) -> int:
	return maxi(1, roundi(GUARD_MS * rate / 1000.0))


## Gain of sample [param sample] under an equal-power fade of [param length] samples starting
## at [param start]: sin(pi/2 (k+1)/n) rising, sin(pi/2 (n-1-k)/n) falling.
static func fade_gain(sample: int, start: int, length: int, rising: bool) -> float:
	var k := sample - start
	if k < 0:
		return 0.0 if rising else 1.0
	if k >= length:
		return 1.0 if rising else 0.0
	if rising:
		return sin(0.5 * PI * (k + 1) / length)
	return sin(0.5 * PI * (length - 1 - k) / length)


## Music gain at [param sample] under one stinger's duck: a linear ramp of [param ramp]
## samples down to [param depth] from [param at], held to [param hold_end], ramped back up.
static func duck_gain(sample: int, at: int, hold_end: int, depth: float, ramp: int) -> float:
	var release := maxi(at + ramp, hold_end)
	if sample < at or sample >= release + ramp:
		return 1.0
	if sample < at + ramp:
		if sample == at + ramp - 1:
			return depth
		return 1.0 + (depth - 1.0) * (sample - at + 1) / ramp
	if sample < release:
		return depth
	if sample == release + ramp - 1:
		return 1.0
	return depth + (1.0 - depth) * (sample - release + 1) / ramp


## Music gain at [param sample] under every duck in [param ducks] (each
## [code][at, hold_end, depth][/code]): the product, like the director.
static func ducks_gain(sample: int, ducks: Array, ramp: int) -> float:
	var gain := 1.0
	for duck in ducks:
		gain *= duck_gain(sample, int(duck[0]), int(duck[1]), float(duck[2]), ramp)
	return gain


static func db_to_gain(db: float) -> float:
	return pow(10.0, db / 20.0)


## Gain of a stem active on [low, high) at an intensity (linear edges STEM_EDGE wide).
static func stem_gain(intensity: float, low: float, high: float) -> float:
	var gain := 1.0
	if low > 0.0:
		gain = minf(gain, clampf((intensity - low) / STEM_EDGE + 0.5, 0.0, 1.0))
	if high < 1.0:
		gain = minf(gain, clampf((high - intensity) / STEM_EDGE + 0.5, 0.0, 1.0))
	return gain


## The smoothed intensity [param elapsed] samples after it started moving from [param from]
## towards [param to] at [param step] per sample (a bounded slope, like the director).
static func intensity_at(elapsed: int, from: float, to: float, step: float) -> float:
	var moved := step * maxi(0, elapsed)
	if to >= from:
		return minf(from + moved, to)
	return maxf(from - moved, to)


## The per-sample slope of a full 0 -> 1 sweep in FULL_SWEEP_S.
static func intensity_step(rate: int) -> float:
	return 1.0 / (FULL_SWEEP_S * rate)
