class_name OstinatoMsgPack
extends RefCounted
## MessagePack codec for the Ostinato wire protocol (docs/protocol.md).
##
## Values map to null, bool, int, float, String, PackedByteArray, Array and
## Dictionary. Encoding picks the smallest representation, the same bytes
## Python's msgpack writes (ints minimal, floats as float64, text as str,
## bytes as bin, dictionary keys in insertion order). Decoding never trusts a
## length it has not checked; malformed input sets [member error].

const MAX_DEPTH := 64

## Empty after a successful decode, else what was wrong.
var error := ""

var _data := PackedByteArray()
var _pos := 0


## Encodes [param value]; unsupported types (Object, Vector2...) raise a script error.
static func encode(value: Variant) -> PackedByteArray:
	var out := PackedByteArray()
	_write(out, value)
	return out


## Decodes one value spanning all of [param data]; check [member error] afterwards.
func decode(data: PackedByteArray) -> Variant:
	_data = data
	_pos = 0
	error = ""
	var value: Variant = _read(0)
	if error == "" and _pos != _data.size():
		error = "trailing bytes after MessagePack value: %d" % (_data.size() - _pos)
	if error != "":
		return null
	return value


static func _write(out: PackedByteArray, value: Variant) -> void:
	match typeof(value):
		TYPE_NIL:
			out.append(0xc0)
		TYPE_BOOL:
			out.append(0xc3 if value else 0xc2)
		TYPE_INT:
			_write_int(out, value)
		TYPE_FLOAT:
			out.append(0xcb)
			var bytes := PackedByteArray()
			bytes.resize(8)
			bytes.encode_double(0, value)
			bytes.reverse()
			out.append_array(bytes)
		TYPE_STRING, TYPE_STRING_NAME:
			var utf8: PackedByteArray = String(value).to_utf8_buffer()
			_write_head(out, utf8.size(), 0xa0, 32, [0xd9, 0xda, 0xdb])
			out.append_array(utf8)
		TYPE_PACKED_BYTE_ARRAY:
			_write_head(out, value.size(), 0, 0, [0xc4, 0xc5, 0xc6])
			out.append_array(value)
		TYPE_ARRAY:
			_write_head(out, value.size(), 0x90, 16, [-1, 0xdc, 0xdd])
			for item in value:
				_write(out, item)
		TYPE_DICTIONARY:
			_write_head(out, value.size(), 0x80, 16, [-1, 0xde, 0xdf])
			for key in value:
				_write(out, key)
				_write(out, value[key])
		_:
			push_error("OstinatoMsgPack cannot encode type %s" % type_string(typeof(value)))


## Writes a length header: a fix-form below [param fix_limit], else 8/16/32-bit forms.
static func _write_head(
	out: PackedByteArray, n: int, fix_code: int, fix_limit: int, codes: Array
) -> void:
	if n < fix_limit:
		out.append(fix_code | n)
	elif n <= 0xff and codes[0] >= 0:
		out.append(codes[0])
		out.append(n)
	elif n <= 0xffff:
		out.append(codes[1])
		_append_be(out, n, 2)
	else:
		out.append(codes[2])
		_append_be(out, n, 4)


static func _write_int(out: PackedByteArray, n: int) -> void:
	if n >= 0:
		if n < 0x80:
			out.append(n)
		elif n <= 0xff:
			out.append(0xcc)
			out.append(n)
		elif n <= 0xffff:
			out.append(0xcd)
			_append_be(out, n, 2)
		elif n <= 0xffffffff:
			out.append(0xce)
			_append_be(out, n, 4)
		else:
			out.append(0xcf)
			_append_be(out, n, 8)
	elif n >= -32:
		out.append(n & 0xff)
	elif n >= -128:
		out.append(0xd0)
		out.append(n & 0xff)
	elif n >= -32768:
		out.append(0xd1)
		_append_be(out, n, 2)
	elif n >= -2147483648:
		out.append(0xd2)
		_append_be(out, n, 4)
	else:
		out.append(0xd3)
		_append_be(out, n, 8)


static func _append_be(out: PackedByteArray, n: int, byte_count: int) -> void:
	for i in range(byte_count - 1, -1, -1):
		out.append((n >> (8 * i)) & 0xff)


func _fail(message: String) -> Variant:
	if error == "":
		error = message
	_pos = _data.size()
	return null


func _read(depth: int) -> Variant:
	if depth > MAX_DEPTH:
		return _fail("MessagePack nesting deeper than %d" % MAX_DEPTH)
	if _pos >= _data.size():
		return _fail("truncated MessagePack value")
	var code: int = _data[_pos]
	_pos += 1
	var value: Variant
	if code <= 0x7f:
		value = code
	elif code >= 0xe0:
		value = code - 0x100
	elif (code & 0xe0) == 0xa0:
		value = _read_str(code & 0x1f)
	elif (code & 0xf0) == 0x90:
		value = _read_array(code & 0x0f, depth)
	elif (code & 0xf0) == 0x80:
		value = _read_map(code & 0x0f, depth)
	else:
		value = _read_typed(code, depth)
	return value


func _read_typed(code: int, depth: int) -> Variant:
	var value: Variant = null
	match code:
		0xc0:
			value = null
		0xc2:
			value = false
		0xc3:
			value = true
		0xc4, 0xc5, 0xc6:
			value = _read_bin(_read_uint(1 << (code - 0xc4)))
		0xca:
			value = _read_float(4)
		0xcb:
			value = _read_float(8)
		0xcc, 0xcd, 0xce, 0xcf:
			value = _read_uint(1 << (code - 0xcc))
		0xd0, 0xd1, 0xd2, 0xd3:
			value = _read_sint(1 << (code - 0xd0))
		0xd9, 0xda, 0xdb:
			value = _read_str(_read_uint(1 << (code - 0xd9)))
		0xdc, 0xdd:
			value = _read_array(_read_uint(2 << (code - 0xdc)), depth)
		0xde, 0xdf:
			value = _read_map(_read_uint(2 << (code - 0xde)), depth)
		_:
			value = _fail("unsupported MessagePack type byte 0x%02x" % code)
	return value


func _need(n: int) -> bool:
	if n < 0 or _data.size() - _pos < n:
		_fail("truncated MessagePack value")
		return false
	return true


func _read_uint(byte_count: int) -> int:
	if not _need(byte_count):
		return 0
	var n := 0
	for i in byte_count:
		n = (n << 8) | _data[_pos + i]
	_pos += byte_count
	return n


func _read_sint(byte_count: int) -> int:
	var n := _read_uint(byte_count)
	var bits := 8 * byte_count
	if bits < 64 and n >= (1 << (bits - 1)):
		n -= 1 << bits
	return n


func _read_float(byte_count: int) -> float:
	if not _need(byte_count):
		return 0.0
	var bytes := _data.slice(_pos, _pos + byte_count)
	bytes.reverse()
	_pos += byte_count
	return bytes.decode_float(0) if byte_count == 4 else bytes.decode_double(0)


func _read_bin(n: int) -> PackedByteArray:
	if not _need(n):
		return PackedByteArray()
	var bytes := _data.slice(_pos, _pos + n)
	_pos += n
	return bytes


func _read_str(n: int) -> String:
	return _read_bin(n).get_string_from_utf8()


func _read_array(n: int, depth: int) -> Array:
	var items := []
	if not _need(n):  # every element takes at least one byte
		return items
	for i in n:
		items.append(_read(depth + 1))
	return items


func _read_map(n: int, depth: int) -> Dictionary:
	var map := {}
	if not _need(2 * n):
		return map
	for i in n:
		var key: Variant = _read(depth + 1)
		map[key] = _read(depth + 1)
	return map
