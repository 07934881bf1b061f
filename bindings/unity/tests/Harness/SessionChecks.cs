// Harness command: a scripted session against the real Ostinato service.
// Credits are granted explicitly, so every event reaches the director while the
// session clock stands still at a known sample: the PCM is a pure function of
// the script, comparable bit for bit with the Python client's.
using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using Ostinato.Client;

namespace Ostinato.Harness
{
    internal static class SessionChecks
    {
        private static void Emit(string name, object value)
        {
            Console.WriteLine(Json.Write(new Dictionary<string, object> { { "event", name }, { "value", value } }));
        }

        public static int Run(string endpoint, string stinger)
        {
            var options = new OstinatoOptions
            {
                Endpoint = endpoint, ClientName = "unity-harness/0.1", RequestTimeoutMs = 20000, Format = "f32",
                BlockFrames = 1024, BufferBlocks = 64, AutoCredit = false,
            };
            var blocks = new List<StreamBlock>();
            var scratch = new float[64 * 1024 * 2];
            var events = new List<MusicEvent>();
            string session, token;
            using (var client = new OstinatoClient(options))
            {
                client.BlockReceived += block => { lock (blocks) blocks.Add(block); };
                Dictionary<string, object> hello = client.Connect();
                Emit("hello", hello);
                session = client.SessionId;
                token = client.ResumeToken;
                Emit("start", client.StartStream());
                Emit("credit", client.Credit(8));
                WaitBlocks(client, blocks, 8, scratch);
                Emit("event", client.SetState("battle"));
                Emit("credit", client.Credit(8));
                WaitBlocks(client, blocks, 16, scratch);
                Emit("intensity", client.SetIntensity(0.8));
                Emit("credit", client.Credit(8));
                WaitBlocks(client, blocks, 24, scratch);
                Emit("stinger", client.PlayStinger(stinger));
                Emit("credit", client.Credit(64));
                WaitBlocks(client, blocks, 88, scratch);
                Emit("credit", client.Credit(32));
                WaitBlocks(client, blocks, 120, scratch);
                Thread.Sleep(200); // let the last PUB notifications arrive
                client.PollEvents(events);
                Emit("status", client.Status());
                Emit("stop", client.StopStream());
                Emit("ping", client.Ping());
                byte[] wav = client.Fetch("battle", 1, "wav");
                using (SHA256 sha = SHA256.Create())
                    Emit("fetch", new Dictionary<string, object> { { "bytes", (long)wav.Length }, { "sha256", Json.ToHex(sha.ComputeHash(wav)) } });
                try
                {
                    client.SetState("no_such_state");
                    Emit("unknown_state", "accepted");
                }
                catch (OstinatoProtocolException e)
                {
                    Emit("unknown_state", new Dictionary<string, object> { { "code", e.Code }, { "detail", e.Detail } });
                }
                Emit("stats", new Dictionary<string, object>
                {
                    { "underruns", client.Underruns }, { "gaps", client.SequenceGaps }, { "received", client.BlocksReceived },
                });
                client.Close(false); // leave the session for the resume check
            }
            EmitBlocks(blocks);
            EmitEvents(events);
            using (var again = new OstinatoClient(options))
            {
                Dictionary<string, object> resumed = again.Connect(session, token);
                Emit("resume", new Dictionary<string, object>
                {
                    { "session", again.SessionId }, { "resumed", resumed["resumed"] }, { "state", resumed["state"] },
                    { "intensity", resumed["intensity"] },
                });
            }
            return 0;
        }

        private static void WaitBlocks(OstinatoClient client, List<StreamBlock> blocks, int count, float[] scratch)
        {
            DateTime deadline = DateTime.UtcNow.AddSeconds(20);
            while (true)
            {
                client.ReadAudio(scratch, 0, Math.Min(scratch.Length, client.Ring.Available));
                lock (blocks) if (blocks.Count >= count) break;
                if (DateTime.UtcNow > deadline) throw new TimeoutException("waited for " + count + " blocks");
                Thread.Sleep(2);
            }
            client.ReadAudio(scratch, 0, Math.Min(scratch.Length, client.Ring.Available));
        }

        private static void EmitBlocks(List<StreamBlock> blocks)
        {
            var headers = new List<object>();
            int total = 0;
            foreach (StreamBlock block in blocks)
            {
                headers.Add(new List<object> { block.Seq, block.Sample, block.State, (long)block.Variant, (long)block.Bar, (long)block.Beat });
                total += block.Data.Length;
            }
            var all = new byte[total];
            int offset = 0;
            foreach (StreamBlock block in blocks)
            {
                Buffer.BlockCopy(block.Data, 0, all, offset, block.Data.Length);
                offset += block.Data.Length;
            }
            using (SHA256 sha = SHA256.Create())
            {
                Emit("blocks", new Dictionary<string, object>
                {
                    { "count", (long)blocks.Count }, { "bytes", (long)total },
                    { "sha256", Json.ToHex(sha.ComputeHash(all)) }, { "headers", headers },
                });
            }
        }

        private static void EmitEvents(List<MusicEvent> events)
        {
            var beats = new List<object>();
            var kinds = new List<object>();
            foreach (MusicEvent e in events)
            {
                kinds.Add(e.Kind.ToString());
                if (e.Kind != MusicEventKind.Beat) continue;
                beats.Add(new Dictionary<string, object>
                {
                    { "sample", e.Sample }, { "bar", (long)e.Bar }, { "beat", (long)e.Beat }, { "position", e.PositionSeconds },
                    { "tempo", e.TempoBpm }, { "upper", (long)e.TimeSignatureUpper }, { "lower", (long)e.TimeSignatureLower },
                    { "state", e.State }, { "variant", (long)e.Variant },
                });
            }
            Emit("events", new Dictionary<string, object> { { "kinds", kinds }, { "beats", beats } });
        }
    }
}
