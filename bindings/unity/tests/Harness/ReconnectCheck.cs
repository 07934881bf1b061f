// Harness command: survive a service restart. Streams with automatic credit while a
// consumer thread drains the ring like an audio callback; prints "streaming" once
// music flows, then waits for the connection to drop and come back (resumed).
using System;
using System.Collections.Generic;
using System.Threading;
using Ostinato.Client;

namespace Ostinato.Harness
{
    internal static class ReconnectCheck
    {
        public static int Run(string endpoint)
        {
            var options = new OstinatoOptions { Endpoint = endpoint, ClientName = "unity-harness/0.1", RequestTimeoutMs = 20000, ReconnectDelayMs = 200 };
            using (var client = new OstinatoClient(options))
            {
                var stop = false;
                var consumer = new Thread(() =>
                {
                    var buffer = new float[512 * 2];
                    while (!Volatile.Read(ref stop))
                    {
                        client.ReadAudio(buffer, 0, buffer.Length);
                        Thread.Sleep(10); // 512 frames every ~10 ms: about real time at 48 kHz
                    }
                });
                client.Connect();
                string session = client.SessionId;
                client.StartStream();
                client.SetState("battle");
                consumer.Start();
                WaitFor(() => client.BlocksReceived >= 10, 10);
                Console.WriteLine(Json.Write(new Dictionary<string, object> { { "event", "streaming" }, { "session", session } }));
                Console.Out.Flush();

                var events = new List<MusicEvent>();
                bool disconnected = false, reconnected = false, resumed = false;
                WaitFor(() =>
                {
                    client.PollEvents(events);
                    foreach (MusicEvent e in events)
                    {
                        if (e.Kind == MusicEventKind.Disconnected) disconnected = true;
                        if (e.Kind == MusicEventKind.Connected && disconnected) { reconnected = true; resumed = e.Resumed; }
                    }
                    events.Clear();
                    return reconnected;
                }, 30);
                long before = client.BlocksReceived;
                WaitFor(() => client.IsStreaming && client.BlocksReceived >= before + 10, 10);
                Dictionary<string, object> status = client.Status();
                Volatile.Write(ref stop, true);
                consumer.Join();
                Console.WriteLine(Json.Write(new Dictionary<string, object>
                {
                    { "event", "reconnected" }, { "disconnected", disconnected }, { "reconnected", reconnected },
                    { "resumed", resumed }, { "session", client.SessionId }, { "state", status["state"] },
                    { "blocks_after", client.BlocksReceived - before },
                }));
            }
            return 0;
        }

        private static void WaitFor(Func<bool> condition, int seconds)
        {
            DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (!condition())
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in " + seconds + " s");
                Thread.Sleep(10);
            }
        }
    }
}
