// MessagePack codec for the Ostinato wire protocol.
// Plain C# (.NET Standard 2.1, no UnityEngine): values map to
// null, bool, long (ulong above long.MaxValue), double, string, byte[],
// List<object> and Dictionary<string, object>. Encoding picks the smallest
// representation, the same bytes Python's msgpack (use_bin_type=True) writes.
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Ostinato.Client.Wire
{
    /// <summary>Raised on malformed or unsupported MessagePack input.</summary>
    public sealed class MsgPackException : Exception
    {
        public MsgPackException(string message) : base(message) { }
    }

    /// <summary>A MessagePack extension value (type code + raw payload).</summary>
    public sealed class MsgPackExt
    {
        public readonly sbyte Type;
        public readonly byte[] Data;
        public MsgPackExt(sbyte type, byte[] data) { Type = type; Data = data; }
    }

    public static class MsgPack
    {
        /// <summary>Maximum nesting depth accepted by the decoder.</summary>
        public const int MaxDepth = 64;

        public static byte[] Encode(object value)
        {
            var stream = new MemoryStream();
            Write(stream, value);
            return stream.ToArray();
        }

        public static object Decode(byte[] data)
        {
            return Decode(data, 0, data.Length);
        }

        public static object Decode(byte[] data, int offset, int count)
        {
            int position = offset;
            int end = offset + count;
            object value = ReadValue(data, ref position, end, 0);
            if (position != end)
                throw new MsgPackException("trailing bytes after MessagePack value: " + (end - position));
            return value;
        }

        // ---------------------------------------------------------------- writing

        public static void Write(Stream stream, object value)
        {
            if (value == null) { stream.WriteByte(0xc0); return; }
            if (value is bool) { stream.WriteByte((bool)value ? (byte)0xc3 : (byte)0xc2); return; }
            if (value is string) { WriteString(stream, (string)value); return; }
            var bytes = value as byte[];
            if (bytes != null) { WriteBinary(stream, bytes, 0, bytes.Length); return; }
            if (value is ArraySegment<byte>)
            {
                var segment = (ArraySegment<byte>)value;
                WriteBinary(stream, segment.Array, segment.Offset, segment.Count);
                return;
            }
            if (value is double) { stream.WriteByte(0xcb); WriteBigEndian(stream, BitConverter.DoubleToInt64Bits((double)value), 8); return; }
            if (value is float) { stream.WriteByte(0xca); WriteBigEndian(stream, SingleToBits((float)value), 4); return; }
            if (value is ulong) { WriteUnsigned(stream, (ulong)value); return; }
            if (value is uint) { WriteUnsigned(stream, (uint)value); return; }
            if (value is ushort) { WriteUnsigned(stream, (ushort)value); return; }
            if (value is byte) { WriteUnsigned(stream, (byte)value); return; }
            if (value is long) { WriteInteger(stream, (long)value); return; }
            if (value is int) { WriteInteger(stream, (int)value); return; }
            if (value is short) { WriteInteger(stream, (short)value); return; }
            if (value is sbyte) { WriteInteger(stream, (sbyte)value); return; }
            var ext = value as MsgPackExt;
            if (ext != null) { WriteExt(stream, ext); return; }
            var map = value as IDictionary;
            if (map != null) { WriteMap(stream, map); return; }
            var list = value as IList;
            if (list != null) { WriteArray(stream, list); return; }
            throw new MsgPackException("cannot encode a value of type " + value.GetType().Name);
        }

        private static void WriteInteger(Stream stream, long value)
        {
            if (value >= 0) { WriteUnsigned(stream, (ulong)value); return; }
            if (value >= -32) { stream.WriteByte((byte)(sbyte)value); return; }
            if (value >= sbyte.MinValue) { stream.WriteByte(0xd0); stream.WriteByte((byte)(sbyte)value); return; }
            if (value >= short.MinValue) { stream.WriteByte(0xd1); WriteBigEndian(stream, value, 2); return; }
            if (value >= int.MinValue) { stream.WriteByte(0xd2); WriteBigEndian(stream, value, 4); return; }
            stream.WriteByte(0xd3); WriteBigEndian(stream, value, 8);
        }

        private static void WriteUnsigned(Stream stream, ulong value)
        {
            if (value < 0x80) { stream.WriteByte((byte)value); return; }
            if (value <= byte.MaxValue) { stream.WriteByte(0xcc); stream.WriteByte((byte)value); return; }
            if (value <= ushort.MaxValue) { stream.WriteByte(0xcd); WriteBigEndian(stream, (long)value, 2); return; }
            if (value <= uint.MaxValue) { stream.WriteByte(0xce); WriteBigEndian(stream, (long)value, 4); return; }
            stream.WriteByte(0xcf); WriteBigEndian(stream, unchecked((long)value), 8);
        }

        private static void WriteString(Stream stream, string value)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(value);
            int n = utf8.Length;
            if (n < 32) stream.WriteByte((byte)(0xa0 | n));
            else if (n <= byte.MaxValue) { stream.WriteByte(0xd9); stream.WriteByte((byte)n); }
            else if (n <= ushort.MaxValue) { stream.WriteByte(0xda); WriteBigEndian(stream, n, 2); }
            else { stream.WriteByte(0xdb); WriteBigEndian(stream, n, 4); }
            stream.Write(utf8, 0, n);
        }

        private static void WriteBinary(Stream stream, byte[] data, int offset, int n)
        {
            if (n <= byte.MaxValue) { stream.WriteByte(0xc4); stream.WriteByte((byte)n); }
            else if (n <= ushort.MaxValue) { stream.WriteByte(0xc5); WriteBigEndian(stream, n, 2); }
            else { stream.WriteByte(0xc6); WriteBigEndian(stream, n, 4); }
            stream.Write(data, offset, n);
        }

        private static void WriteExt(Stream stream, MsgPackExt ext)
        {
            int n = ext.Data.Length;
            switch (n)
            {
                case 1: stream.WriteByte(0xd4); break;
                case 2: stream.WriteByte(0xd5); break;
                case 4: stream.WriteByte(0xd6); break;
                case 8: stream.WriteByte(0xd7); break;
                case 16: stream.WriteByte(0xd8); break;
                default:
                    if (n <= byte.MaxValue) { stream.WriteByte(0xc7); stream.WriteByte((byte)n); }
                    else if (n <= ushort.MaxValue) { stream.WriteByte(0xc8); WriteBigEndian(stream, n, 2); }
                    else { stream.WriteByte(0xc9); WriteBigEndian(stream, n, 4); }
                    break;
            }
            stream.WriteByte((byte)ext.Type);
            stream.Write(ext.Data, 0, n);
        }

        private static void WriteArray(Stream stream, IList list)
        {
            int n = list.Count;
            if (n < 16) stream.WriteByte((byte)(0x90 | n));
            else if (n <= ushort.MaxValue) { stream.WriteByte(0xdc); WriteBigEndian(stream, n, 2); }
            else { stream.WriteByte(0xdd); WriteBigEndian(stream, n, 4); }
            foreach (object item in list) Write(stream, item);
        }

        private static void WriteMap(Stream stream, IDictionary map)
        {
            int n = map.Count;
            if (n < 16) stream.WriteByte((byte)(0x80 | n));
            else if (n <= ushort.MaxValue) { stream.WriteByte(0xde); WriteBigEndian(stream, n, 2); }
            else { stream.WriteByte(0xdf); WriteBigEndian(stream, n, 4); }
            foreach (DictionaryEntry entry in map)
            {
                Write(stream, entry.Key);
                Write(stream, entry.Value);
            }
        }

        private static void WriteBigEndian(Stream stream, long value, int byteCount)
        {
            for (int shift = (byteCount - 1) * 8; shift >= 0; shift -= 8)
                stream.WriteByte((byte)(value >> shift));
        }

        private static long SingleToBits(float value)
        {
            return BitConverter.ToUInt32(BitConverter.GetBytes(value), 0);
        }

        // ---------------------------------------------------------------- reading

        private static object ReadValue(byte[] data, ref int pos, int end, int depth)
        {
            if (depth > MaxDepth) throw new MsgPackException("MessagePack nesting deeper than " + MaxDepth);
            byte code = ReadByte(data, ref pos, end);
            if (code <= 0x7f) return (long)code;
            if (code >= 0xe0) return (long)(sbyte)code;
            if ((code & 0xe0) == 0xa0) return ReadString(data, ref pos, end, code & 0x1f);
            if ((code & 0xf0) == 0x90) return ReadArray(data, ref pos, end, code & 0x0f, depth);
            if ((code & 0xf0) == 0x80) return ReadMap(data, ref pos, end, code & 0x0f, depth);
            switch (code)
            {
                case 0xc0: return null;
                case 0xc2: return false;
                case 0xc3: return true;
                case 0xc4: return ReadBytes(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 1));
                case 0xc5: return ReadBytes(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 2));
                case 0xc6: return ReadBytes(data, ref pos, end, Length(ReadUnsigned(data, ref pos, end, 4)));
                case 0xc7: return ReadExt(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 1));
                case 0xc8: return ReadExt(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 2));
                case 0xc9: return ReadExt(data, ref pos, end, Length(ReadUnsigned(data, ref pos, end, 4)));
                case 0xca: return (double)BitsToSingle((uint)ReadUnsigned(data, ref pos, end, 4));
                case 0xcb: return BitConverter.Int64BitsToDouble(unchecked((long)ReadUnsigned(data, ref pos, end, 8)));
                case 0xcc: return (long)ReadUnsigned(data, ref pos, end, 1);
                case 0xcd: return (long)ReadUnsigned(data, ref pos, end, 2);
                case 0xce: return (long)ReadUnsigned(data, ref pos, end, 4);
                case 0xcf:
                    {
                        ulong u = ReadUnsigned(data, ref pos, end, 8);
                        if (u <= long.MaxValue) return (long)u;
                        return u;
                    }
                case 0xd0: return (long)(sbyte)ReadUnsigned(data, ref pos, end, 1);
                case 0xd1: return (long)(short)ReadUnsigned(data, ref pos, end, 2);
                case 0xd2: return (long)(int)ReadUnsigned(data, ref pos, end, 4);
                case 0xd3: return unchecked((long)ReadUnsigned(data, ref pos, end, 8));
                case 0xd4: return ReadExt(data, ref pos, end, 1);
                case 0xd5: return ReadExt(data, ref pos, end, 2);
                case 0xd6: return ReadExt(data, ref pos, end, 4);
                case 0xd7: return ReadExt(data, ref pos, end, 8);
                case 0xd8: return ReadExt(data, ref pos, end, 16);
                case 0xd9: return ReadString(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 1));
                case 0xda: return ReadString(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 2));
                case 0xdb: return ReadString(data, ref pos, end, Length(ReadUnsigned(data, ref pos, end, 4)));
                case 0xdc: return ReadArray(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 2), depth);
                case 0xdd: return ReadArray(data, ref pos, end, Length(ReadUnsigned(data, ref pos, end, 4)), depth);
                case 0xde: return ReadMap(data, ref pos, end, (int)ReadUnsigned(data, ref pos, end, 2), depth);
                case 0xdf: return ReadMap(data, ref pos, end, Length(ReadUnsigned(data, ref pos, end, 4)), depth);
            }
            throw new MsgPackException("invalid MessagePack type byte 0x" + code.ToString("x2"));
        }

        private static int Length(ulong n)
        {
            if (n > int.MaxValue) throw new MsgPackException("MessagePack length too large: " + n);
            return (int)n;
        }

        private static byte ReadByte(byte[] data, ref int pos, int end)
        {
            if (pos >= end) throw new MsgPackException("truncated MessagePack value");
            return data[pos++];
        }

        private static ulong ReadUnsigned(byte[] data, ref int pos, int end, int byteCount)
        {
            if (end - pos < byteCount) throw new MsgPackException("truncated MessagePack value");
            ulong value = 0;
            for (int i = 0; i < byteCount; i++) value = (value << 8) | data[pos++];
            return value;
        }

        private static byte[] ReadBytes(byte[] data, ref int pos, int end, int n)
        {
            if (end - pos < n) throw new MsgPackException("truncated MessagePack value");
            var result = new byte[n];
            Buffer.BlockCopy(data, pos, result, 0, n);
            pos += n;
            return result;
        }

        private static string ReadString(byte[] data, ref int pos, int end, int n)
        {
            if (end - pos < n) throw new MsgPackException("truncated MessagePack string");
            string s = Encoding.UTF8.GetString(data, pos, n);
            pos += n;
            return s;
        }

        private static MsgPackExt ReadExt(byte[] data, ref int pos, int end, int n)
        {
            sbyte type = (sbyte)ReadByte(data, ref pos, end);
            return new MsgPackExt(type, ReadBytes(data, ref pos, end, n));
        }

        private static List<object> ReadArray(byte[] data, ref int pos, int end, int n, int depth)
        {
            if (n > end - pos) throw new MsgPackException("truncated MessagePack array");
            var list = new List<object>(n);
            for (int i = 0; i < n; i++) list.Add(ReadValue(data, ref pos, end, depth + 1));
            return list;
        }

        private static Dictionary<string, object> ReadMap(byte[] data, ref int pos, int end, int n, int depth)
        {
            if (n > end - pos) throw new MsgPackException("truncated MessagePack map");
            var map = new Dictionary<string, object>(n);
            for (int i = 0; i < n; i++)
            {
                object key = ReadValue(data, ref pos, end, depth + 1);
                var name = key as string;
                if (name == null) throw new MsgPackException("MessagePack map key is not a string");
                map[name] = ReadValue(data, ref pos, end, depth + 1);
            }
            return map;
        }

        private static float BitsToSingle(uint bits)
        {
            byte[] bytes = BitConverter.GetBytes(bits);
            return BitConverter.ToSingle(bytes, 0);
        }
    }
}
