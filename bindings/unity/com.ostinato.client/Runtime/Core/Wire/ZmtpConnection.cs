// One ZMTP 3.1 connection over TCP (NULL mechanism): DEALER or SUB side.
// Sending is thread-safe; receiving belongs to one thread at a time.
// PING from the peer is answered with PONG inside Receive.
using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Ostinato.Client.Wire
{
    public sealed class ZmtpConnection : IDisposable
    {
        /// <summary>Frames larger than this are refused (protects against a corrupt size).</summary>
        public const long MaxFrameBytes = 64L * 1024 * 1024;

        private readonly Socket _socket;
        private readonly object _sendLock = new object();
        private readonly byte[] _in = new byte[64 * 1024];
        private int _inStart;
        private int _inEnd;
        private volatile bool _closed;
        private long _lastPongTicks;

        public string SocketType { get; private set; }
        public string PeerSocketType { get; private set; }
        public int PeerMinorVersion { get; private set; }
        /// <summary>Timeout for reading the rest of a message once its first byte arrived.</summary>
        public int MessageTimeoutMs { get; set; }
        /// <summary>UTC ticks of the last PONG received (0 if none).</summary>
        public long LastPongTicks { get { return Interlocked.Read(ref _lastPongTicks); } }
        public bool IsClosed { get { return _closed; } }

        private ZmtpConnection(Socket socket, string socketType)
        {
            _socket = socket;
            SocketType = socketType;
            MessageTimeoutMs = 10000;
        }

        /// <summary>Parses "tcp://host:port".</summary>
        public static void ParseEndpoint(string endpoint, out string host, out int port)
        {
            const string scheme = "tcp://";
            if (endpoint == null || !endpoint.StartsWith(scheme, StringComparison.Ordinal))
                throw new ArgumentException("endpoint must look like tcp://host:port, got '" + endpoint + "'");
            string rest = endpoint.Substring(scheme.Length);
            int colon = rest.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(rest.Substring(colon + 1), out port) || port <= 0 || port > 65535)
                throw new ArgumentException("endpoint must look like tcp://host:port, got '" + endpoint + "'");
            host = rest.Substring(0, colon).Trim('[', ']');
            if (host == "*" || host == "0.0.0.0") host = "127.0.0.1";
        }

        /// <summary>Connects and completes the ZMTP handshake (greeting + READY both ways).</summary>
        public static ZmtpConnection Connect(string endpoint, string socketType, byte[] identity = null, int timeoutMs = 5000)
        {
            string host;
            int port;
            ParseEndpoint(endpoint, out host, out port);
            var socket = new Socket(SocketType_(host), System.Net.Sockets.SocketType.Stream, ProtocolType.Tcp);
            socket.NoDelay = true;
            var connection = new ZmtpConnection(socket, socketType);
            try
            {
                IAsyncResult pending = socket.BeginConnect(host, port, null, null);
                if (!pending.AsyncWaitHandle.WaitOne(timeoutMs))
                    throw new ZmtpException("timed out connecting to " + endpoint);
                socket.EndConnect(pending);
                connection.Handshake(identity, timeoutMs);
                return connection;
            }
            catch (SocketException e)
            {
                connection.Dispose();
                throw new ZmtpException("cannot connect to " + endpoint + ": " + e.Message, e);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        private static AddressFamily SocketType_(string host)
        {
            return host.Contains(":") ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        }

        private void Handshake(byte[] identity, int timeoutMs)
        {
            SendRaw(Zmtp.Greeting());
            var greeting = new byte[Zmtp.GreetingLength];
            ReadExact(greeting, 0, greeting.Length, timeoutMs);
            PeerMinorVersion = Zmtp.CheckGreeting(greeting).Item2;
            SendRaw(Zmtp.ReadyCommand(SocketType, identity));
            bool command;
            bool more;
            byte[] body = ReadFrame(timeoutMs, out more, out command);
            if (!command) throw new ZmtpException("peer sent data before READY");
            string name = CommandName(body);
            int dataOffset = 1 + body[0];
            if (name == "ERROR")
                throw new ZmtpException("peer refused the connection: " + ErrorReason(body, dataOffset));
            if (name != "READY") throw new ZmtpException("expected READY, got " + name);
            var properties = Zmtp.ParseProperties(body, dataOffset, body.Length - dataOffset);
            byte[] peerType;
            if (!properties.TryGetValue("Socket-Type", out peerType))
                throw new ZmtpException("peer READY has no Socket-Type");
            PeerSocketType = Encoding.ASCII.GetString(peerType);
            if (!Zmtp.Compatible(SocketType, PeerSocketType))
                throw new ZmtpException(SocketType + " cannot talk to a " + PeerSocketType + " socket");
        }

        /// <summary>Sends one multipart message.</summary>
        public void Send(IList<byte[]> frames)
        {
            if (frames.Count == 0) throw new ArgumentException("a message has at least one frame");
            lock (_sendLock)
            {
                for (int i = 0; i < frames.Count; i++)
                {
                    byte[] header = Zmtp.FrameHeader(frames[i].Length, i < frames.Count - 1, false);
                    SendRaw(header);
                    SendRaw(frames[i]);
                }
            }
        }

        /// <summary>Sends a PING; the peer's PONG updates <see cref="LastPongTicks"/>.</summary>
        public void Ping(ushort ttlDeciseconds, byte[] context)
        {
            SendRaw(Zmtp.PingCommand(ttlDeciseconds, context));
        }

        /// <summary>Subscribes a SUB connection to messages starting with <paramref name="prefix"/>.</summary>
        public void Subscribe(byte[] prefix)
        {
            SendRaw(Zmtp.SubscribeFrame(prefix));
        }

        /// <summary>Receives one multipart message, or null if none started within <paramref name="timeoutMs"/>.</summary>
        public List<byte[]> Receive(int timeoutMs)
        {
            long deadline = DateTime.UtcNow.Ticks + (long)timeoutMs * TimeSpan.TicksPerMillisecond;
            while (true)
            {
                int remainingMs = (int)Math.Max(0, (deadline - DateTime.UtcNow.Ticks) / TimeSpan.TicksPerMillisecond);
                if (!WaitReadable(remainingMs)) return null;
                var frames = new List<byte[]>();
                bool more = true;
                while (more)
                {
                    bool command;
                    byte[] body = ReadFrame(MessageTimeoutMs, out more, out command);
                    if (command)
                    {
                        HandleCommand(body);
                        if (frames.Count > 0) throw new ZmtpException("command frame inside a multipart message");
                        more = false;
                        frames = null;
                        continue;
                    }
                    frames.Add(body);
                }
                if (frames != null) return frames;
            }
        }

        private void HandleCommand(byte[] body)
        {
            string name = CommandName(body);
            int dataOffset = 1 + body[0];
            switch (name)
            {
                case "PING":
                    {
                        int contextLength = Math.Max(0, Math.Min(16, body.Length - dataOffset - 2));
                        var context = new byte[contextLength];
                        Buffer.BlockCopy(body, dataOffset + 2, context, 0, contextLength);
                        SendRaw(Zmtp.PongCommand(context));
                        return;
                    }
                case "PONG":
                    Interlocked.Exchange(ref _lastPongTicks, DateTime.UtcNow.Ticks);
                    return;
                case "ERROR":
                    throw new ZmtpException("peer reported an error: " + ErrorReason(body, dataOffset));
                default:
                    return; // unknown commands are ignored, as the spec asks
            }
        }

        private static string CommandName(byte[] body)
        {
            if (body.Length < 1 || body.Length < 1 + body[0]) throw new ZmtpException("malformed command frame");
            return Encoding.ASCII.GetString(body, 1, body[0]);
        }

        private static string ErrorReason(byte[] body, int dataOffset)
        {
            if (body.Length <= dataOffset) return "";
            int n = Math.Min(body[dataOffset], body.Length - dataOffset - 1);
            return Encoding.ASCII.GetString(body, dataOffset + 1, n);
        }

        private byte[] ReadFrame(int timeoutMs, out bool more, out bool command)
        {
            var flags = new byte[1];
            ReadExact(flags, 0, 1, timeoutMs);
            if ((flags[0] & 0xf8) != 0) throw new ZmtpException("reserved frame flag bits set");
            more = (flags[0] & Zmtp.FlagMore) != 0;
            command = (flags[0] & Zmtp.FlagCommand) != 0;
            long size;
            if ((flags[0] & Zmtp.FlagLong) != 0)
            {
                var sizeBytes = new byte[8];
                ReadExact(sizeBytes, 0, 8, timeoutMs);
                size = 0;
                for (int i = 0; i < 8; i++) size = (size << 8) | sizeBytes[i];
                if (size < 0 || size > MaxFrameBytes) throw new ZmtpException("frame of " + size + " bytes refused");
            }
            else
            {
                var sizeByte = new byte[1];
                ReadExact(sizeByte, 0, 1, timeoutMs);
                size = sizeByte[0];
            }
            var body = new byte[size];
            ReadExact(body, 0, (int)size, timeoutMs);
            return body;
        }

        private bool WaitReadable(int timeoutMs)
        {
            if (_inEnd > _inStart) return true;
            try
            {
                return _socket.Poll(Math.Max(0, timeoutMs) * 1000, SelectMode.SelectRead);
            }
            catch (ObjectDisposedException e) { throw new ZmtpException("connection closed", e); }
            catch (SocketException e) { throw new ZmtpException("connection lost: " + e.Message, e); }
        }

        private void ReadExact(byte[] buffer, int offset, int count, int timeoutMs)
        {
            while (count > 0)
            {
                if (_inEnd == _inStart) Fill(timeoutMs);
                int n = Math.Min(count, _inEnd - _inStart);
                Buffer.BlockCopy(_in, _inStart, buffer, offset, n);
                _inStart += n;
                offset += n;
                count -= n;
            }
        }

        private void Fill(int timeoutMs)
        {
            if (_closed) throw new ZmtpException("connection closed");
            try
            {
                if (!_socket.Poll(Math.Max(1, timeoutMs) * 1000, SelectMode.SelectRead))
                    throw new ZmtpException("timed out in the middle of a message");
                int n = _socket.Receive(_in, 0, _in.Length, SocketFlags.None);
                if (n == 0) throw new ZmtpException("connection closed by peer");
                _inStart = 0;
                _inEnd = n;
            }
            catch (ObjectDisposedException e) { throw new ZmtpException("connection closed", e); }
            catch (SocketException e) { throw new ZmtpException("connection lost: " + e.Message, e); }
        }

        private void SendRaw(byte[] bytes)
        {
            if (_closed) throw new ZmtpException("connection closed");
            lock (_sendLock)
            {
                try
                {
                    int sent = 0;
                    while (sent < bytes.Length)
                        sent += _socket.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
                }
                catch (ObjectDisposedException e) { throw new ZmtpException("connection closed", e); }
                catch (SocketException e) { throw new ZmtpException("connection lost: " + e.Message, e); }
            }
        }

        /// <summary>Closes the TCP connection; a thread blocked in Receive gets a ZmtpException.</summary>
        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            _socket.Close();
        }
    }
}
