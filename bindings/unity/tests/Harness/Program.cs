// Console harness for the Ostinato C# client, driven by tests/test_unity_client.py.
using System;

namespace Ostinato.Harness
{
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("usage: harness.exe <command> [args...]");
                return 64;
            }
            try
            {
                switch (args[0])
                {
                    case "dealer-echo": return WireChecks.DealerEcho(args[1], args[2], int.Parse(args[3]));
                    case "subscribe": return WireChecks.Subscribe(args[1], args[2], int.Parse(args[3]));
                    case "msgpack": return WireChecks.MsgPackRoundTrip();
                    case "ring": return WireChecks.RingStress(int.Parse(args[1]));
                    case "zmtp-bytes": return WireChecks.ZmtpBytes();
                    case "session": return SessionChecks.Run(args[1], args[2]);
                    case "bench": return Bench.Run(int.Parse(args[1]));
                    case "reconnect": return ReconnectCheck.Run(args[1]);
                    case "resample": return ResampleCheck.Run(int.Parse(args[1]), int.Parse(args[2]));
                    case "realtime": return RealtimeCheck.Run(args[1], int.Parse(args[2]), int.Parse(args[3]));
                    case "vectors": return VectorChecks.Run(args[1]);
                    case "queue": return QueueCheck.Run(args[1], int.Parse(args[2]));
                    case "queue-taskrun": return QueueCheck.TaskRun(args[1], int.Parse(args[2]));
                    case "queue-fail": return QueueCheck.Fail();
                    case "filtermix": return QueueCheck.FilterMix();
                }
                Console.Error.WriteLine("unknown command " + args[0]);
                return 64;
            }
            catch (Exception e)
            {
                Console.WriteLine("{\"event\":\"exception\",\"type\":\"" + e.GetType().Name + "\"}");
                Console.Error.WriteLine(e);
                return 1;
            }
        }
    }
}
