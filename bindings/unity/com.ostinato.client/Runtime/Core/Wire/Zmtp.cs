// ZMTP 3.1 wire format (https://rfc.zeromq.org/spec/37/): greeting, NULL
// mechanism handshake commands, frame headers, PING/PONG. Pure functions over
// byte arrays so they can be checked against the shared byte vectors.
using System;
using System.Collections.Generic;
using System.Text;

namespace Ostinato.Client.Wire
{
    /// <summary>Raised on a ZMTP protocol violation or a lost connection.</summary>
    public sealed class ZmtpException : Exception
    {
        public ZmtpException(string message) : base(message) { }
        public ZmtpException(string message, Exception inner) : base(message, inner) { }
    }

    public static class Zmtp
    {
        public const int GreetingLength = 64;
        public const byte FlagMore = 0x01;
        public const byte FlagLong = 0x02;
        public const byte FlagCommand = 0x04;
        public const byte VersionMajor = 3;
        public const byte VersionMinor = 1;

        /// <summary>The 64-byte greeting of a ZMTP 3.1 peer using the NULL mechanism.</summary>
        public static byte[] Greeting(bool asServer = false)
        {
            var greeting = new byte[GreetingLength];
            greeting[0] = 0xff;
            greeting[9] = 0x7f;
            greeting[10] = VersionMajor;
            greeting[11] = VersionMinor;
            byte[] mechanism = Encoding.ASCII.GetBytes("NULL");
            Buffer.BlockCopy(mechanism, 0, greeting, 12, mechanism.Length);
            greeting[32] = asServer ? (byte)1 : (byte)0;
            return greeting;
        }

        /// <summary>Checks a peer greeting; returns its (major, minor) version.</summary>
        public static Tuple<int, int> CheckGreeting(byte[] greeting)
        {
            if (greeting.Length != GreetingLength) throw new ZmtpException("greeting must be 64 bytes");
            if (greeting[0] != 0xff || greeting[9] != 0x7f)
                throw new ZmtpException("peer did not send a ZMTP signature");
            if (greeting[10] < 3) throw new ZmtpException("peer speaks ZMTP " + greeting[10] + ".x; 3.x is required");
            string mechanism = Encoding.ASCII.GetString(greeting, 12, 20).TrimEnd('\0');
            if (mechanism != "NULL")
                throw new ZmtpException("peer asks for security mechanism " + mechanism + "; only NULL is supported");
            return Tuple.Create((int)greeting[10], (int)greeting[11]);
        }

        /// <summary>Header bytes (flags + size) for a frame with a body of <paramref name="size"/> bytes.</summary>
        public static byte[] FrameHeader(long size, bool more, bool command)
        {
            byte flags = 0;
            if (more) flags |= FlagMore;
            if (command) flags |= FlagCommand;
            if (size <= 255) return new[] { flags, (byte)size };
            var header = new byte[9];
            header[0] = (byte)(flags | FlagLong);
            for (int i = 0; i < 8; i++) header[1 + i] = (byte)(size >> (56 - 8 * i));
            return header;
        }

        /// <summary>A whole frame: header followed by body.</summary>
        public static byte[] Frame(byte[] body, bool more, bool command = false)
        {
            byte[] header = FrameHeader(body.Length, more, command);
            var frame = new byte[header.Length + body.Length];
            Buffer.BlockCopy(header, 0, frame, 0, header.Length);
            Buffer.BlockCopy(body, 0, frame, header.Length, body.Length);
            return frame;
        }

        /// <summary>Command body: name length, name, data.</summary>
        public static byte[] CommandBody(string name, byte[] data)
        {
            byte[] nameBytes = Encoding.ASCII.GetBytes(name);
            if (nameBytes.Length > 255) throw new ArgumentException("command name too long", "name");
            var body = new byte[1 + nameBytes.Length + data.Length];
            body[0] = (byte)nameBytes.Length;
            Buffer.BlockCopy(nameBytes, 0, body, 1, nameBytes.Length);
            Buffer.BlockCopy(data, 0, body, 1 + nameBytes.Length, data.Length);
            return body;
        }

        /// <summary>The READY command frame announcing our socket type (and identity, if any).</summary>
        public static byte[] ReadyCommand(string socketType, byte[] identity = null)
        {
            var properties = new List<KeyValuePair<string, byte[]>>
            {
                new KeyValuePair<string, byte[]>("Socket-Type", Encoding.ASCII.GetBytes(socketType)),
            };
            if (identity != null && identity.Length > 0)
                properties.Add(new KeyValuePair<string, byte[]>("Identity", identity));
            return Frame(CommandBody("READY", EncodeProperties(properties)), false, true);
        }

        public static byte[] EncodeProperties(IList<KeyValuePair<string, byte[]>> properties)
        {
            var bytes = new List<byte>();
            foreach (var property in properties)
            {
                byte[] name = Encoding.ASCII.GetBytes(property.Key);
                bytes.Add((byte)name.Length);
                bytes.AddRange(name);
                int n = property.Value.Length;
                bytes.Add((byte)(n >> 24)); bytes.Add((byte)(n >> 16)); bytes.Add((byte)(n >> 8)); bytes.Add((byte)n);
                bytes.AddRange(property.Value);
            }
            return bytes.ToArray();
        }

        /// <summary>Parses READY metadata (property names are case-insensitive).</summary>
        public static Dictionary<string, byte[]> ParseProperties(byte[] data, int offset, int count)
        {
            var result = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
            int pos = offset, end = offset + count;
            while (pos < end)
            {
                int nameLength = data[pos++];
                if (end - pos < nameLength + 4) throw new ZmtpException("malformed READY metadata");
                string name = Encoding.ASCII.GetString(data, pos, nameLength);
                pos += nameLength;
                long valueLength = ((long)data[pos] << 24) | ((long)data[pos + 1] << 16) | ((long)data[pos + 2] << 8) | data[pos + 3];
                pos += 4;
                if (end - pos < valueLength) throw new ZmtpException("malformed READY metadata");
                var value = new byte[valueLength];
                Buffer.BlockCopy(data, pos, value, 0, (int)valueLength);
                pos += (int)valueLength;
                result[name] = value;
            }
            return result;
        }

        /// <summary>PING command frame (ZMTP 3.1): TTL in deciseconds and up to 16 bytes of context.</summary>
        public static byte[] PingCommand(ushort ttlDeciseconds, byte[] context)
        {
            if (context.Length > 16) throw new ArgumentException("PING context is at most 16 bytes", "context");
            var data = new byte[2 + context.Length];
            data[0] = (byte)(ttlDeciseconds >> 8);
            data[1] = (byte)ttlDeciseconds;
            Buffer.BlockCopy(context, 0, data, 2, context.Length);
            return Frame(CommandBody("PING", data), false, true);
        }

        /// <summary>PONG command frame echoing a PING's context.</summary>
        public static byte[] PongCommand(byte[] context)
        {
            return Frame(CommandBody("PONG", context), false, true);
        }

        /// <summary>A SUB socket's subscription message (0x01 + prefix), understood by every ZMTP 3.x PUB.</summary>
        public static byte[] SubscribeFrame(byte[] prefix)
        {
            var body = new byte[1 + prefix.Length];
            body[0] = 1;
            Buffer.BlockCopy(prefix, 0, body, 1, prefix.Length);
            return Frame(body, false);
        }

        /// <summary>Whether a peer of type <paramref name="peer"/> may talk to our <paramref name="ours"/>.</summary>
        public static bool Compatible(string ours, string peer)
        {
            switch (ours)
            {
                case "DEALER": return peer == "ROUTER" || peer == "DEALER" || peer == "REP";
                case "SUB": return peer == "PUB" || peer == "XPUB";
                case "REQ": return peer == "REP" || peer == "ROUTER";
                default: return false;
            }
        }
    }
}
