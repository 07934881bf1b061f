// Harness command: what receiving one second of 48 kHz stereo audio costs the C# core
// (msgpack header decode, PCM decode, ring write and read), beside a baseline that only
// copies the same bytes once.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using Ostinato.Client;
using Ostinato.Client.Audio;
using Ostinato.Client.Wire;

namespace Ostinato.Harness
{
    internal static class Bench
    {
        public static int Run(int seconds)
        {
            const int frames = 1024;
            int blocksPerSecond = (48000 + frames - 1) / frames;
            var header = MsgPack.Encode(new Dictionary<string, object>
            {
                { "type", "pcm" }, { "stream", 1L }, { "seq", 0L }, { "sample", 0L }, { "frames", (long)frames },
                { "format", "f32" }, { "state", "explore" }, { "variant", 0L }, { "bar", 0L }, { "beat", 0L }, { "intensity", 0.5 },
            });
            var data = new byte[frames * 8];
            new Random(1).NextBytes(data);
            for (int i = 3; i < data.Length; i += 4) data[i] = 0x3c; // finite floats
            var samples = new float[frames * 2];
            var output = new float[frames * 2];
            var copy = new byte[data.Length];
            var ring = new PcmRingBuffer(frames * 2 * 4);
            int total = seconds * blocksPerSecond;
            for (int warm = 0; warm < 2; warm++)
            {
                Stopwatch baseline = Stopwatch.StartNew();
                for (int i = 0; i < total; i++) Buffer.BlockCopy(data, 0, copy, 0, data.Length);
                baseline.Stop();
                Stopwatch client = Stopwatch.StartNew();
                for (int i = 0; i < total; i++)
                {
                    var decoded = (Dictionary<string, object>)MsgPack.Decode(header);
                    PcmDecoder.Decode(data, Fields.Str(decoded, "format"), samples);
                    ring.Write(samples, 0, samples.Length);
                    ring.Read(output, 0, output.Length);
                }
                client.Stop();
                if (warm == 0) continue;
                double perSecondClient = client.Elapsed.TotalMilliseconds * 1000.0 / seconds;
                double perSecondBaseline = baseline.Elapsed.TotalMilliseconds * 1000.0 / seconds;
                Console.WriteLine(Json.Write(new Dictionary<string, object>
                {
                    { "seconds_of_audio", (long)seconds }, { "client_us_per_audio_second", perSecondClient },
                    { "copy_baseline_us_per_audio_second", perSecondBaseline },
                }));
            }
            return 0;
        }
    }
}
