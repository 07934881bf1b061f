// Harness commands exercising the wire layer against real ZeroMQ peers.
using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using Ostinato.Client.Audio;
using Ostinato.Client.Wire;

namespace Ostinato.Harness
{
    internal static class WireChecks
    {
        /// <summary>DEALER: send a multipart message, stay idle (answering PINGs), echo the reply back, PING the peer.</summary>
        public static int DealerEcho(string endpoint, string identity, int idleMs)
        {
            using (var connection = ZmtpConnection.Connect(endpoint, "DEALER", Encoding.ASCII.GetBytes(identity)))
            {
                Console.WriteLine(Json.Write(new Dictionary<string, object> { { "event", "connected" }, { "peer", connection.PeerSocketType }, { "minor", (long)connection.PeerMinorVersion } }));
                var longFrame = new byte[300];
                for (int i = 0; i < longFrame.Length; i++) longFrame[i] = (byte)i;
                connection.Send(new List<byte[]> { Encoding.ASCII.GetBytes("first"), new byte[0], longFrame });
                List<byte[]> reply = connection.Receive(idleMs + 5000);
                if (reply == null) { Console.WriteLine("{\"event\":\"timeout\"}"); return 2; }
                Console.WriteLine(Json.Write(new Dictionary<string, object> { { "event", "reply" }, { "frames", reply } }));
                connection.Send(reply);
                connection.Ping(10, Encoding.ASCII.GetBytes("ctx"));
                List<byte[]> last = connection.Receive(5000);
                // The PONG may arrive after the reply: keep reading (commands only) for a while.
                for (int i = 0; i < 30 && connection.LastPongTicks == 0; i++)
                    if (connection.Receive(100) != null) throw new ZmtpException("unexpected extra message");
                Console.WriteLine(Json.Write(new Dictionary<string, object>
                {
                    { "event", "final" }, { "frames", last }, { "pong", connection.LastPongTicks > 0 },
                }));
            }
            return 0;
        }

        /// <summary>SUB: subscribe to a prefix and print <paramref name="count"/> messages.</summary>
        public static int Subscribe(string endpoint, string prefix, int count)
        {
            using (var connection = ZmtpConnection.Connect(endpoint, "SUB"))
            {
                connection.Subscribe(Encoding.UTF8.GetBytes(prefix));
                for (int i = 0; i < count; i++)
                {
                    List<byte[]> message = connection.Receive(10000);
                    if (message == null) { Console.WriteLine("{\"event\":\"timeout\"}"); return 2; }
                    Console.WriteLine(Json.Write(new Dictionary<string, object> { { "event", "message" }, { "frames", message } }));
                }
            }
            return 0;
        }

        /// <summary>Decodes each hex line of stdin as MessagePack, re-encodes it, prints both.</summary>
        public static int MsgPackRoundTrip()
        {
            string hex;
            while ((hex = Console.In.ReadLine()) != null)
            {
                if (hex.Length == 0) continue;
                object value = MsgPack.Decode(Json.FromHex(hex));
                Console.WriteLine(Json.Write(new Dictionary<string, object>
                {
                    { "input", hex }, { "value", value }, { "encoded", Json.ToHex(MsgPack.Encode(value)) },
                }));
            }
            return 0;
        }

        /// <summary>Prints the ZMTP bytes this client produces for bindings/godot/tests/zmtp_vectors.json.</summary>
        public static int ZmtpBytes()
        {
            var longBody = new byte[300];
            for (int i = 0; i < longBody.Length; i++) longBody[i] = (byte)(i % 256);
            Console.WriteLine(Json.Write(new Dictionary<string, object>
            {
                { "greeting", Zmtp.Greeting() },
                { "frames", new List<object>
                    {
                        Zmtp.Frame(Encoding.ASCII.GetBytes("hello"), false),
                        Zmtp.Frame(Encoding.ASCII.GetBytes("a"), true),
                        Zmtp.Frame(new byte[0], false),
                        Zmtp.Frame(longBody, true),
                    }
                },
                { "ready_dealer", Zmtp.ReadyCommand("DEALER") },
                { "ready_sub", Zmtp.ReadyCommand("SUB") },
                { "ready_dealer_identity", Zmtp.ReadyCommand("DEALER", Encoding.ASCII.GetBytes("game-1")) },
                { "ping_ttl10_ctx", Zmtp.PingCommand(10, Encoding.ASCII.GetBytes("ctx")) },
                { "pong_ctx", Zmtp.PongCommand(Encoding.ASCII.GetBytes("ctx")) },
                { "subscribe_beat", Zmtp.SubscribeFrame(Encoding.ASCII.GetBytes("beat/")) },
            }));
            return 0;
        }

        /// <summary>One producer thread, one consumer thread through a small ring; prints both checksums.</summary>
        public static int RingStress(int totalSamples)
        {
            var ring = new PcmRingBuffer(1000);
            double produced = 0, consumed = 0;
            long consumedCount = 0;
            var producer = new Thread(() =>
            {
                var block = new float[333];
                int next = 0;
                while (next < totalSamples)
                {
                    int n = Math.Min(block.Length, totalSamples - next);
                    for (int i = 0; i < n; i++) block[i] = (next + i) % 1000 * 0.001f;
                    int offset = 0;
                    while (offset < n)
                    {
                        int written = ring.Write(block, offset, n - offset);
                        if (written == 0) Thread.Yield();
                        offset += written;
                    }
                    for (int i = 0; i < n; i++) produced += block[i] * ((next + i) % 7 + 1);
                    next += n;
                }
            });
            var consumer = new Thread(() =>
            {
                var block = new float[256];
                bool ordered = true;
                while (consumedCount < totalSamples)
                {
                    int n = ring.Read(block, 0, block.Length);
                    if (n == 0) { Thread.Yield(); continue; }
                    for (int i = 0; i < n; i++)
                    {
                        long index = consumedCount + i;
                        if (block[i] != index % 1000 * 0.001f) ordered = false;
                        consumed += block[i] * (index % 7 + 1);
                    }
                    consumedCount += n;
                }
                if (!ordered) consumed = double.NaN;
            });
            producer.Start();
            consumer.Start();
            producer.Join();
            consumer.Join();
            Console.WriteLine(Json.Write(new Dictionary<string, object>
            {
                { "capacity", (long)ring.Capacity }, { "samples", consumedCount }, { "produced", produced }, { "consumed", consumed },
            }));
            return 0;
        }
    }
}
