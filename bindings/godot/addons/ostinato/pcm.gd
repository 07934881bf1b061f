class_name OstinatoPcm
extends RefCounted
## Converts PCM stream blocks to the PackedVector2Array that
## AudioStreamGeneratorPlayback.push_buffer takes, a whole block at once.
##
## float32 ("f32") blocks are interleaved little-endian stereo, which is
## exactly the memory layout of a PackedVector2Array in a standard (single
## precision) Godot build: prefixing the bytes with a Variant header lets
## bytes_to_var() build the array natively, with no per-sample GDScript.
## int16 ("s16") blocks and double-precision builds take a per-frame loop.


## A block of [param frames] stereo frames as a PackedVector2Array.
static func to_frames(data: PackedByteArray, format: String, frames: int) -> PackedVector2Array:
	if format == "f32" and data.size() == frames * 8:
		var bulk := bulk_f32(data, frames)
		if bulk.size() == frames:
			return bulk
		return loop_f32(data, frames)
	if format == "s16" and data.size() == frames * 4:
		return loop_s16(data, frames)
	push_error("OstinatoPcm: block of %d bytes is not %d %s frames" % [data.size(), frames, format])
	return PackedVector2Array()


## The bulk path: Variant header (type, count) + raw float32 pairs -> bytes_to_var.
static func bulk_f32(data: PackedByteArray, frames: int) -> PackedVector2Array:
	var encoded := PackedByteArray()
	encoded.resize(8)
	encoded.encode_u32(0, TYPE_PACKED_VECTOR2_ARRAY)
	encoded.encode_u32(4, frames)
	encoded.append_array(data)
	var value: Variant = bytes_to_var(encoded)
	if value is PackedVector2Array:
		return value
	return PackedVector2Array()


## The per-frame path for float32 (used when the bulk path is unavailable).
static func loop_f32(data: PackedByteArray, frames: int) -> PackedVector2Array:
	var samples := data.to_float32_array()
	var out := PackedVector2Array()
	out.resize(frames)
	for i in frames:
		out[i] = Vector2(samples[2 * i], samples[2 * i + 1])
	return out


## int16 little-endian stereo, scaled by 1/32767 like the service's encoder.
static func loop_s16(data: PackedByteArray, frames: int) -> PackedVector2Array:
	var out := PackedVector2Array()
	out.resize(frames)
	for i in frames:
		var left := data.decode_s16(4 * i) / 32767.0
		var right := data.decode_s16(4 * i + 2) / 32767.0
		out[i] = Vector2(left, right)
	return out
