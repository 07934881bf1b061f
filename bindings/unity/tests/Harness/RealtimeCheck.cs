// Harness command: play a stream in real time the way an audio callback does (a fixed
// number of frames every period) with automatic credit, and report underruns after
// warm-up, sequence gaps and the most blocks ever buffered (bounded by BufferBlocks).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Ostinato.Client;

namespace Ostinato.Harness
{
    internal static class RealtimeCheck
    {
        public static int Run(string endpoint, int bufferBlocks, int milliseconds)
        {
            var options = new OstinatoOptions
            {
                Endpoint = endpoint, ClientName = "unity-harness/0.1", RequestTimeoutMs = 20000,
                BlockFrames = 1024, BufferBlocks = bufferBlocks,
            };
            using (var client = new OstinatoClient(options))
            {
                client.Connect();
                client.StartStream();
                const int callbackFrames = 480; // 10 ms at 48 kHz
                var buffer = new float[callbackFrames * 2];
                DateTime warm = DateTime.UtcNow.AddSeconds(5);
                while (client.Ring.Available < bufferBlocks * 1024 * 2 && DateTime.UtcNow < warm) Thread.Sleep(1);
                long underrunsAtStart = client.Underruns;
                int maxBuffered = 0;
                long callbacks = 0;
                var clock = Stopwatch.StartNew();
                while (clock.ElapsedMilliseconds < milliseconds)
                {
                    maxBuffered = Math.Max(maxBuffered, client.Ring.Available);
                    client.ReadAudio(buffer, 0, buffer.Length);
                    callbacks++;
                    // next callback when its 10 ms are due (like a sound card pulling audio)
                    long due = callbacks * 10;
                    long wait = due - clock.ElapsedMilliseconds;
                    if (wait > 0) Thread.Sleep((int)wait);
                }
                Console.WriteLine(Json.Write(new Dictionary<string, object>
                {
                    { "underruns", client.Underruns - underrunsAtStart }, { "gaps", client.SequenceGaps },
                    { "max_buffered_blocks", (double)maxBuffered / (1024 * 2) }, { "blocks", client.BlocksReceived },
                    { "played_frames", client.Ring.TotalRead / 2 },
                }));
            }
            return 0;
        }
    }
}
