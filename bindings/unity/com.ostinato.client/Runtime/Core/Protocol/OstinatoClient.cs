// The Ostinato protocol client (docs/protocol.md): a DEALER for requests and the
// PCM stream, a SUB for notifications, credit flow control into a lock-free ring,
// heartbeats, and reconnection with session resume. It owns its threads and
// sockets: Dispose() closes both and joins every thread, so nothing outlives it.
using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Ostinato.Client.Audio;
using Ostinato.Client.Wire;

namespace Ostinato.Client
{
    public sealed class OstinatoClient : IDisposable
    {
        public const int ProtocolVersion = 1;

        private sealed class Pending
        {
            public readonly ManualResetEventSlim Done = new ManualResetEventSlim(false);
            public Dictionary<string, object> Reply;
            public Exception Failure;
            public bool Waited;
        }

        private sealed class StateInfo
        {
            public double Bpm;
            public int Upper = 4;
            public int Lower = 4;
        }

        private readonly OstinatoOptions _options;
        private readonly object _pendingLock = new object();
        private readonly object _creditLock = new object();
        private readonly Dictionary<long, Pending> _pending = new Dictionary<long, Pending>();
        private readonly Dictionary<string, StateInfo> _states = new Dictionary<string, StateInfo>();
        private readonly PlaybackClock _clock = new PlaybackClock();
        private ZmtpConnection _dealer;
        private ZmtpConnection _sub;
        private Thread _dealerThread;
        private Thread _subThread;
        private Thread _supervisorThread;
        private volatile bool _disposed;
        private volatile bool _connected;
        private long _nextId;
        private long _lastSendTicks;
        private float[] _convert = new float[0];

        // stream state (written by the dealer/supervisor threads)
        private volatile bool _streaming;
        private long _streamId = -1;
        private long _nextSeq;
        private long _blocksGranted;
        private long _blocksWritten;
        private int _blockFrames;
        private long _underruns;
        private long _seqGaps;

        public OstinatoClient(OstinatoOptions options)
        {
            _options = options ?? new OstinatoOptions();
            if (_options.BufferBlocks < 1) throw new ArgumentException("BufferBlocks must be at least 1");
            Ring = new PcmRingBuffer((_options.BufferBlocks + 2) * _options.BlockFrames * 2);
        }

        /// <summary>Decoded PCM (interleaved stereo float) waiting to be played.</summary>
        public PcmRingBuffer Ring { get; private set; }
        public string SessionId { get; private set; }
        /// <summary>Secret from the last hello reply; with <see cref="SessionId"/> it resumes the session (the id alone does not).</summary>
        public string ResumeToken { get; private set; }
        public string PubEndpoint { get; private set; }
        public int SampleRate { get; private set; }
        public string State { get; private set; }
        public Dictionary<string, object> HelloResult { get; private set; }
        public Dictionary<string, object> PackInfo { get; private set; }
        public bool IsConnected { get { return _connected; } }
        public bool IsStreaming { get { return _streaming; } }
        public long Underruns { get { return Interlocked.Read(ref _underruns); } }
        /// <summary>Blocks missing from the stream (a gap in seq); 0 on a healthy connection.</summary>
        public long SequenceGaps { get { return Interlocked.Read(ref _seqGaps); } }
        /// <summary>Blocks that entered the ring since the client started.</summary>
        public long BlocksReceived { get { return Interlocked.Read(ref _blocksWritten); } }
        public double HeartbeatSeconds { get; private set; }

        /// <summary>Raised on the network thread for every accepted stream block (before it enters the ring).</summary>
        public event Action<StreamBlock> BlockReceived;

        // ------------------------------------------------------------ lifecycle

        /// <summary>Connects, says hello (resuming <paramref name="resumeSession"/> with its <paramref name="resumeToken"/> if given), subscribes, and starts the client's threads.</summary>
        public Dictionary<string, object> Connect(string resumeSession = null, string resumeToken = null)
        {
            if (_disposed) throw new ObjectDisposedException("OstinatoClient");
            if (_dealerThread != null) throw new InvalidOperationException("already connected");
            if (resumeToken != null) ResumeToken = resumeToken;
            Handshake(resumeSession);
            _dealerThread = StartThread(DealerLoop, "Ostinato DEALER");
            _subThread = StartThread(SubLoop, "Ostinato SUB");
            _supervisorThread = StartThread(SupervisorLoop, "Ostinato credits/heartbeat");
            RefreshStates();
            return HelloResult;
        }

        private static Thread StartThread(ThreadStart body, string name)
        {
            var thread = new Thread(body) { IsBackground = true, Name = name };
            thread.Start();
            return thread;
        }

        private void Handshake(string resumeSession)
        {
            ZmtpConnection dealer = ZmtpConnection.Connect(_options.Endpoint, "DEALER", null, _options.RequestTimeoutMs);
            try
            {
                var body = new Dictionary<string, object>
                {
                    { "versions", new List<object> { (long)ProtocolVersion } },
                    { "client", _options.ClientName },
                    { "capabilities", new List<object> { "pcm." + _options.Format } },
                };
                if (resumeSession != null)
                {
                    body["resume"] = resumeSession;
                    if (ResumeToken != null) body["resume_token"] = ResumeToken;
                }
                if (_options.Pack != null) body["pack"] = _options.Pack;
                Dictionary<string, object> result = DirectRequest(dealer, "hello", body);
                HelloResult = result;
                SessionId = Fields.Str(result, "session");
                ResumeToken = Fields.Str(result, "resume_token");
                PubEndpoint = Fields.Str(result, "pub_endpoint");
                HeartbeatSeconds = Fields.Float(result, "heartbeat_s", 2.0);
                PackInfo = Fields.Map(result, "pack");
                SampleRate = (int)Fields.Int(PackInfo, "sample_rate", 48000);
                State = Fields.Str(result, "state");
                ZmtpConnection old = _dealer;
                _dealer = dealer;
                if (old != null) old.Dispose();
                _connected = true;
                _clock.Enqueue(new MusicEvent
                {
                    Kind = MusicEventKind.Connected, State = State, Resumed = Fields.Bool(result, "resumed"), Body = result,
                });
            }
            catch
            {
                dealer.Dispose();
                throw;
            }
        }

        /// <summary>Request/reply on a connection no thread is reading yet (hello, reconnect).</summary>
        private Dictionary<string, object> DirectRequest(ZmtpConnection connection, string type, Dictionary<string, object> body)
        {
            long id = Interlocked.Increment(ref _nextId);
            connection.Send(new List<byte[]> { Envelope(id, type, body) });
            long deadline = DateTime.UtcNow.Ticks + _options.RequestTimeoutMs * TimeSpan.TicksPerMillisecond;
            while (DateTime.UtcNow.Ticks < deadline)
            {
                List<byte[]> message = connection.Receive(100);
                if (message == null || message.Count != 1) continue; // stray stream blocks are dropped
                var reply = MsgPack.Decode(message[0]) as Dictionary<string, object>;
                if (reply == null || Fields.Int(reply, "id", -1) != id) continue;
                return Unwrap(reply);
            }
            throw new TimeoutException("no reply to " + type + " within " + _options.RequestTimeoutMs + " ms");
        }

        /// <summary>Says bye (best effort), closes both sockets and joins every thread.</summary>
        public void Dispose()
        {
            Close(true);
        }

        /// <summary>
        /// Closes both sockets and joins every thread. With <paramref name="endSession"/> false the
        /// session stays on the service until it expires, so another client can resume it.
        /// </summary>
        public void Close(bool endSession)
        {
            if (_disposed) return;
            if (endSession && _connected && SessionId != null)
            {
                try { Request("bye", null, 1000); } catch (Exception) { /* closing anyway */ }
            }
            _disposed = true;
            _connected = false;
            ZmtpConnection dealer = _dealer, sub = _sub;
            if (dealer != null) dealer.Dispose();
            if (sub != null) sub.Dispose();
            foreach (Thread thread in new[] { _dealerThread, _subThread, _supervisorThread })
                if (thread != null && thread != Thread.CurrentThread) thread.Join(2000);
            FailPending(new ObjectDisposedException("OstinatoClient"));
        }

        // ------------------------------------------------------------ requests

        public static byte[] Envelope(long id, string type, Dictionary<string, object> body)
        {
            var envelope = new Dictionary<string, object>
            {
                { "v", (long)ProtocolVersion }, { "id", id }, { "type", type },
                { "body", body ?? new Dictionary<string, object>() },
            };
            return MsgPack.Encode(envelope);
        }

        private static Dictionary<string, object> Unwrap(Dictionary<string, object> reply)
        {
            if (Fields.Bool(reply, "ok")) return Fields.Map(reply, "result") ?? new Dictionary<string, object>();
            Dictionary<string, object> error = Fields.Map(reply, "error");
            throw new OstinatoProtocolException(
                Fields.Str(error, "code", "internal"), Fields.Str(error, "message", ""), Fields.Map(error, "detail"));
        }

        /// <summary>Sends a request and waits for its result; throws <see cref="OstinatoProtocolException"/> on an error reply.</summary>
        public Dictionary<string, object> Request(string type, Dictionary<string, object> body = null, int timeoutMs = -1)
        {
            Pending pending = Send(type, body, true);
            if (!pending.Done.Wait(timeoutMs < 0 ? _options.RequestTimeoutMs : timeoutMs))
            {
                throw new TimeoutException("no reply to " + type);
            }
            if (pending.Failure != null) throw pending.Failure;
            return Unwrap(pending.Reply);
        }

        private Pending Send(string type, Dictionary<string, object> body, bool waited)
        {
            ZmtpConnection dealer = _dealer;
            if (!_connected || dealer == null) throw new ZmtpException("not connected to the Ostinato service");
            long id = Interlocked.Increment(ref _nextId);
            var pending = new Pending { Waited = waited };
            lock (_pendingLock) _pending[id] = pending;
            try
            {
                dealer.Send(new List<byte[]> { Envelope(id, type, body) });
            }
            catch
            {
                lock (_pendingLock) _pending.Remove(id);
                throw;
            }
            Interlocked.Exchange(ref _lastSendTicks, DateTime.UtcNow.Ticks);
            return pending;
        }

        private void FailPending(Exception failure)
        {
            lock (_pendingLock)
            {
                foreach (Pending pending in _pending.Values)
                {
                    pending.Failure = failure;
                    pending.Done.Set();
                }
                _pending.Clear();
            }
        }

        public Dictionary<string, object> Ping() { return Request("ping", new Dictionary<string, object> { { "t", DateTime.UtcNow.Ticks } }); }
        public Dictionary<string, object> Status() { return Request("status"); }
        public Dictionary<string, object> List() { return Request("list"); }

        /// <summary>Tells the service the game's state changed; the result's "transition" says when the music follows.</summary>
        public Dictionary<string, object> SetState(string state, double intensity = -1, Dictionary<string, object> parameters = null)
        {
            var body = new Dictionary<string, object> { { "state", state } };
            if (intensity >= 0) body["intensity"] = intensity;
            if (parameters != null) body["params"] = parameters;
            Dictionary<string, object> result = Request("event", body);
            return result;
        }

        public Dictionary<string, object> SetIntensity(double value)
        {
            return Request("intensity", new Dictionary<string, object> { { "value", value } });
        }

        public Dictionary<string, object> PlayStinger(string name)
        {
            return Request("stinger", new Dictionary<string, object> { { "name", name } });
        }

        /// <summary>Downloads a variant's encoded loop (all chunks) and checks its SHA-256.</summary>
        public byte[] Fetch(string state, int variant = 0, string format = "wav")
        {
            var chunks = new List<byte[]>();
            int count = 1;
            string sha256 = null;
            for (int chunk = 0; chunk < count; chunk++)
            {
                Dictionary<string, object> result = Request("fetch", new Dictionary<string, object>
                {
                    { "state", state }, { "variant", (long)variant }, { "format", format }, { "chunk", (long)chunk },
                });
                count = (int)Fields.Int(result, "chunks", 1);
                sha256 = Fields.Str(result, "sha256");
                chunks.Add(Fields.Get(result, "data") as byte[] ?? new byte[0]);
            }
            int total = 0;
            foreach (byte[] c in chunks) total += c.Length;
            var file = new byte[total];
            int offset = 0;
            foreach (byte[] c in chunks) { Buffer.BlockCopy(c, 0, file, offset, c.Length); offset += c.Length; }
            using (SHA256 hash = SHA256.Create())
            {
                string actual = BitConverter.ToString(hash.ComputeHash(file)).Replace("-", "").ToLowerInvariant();
                if (sha256 != null && actual != sha256)
                    throw new OstinatoProtocolException("bad_message", "fetched file does not match its sha256", null);
            }
            return file;
        }

        private void RefreshStates()
        {
            Dictionary<string, object> list = List();
            lock (_states)
            {
                foreach (object item in Fields.List(list, "states"))
                {
                    var state = item as Dictionary<string, object>;
                    if (state == null) continue;
                    var info = new StateInfo { Bpm = Fields.Float(state, "bpm", 120) };
                    string[] meter = (Fields.Str(state, "meter", "4/4")).Split('/');
                    int upper, lower;
                    if (meter.Length == 2 && int.TryParse(meter[0], out upper) && int.TryParse(meter[1], out lower))
                    {
                        info.Upper = upper;
                        info.Lower = lower;
                    }
                    _states[Fields.Str(state, "name", "")] = info;
                }
            }
        }

        // ------------------------------------------------------------ stream

        /// <summary>Starts the PCM stream with <see cref="OstinatoOptions.BufferBlocks"/> blocks of credit.</summary>
        public Dictionary<string, object> StartStream()
        {
            Dictionary<string, object> result = Request("stream_start", new Dictionary<string, object>
            {
                { "format", _options.Format }, { "block_frames", (long)_options.BlockFrames }, { "credits", 0L },
            });
            lock (_creditLock)
            {
                _blockFrames = (int)Fields.Int(result, "block_frames", _options.BlockFrames);
                Interlocked.Exchange(ref _streamId, Fields.Int(result, "stream"));
                _nextSeq = 0;
                // Blocks already in the ring count as granted: the new stream tops up to BufferBlocks.
                Interlocked.Exchange(ref _blocksGranted, Interlocked.Read(ref _blocksWritten));
                _streaming = true;
            }
            GrantCredits();
            return result;
        }

        /// <summary>Grants <paramref name="blocks"/> more blocks explicitly (for clients driving credit themselves, AutoCredit off).</summary>
        public Dictionary<string, object> Credit(int blocks)
        {
            Interlocked.Add(ref _blocksGranted, blocks);
            return Request("credit", new Dictionary<string, object> { { "credits", (long)blocks }, { "stream", Interlocked.Read(ref _streamId) } });
        }

        public Dictionary<string, object> StopStream()
        {
            _streaming = false;
            return Request("stream_stop");
        }

        /// <summary>
        /// Grants credit so that BufferBlocks blocks are in flight or buffered but not yet played.
        /// Called by the supervisor thread; call it yourself to drive a stream without one.
        /// </summary>
        public void GrantCredits()
        {
            if (!_options.AutoCredit || !_streaming || !_connected || _blockFrames == 0) return;
            lock (_creditLock) // the supervisor and StartStream both grant: never twice for one block
            {
                long playedBlocks = Ring.TotalRead / (2L * _blockFrames);
                long want = playedBlocks + _options.BufferBlocks - Interlocked.Read(ref _blocksGranted);
                if (want <= 0) return;
                Interlocked.Add(ref _blocksGranted, want);
                Send("credit", new Dictionary<string, object> { { "credits", want }, { "stream", Interlocked.Read(ref _streamId) } }, false);
            }
        }

        /// <summary>
        /// Consumer (audio thread): fills <paramref name="count"/> interleaved stereo samples, silence where
        /// nothing has arrived (counted as an underrun). Never blocks, never allocates.
        /// </summary>
        public int ReadAudio(float[] destination, int offset, int count)
        {
            int n = Ring.Read(destination, offset, count);
            if (n < count)
            {
                Array.Clear(destination, offset + n, count - n);
                if (_streaming) Interlocked.Increment(ref _underruns);
            }
            return n;
        }

        /// <summary>The session-clock frame being heard now (played frames minus output latency).</summary>
        public long AudibleSample
        {
            get
            {
                long frame = Ring.TotalRead / 2 - _options.OutputLatencyFrames;
                return frame < 0 ? -1 : _clock.SessionSampleAt(frame);
            }
        }

        /// <summary>Game thread: collects the notifications audible now, in order (beats, bars, transitions...).</summary>
        public int PollEvents(List<MusicEvent> output)
        {
            return _clock.Release(_streaming ? AudibleSample : long.MaxValue, output);
        }

        // ------------------------------------------------------------ threads

        private void DealerLoop()
        {
            while (!_disposed)
            {
                try
                {
                    ZmtpConnection dealer = _dealer;
                    List<byte[]> message = dealer.Receive(200);
                    if (message == null) continue;
                    if (message.Count == 1) OnReply(message[0]);
                    else if (message.Count == 2) OnBlock(message[0], message[1]);
                }
                catch (ZmtpException e)
                {
                    if (_disposed) return;
                    OnConnectionLost(e);
                }
                catch (MsgPackException e)
                {
                    _clock.Enqueue(new MusicEvent { Kind = MusicEventKind.Error, Code = "bad_message", Message = e.Message });
                }
                catch (Exception e)
                {
                    // A bug must not silently kill the thread every reply depends on.
                    if (_disposed) return;
                    _clock.Enqueue(new MusicEvent { Kind = MusicEventKind.Error, Code = "internal", Message = e.ToString() });
                }
            }
        }

        private void OnReply(byte[] frame)
        {
            var reply = MsgPack.Decode(frame) as Dictionary<string, object>;
            if (reply == null) return;
            long id = Fields.Int(reply, "id", -1);
            Pending pending;
            lock (_pendingLock)
            {
                if (!_pending.TryGetValue(id, out pending)) return;
                _pending.Remove(id);
            }
            pending.Reply = reply;
            pending.Done.Set();
            if (!pending.Waited && !Fields.Bool(reply, "ok"))
            {
                Dictionary<string, object> error = Fields.Map(reply, "error");
                _clock.Enqueue(new MusicEvent
                {
                    Kind = MusicEventKind.Error, Code = Fields.Str(error, "code"), Message = Fields.Str(error, "message"), Body = error,
                });
            }
        }

        private void OnBlock(byte[] headerFrame, byte[] data)
        {
            var header = MsgPack.Decode(headerFrame) as Dictionary<string, object>;
            if (header == null || Fields.Str(header, "type") != "pcm") return;
            long stream = Fields.Int(header, "stream", -1);
            if (stream != Interlocked.Read(ref _streamId)) return; // a block of a replaced stream
            var block = new StreamBlock
            {
                Stream = stream,
                Seq = Fields.Int(header, "seq"),
                Sample = Fields.Int(header, "sample"),
                Frames = (int)Fields.Int(header, "frames"),
                Format = Fields.Str(header, "format", "s16"),
                State = Fields.Str(header, "state"),
                Variant = (int)Fields.Int(header, "variant", -1),
                Bar = (int)Fields.Int(header, "bar"),
                Beat = (int)Fields.Int(header, "beat"),
                Intensity = Fields.Float(header, "intensity"),
                Data = data,
            };
            int samples = block.Frames * 2;
            if (data.Length != samples * (block.Format == "f32" ? 4 : 2)) return;
            if (_convert.Length < samples) _convert = new float[samples];
            PcmDecoder.Decode(data, block.Format, _convert);
            if (block.Seq != _nextSeq) Interlocked.Increment(ref _seqGaps);
            _nextSeq = block.Seq + 1;
            Action<StreamBlock> handler = BlockReceived;
            if (handler != null) handler(block);
            int written = Ring.Write(_convert, 0, samples);
            _clock.BlockWritten(block.Sample, written / 2);
            Interlocked.Increment(ref _blocksWritten);
            State = block.State;
        }

        private void OnConnectionLost(Exception reason)
        {
            _connected = false;
            FailPending(reason);
            _clock.Enqueue(new MusicEvent { Kind = MusicEventKind.Disconnected, Message = reason.Message });
            bool wasStreaming = _streaming;
            _streaming = false;
            while (!_disposed && _options.AutoReconnect)
            {
                Thread.Sleep(_options.ReconnectDelayMs);
                if (_disposed) return;
                try
                {
                    Handshake(SessionId);
                    ZmtpConnection sub = _sub;
                    _sub = null;
                    if (sub != null) sub.Dispose();
                    if (wasStreaming) ThreadPool.QueueUserWorkItem(_ => RestartStream());
                    return;
                }
                catch (Exception e)
                {
                    if (!(e is ZmtpException || e is TimeoutException || e is OstinatoProtocolException)) throw;
                }
            }
            if (!_options.AutoReconnect) Thread.Sleep(_options.ReconnectDelayMs);
        }

        private void RestartStream()
        {
            try { StartStream(); }
            catch (Exception e)
            {
                _clock.Enqueue(new MusicEvent { Kind = MusicEventKind.Error, Code = "stream_restart", Message = e.Message });
            }
        }

        private void SubLoop()
        {
            while (!_disposed)
            {
                ZmtpConnection sub = _sub;
                try
                {
                    if (sub == null)
                    {
                        if (!_connected || PubEndpoint == null) { Thread.Sleep(50); continue; }
                        sub = ZmtpConnection.Connect(PubEndpoint, "SUB", null, _options.RequestTimeoutMs);
                        foreach (string prefix in new[] { "beat/", "bar/", "transition.", "state/", "error", "variant.ready" })
                        {
                            string topic = prefix.EndsWith("/") ? prefix + SessionId : prefix;
                            sub.Subscribe(Encoding.UTF8.GetBytes(topic));
                        }
                        _sub = sub;
                    }
                    List<byte[]> message = sub.Receive(200);
                    if (message != null && message.Count == 2) OnNotification(message[0], message[1]);
                }
                catch (ZmtpException)
                {
                    if (sub != null) sub.Dispose();
                    _sub = null;
                    if (!_disposed) Thread.Sleep(100);
                }
                catch (MsgPackException) { /* PUB is lossy; a bad notification is dropped */ }
            }
        }

        private void OnNotification(byte[] topicFrame, byte[] bodyFrame)
        {
            string topic = Encoding.UTF8.GetString(topicFrame);
            var body = MsgPack.Decode(bodyFrame) as Dictionary<string, object>;
            if (body == null) return;
            string session = Fields.Str(body, "session");
            if (session != null && session != SessionId) return;
            int slash = topic.IndexOf('/');
            string name = slash < 0 ? topic : topic.Substring(0, slash);
            var e = new MusicEvent { Body = body, State = Fields.Str(body, "state"), Variant = (int)Fields.Int(body, "variant", -1) };
            switch (name)
            {
                case "beat":
                case "bar":
                    e.Kind = name == "beat" ? MusicEventKind.Beat : MusicEventKind.Bar;
                    e.Sample = Fields.Int(body, "sample");
                    e.Bar = (int)Fields.Int(body, "bar");
                    e.Beat = (int)Fields.Int(body, "beat");
                    FillTiming(e);
                    break;
                case "transition.planned":
                    e.Kind = MusicEventKind.TransitionPlanned;
                    e.From = Fields.Str(body, "from");
                    e.To = Fields.Str(body, "to");
                    e.Bar = (int)Fields.Int(body, "bar");
                    e.Beat = (int)Fields.Int(body, "beat");
                    e.Body["at_sample"] = Fields.Int(body, "at_sample");
                    break;
                case "transition.started":
                    e.Kind = MusicEventKind.TransitionStarted;
                    e.From = Fields.Str(body, "from");
                    e.To = Fields.Str(body, "to");
                    e.Sample = Fields.Int(body, "sample");
                    e.Bar = (int)Fields.Int(body, "bar");
                    break;
                case "state":
                    e.Kind = MusicEventKind.StateChanged;
                    e.Sample = Fields.Int(body, "sample");
                    break;
                case "variant.ready":
                    e.Kind = MusicEventKind.VariantReady;
                    break;
                case "error":
                    e.Kind = MusicEventKind.Error;
                    e.Code = Fields.Str(body, "code");
                    e.Message = Fields.Str(body, "message");
                    break;
                default:
                    return;
            }
            if (e.Sample >= 0 && SampleRate > 0) e.PositionSeconds = (double)e.Sample / SampleRate;
            _clock.Enqueue(e);
        }

        private void FillTiming(MusicEvent e)
        {
            StateInfo info;
            lock (_states)
            {
                if (e.State == null || !_states.TryGetValue(e.State, out info)) return;
            }
            e.TempoBpm = info.Bpm;
            e.TimeSignatureUpper = info.Upper;
            e.TimeSignatureLower = info.Lower;
        }

        private void SupervisorLoop()
        {
            while (!_disposed)
            {
                Thread.Sleep(10);
                if (!_connected) continue;
                try
                {
                    GrantCredits();
                    long idleTicks = DateTime.UtcNow.Ticks - Interlocked.Read(ref _lastSendTicks);
                    if (idleTicks > TimeSpan.FromSeconds(HeartbeatSeconds).Ticks)
                        Send("ping", new Dictionary<string, object> { { "t", 0L } }, false);
                }
                catch (ZmtpException) { /* the DEALER thread reconnects */ }
            }
        }
    }
}
