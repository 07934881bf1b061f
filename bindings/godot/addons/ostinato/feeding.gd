@tool
class_name OstinatoFeeding
extends RefCounted
## How much audio OstinatoMusic's AudioStreamGenerator holds, and so the longest frame
## (a hitch) it plays through without an underrun. Pure functions (tested in Python on the
## same code through tests/gdscript_twin.py).


## Frames an AudioStreamGenerator of [param seconds] holds at [param rate]: Godot rounds
## the ring buffer up to a power of two, and a ring keeps one slot free.
static func generator_capacity(rate: int, seconds: float) -> int:
	var wanted := maxi(1, int(rate * seconds))
	var size := 1
	while size < wanted:
		size *= 2
	return size - 1


## The fewest frames queued right after a feed: whole blocks are pushed while one fits, so
## less than a block of space may stay free.
static func fill_after_feed(capacity: int, block: int) -> int:
	return maxi(0, capacity - block + 1)


## The longest frame (seconds between two feeds) the generator plays through.
static func longest_safe_frame(rate: int, seconds: float, block: int) -> float:
	return float(fill_after_feed(generator_capacity(rate, seconds), block)) / rate


## Underruns while feeding once per frame for [param frames] (frame durations, seconds),
## with the stream always having a block ready: a frame longer than what the generator
## holds empties it.
static func count_underruns(rate: int, seconds: float, block: int, frames: Array) -> int:
	var fill := fill_after_feed(generator_capacity(rate, seconds), block)
	var underruns := 0
	for frame in frames:
		if roundi(float(frame) * rate) > fill:
			underruns += 1
	return underruns
