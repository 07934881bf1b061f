// Harness commands for the ordered request queue and the filter mix:
//   queue <endpoint> <count>   <count> pings and an intensity change queued in one go before
//                              the client connects; after connecting they must all reach the
//                              service, in call order (the service's monotonic clock stamps
//                              each ping). "taskrun" does the same with one Task.Run per call
//                              (the old player's way) and reports how many arrived out of order.
//   queue-fail                 requests waiting for a connection that fails: one error, no hang.
//   filtermix                  the stream multiplied into a buffer holding the source's gain.
using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Ostinato.Client;
using Ostinato.Client.Audio;

namespace Ostinato.Harness
{
    internal static class QueueCheck
    {
        private static OstinatoOptions Options(string endpoint)
        {
            return new OstinatoOptions { Endpoint = endpoint, ClientName = "unity-harness/0.1", RequestTimeoutMs = 20000 };
        }

        public static int Run(string endpoint, int count)
        {
            var errors = new List<string>();
            var times = new long[count];
            var order = new List<int>();
            var result = new Dictionary<string, object>();
            using (var client = new OstinatoClient(Options(endpoint)))
            using (var queue = new RequestQueue(e => { lock (errors) errors.Add(e.Message); }))
            {
                for (int i = 0; i < count; i++)
                {
                    int index = i;
                    queue.Enqueue(() =>
                    {
                        times[index] = Fields.Int(client.Ping(), "server_time_ns");
                        lock (order) order.Add(index);
                    });
                }
                queue.Enqueue(() => client.SetIntensity(0.25));
                result["queued_before_connect"] = (long)queue.Pending;
                client.Connect();
                queue.Open();
                result["drained"] = queue.WaitIdle(120000);
            }
            result["completed"] = (long)order.Count;
            result["in_call_order"] = Sorted(order);
            result["service_order_inversions"] = Inversions(times);
            result["errors"] = errors.ToArray();
            Console.WriteLine(Json.Write(result));
            return 0;
        }

        public static int TaskRun(string endpoint, int count)
        {
            var times = new long[count];
            using (var client = new OstinatoClient(Options(endpoint)))
            {
                client.Connect();
                var tasks = new Task[count];
                for (int i = 0; i < count; i++)
                {
                    int index = i;
                    tasks[i] = Task.Run(() => { times[index] = Fields.Int(client.Ping(), "server_time_ns"); });
                }
                Task.WaitAll(tasks);
            }
            Console.WriteLine(Json.Write(new Dictionary<string, object> { { "service_order_inversions", Inversions(times) } }));
            return 0;
        }

        public static int Fail()
        {
            var errors = new List<string>();
            int ran = 0;
            using (var queue = new RequestQueue(e => { lock (errors) errors.Add(e.Message); }))
            {
                for (int i = 0; i < 3; i++) queue.Enqueue(() => { ran++; });
                queue.Fail(new TimeoutException("no service at tcp://127.0.0.1:1"));
                queue.Enqueue(() => { ran++; });
                queue.WaitIdle(1000);
            }
            Console.WriteLine(Json.Write(new Dictionary<string, object> { { "ran", (long)ran }, { "errors", errors.ToArray() } }));
            return 0;
        }

        public static int FilterMix()
        {
            var result = new Dictionary<string, object>();
            const int frames = 512;
            const float volume = 0.5f;
            var stereo = new float[frames * 2];
            for (int i = 0; i < stereo.Length; i++) stereo[i] = (float)Math.Sin(i * 0.01) * 0.8f;
            foreach (int channels in new[] { 1, 2, 6 })
            {
                var data = new float[frames * channels];
                for (int i = 0; i < data.Length; i++) data[i] = volume; // the ones clip at volume 0.5
                Ostinato.Client.Audio.FilterMix.MultiplyInto(data, channels, stereo, frames);
                double error = 0;
                for (int f = 0; f < frames; f++)
                {
                    float left = stereo[2 * f], right = stereo[2 * f + 1];
                    if (channels == 1) { error = Math.Max(error, Math.Abs(data[f] - volume * 0.5f * (left + right))); continue; }
                    error = Math.Max(error, Math.Abs(data[f * channels] - volume * left));
                    error = Math.Max(error, Math.Abs(data[f * channels + 1] - volume * right));
                    for (int c = 2; c < channels; c++) error = Math.Max(error, Math.Abs(data[f * channels + c]));
                }
                result["max_error_" + channels] = error;
            }
            float[] ones = Ostinato.Client.Audio.FilterMix.OnesClip(4, 2);
            result["ones"] = Array.TrueForAll(ones, x => x == 1f) && ones.Length == 8;
            Console.WriteLine(Json.Write(result));
            return 0;
        }

        private static bool Sorted(List<int> order)
        {
            for (int i = 0; i < order.Count; i++) if (order[i] != i) return false;
            return true;
        }

        private static long Inversions(long[] times)
        {
            long inversions = 0;
            for (int i = 1; i < times.Length; i++) if (times[i] <= times[i - 1]) inversions++;
            return inversions;
        }
    }
}
