// Settings of an OstinatoClient.
namespace Ostinato.Client
{
    public sealed class OstinatoOptions
    {
        /// <summary>The service's request endpoint (its ROUTER socket).</summary>
        public string Endpoint = "tcp://127.0.0.1:5570";
        /// <summary>Sent in hello, e.g. "unity-package/0.1".</summary>
        public string ClientName = "ostinato-csharp/0.1";
        /// <summary>Pack to play; null plays the service's first pack.</summary>
        public string Pack;
        /// <summary>"f32" (float32, no conversion loss) or "s16" (half the bandwidth).</summary>
        public string Format = "f32";
        /// <summary>Frames per stream block (128 .. 16384).</summary>
        public int BlockFrames = 1024;
        /// <summary>Blocks kept in flight and buffered: the jitter buffer (8 × 1024 frames ≈ 171 ms at 48 kHz).</summary>
        public int BufferBlocks = 8;
        /// <summary>Grant credit automatically as the ring drains (off: call OstinatoClient.Credit yourself).</summary>
        public bool AutoCredit = true;
        /// <summary>How long a request waits for its reply.</summary>
        public int RequestTimeoutMs = 5000;
        /// <summary>Reconnect and resume the session when the connection drops.</summary>
        public bool AutoReconnect = true;
        public int ReconnectDelayMs = 500;
        /// <summary>Audio output latency in frames, subtracted when deciding what is audible.</summary>
        public int OutputLatencyFrames;
    }
}
