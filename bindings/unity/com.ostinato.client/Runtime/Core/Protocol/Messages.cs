// Value types of the Ostinato protocol as the C# client exposes them.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace Ostinato.Client
{
    /// <summary>A structured error from the service (docs/protocol.md, "Errors"); switch on <see cref="Code"/>.</summary>
    public sealed class OstinatoProtocolException : Exception
    {
        public readonly string Code;
        public readonly Dictionary<string, object> Detail;

        public OstinatoProtocolException(string code, string message, Dictionary<string, object> detail)
            : base(code + ": " + message)
        {
            Code = code;
            Detail = detail ?? new Dictionary<string, object>();
        }
    }

    /// <summary>What a music event is about.</summary>
    public enum MusicEventKind
    {
        Connected,
        Disconnected,
        Beat,
        Bar,
        TransitionPlanned,
        TransitionStarted,
        StateChanged,
        VariantReady,
        Error,
    }

    /// <summary>
    /// One notification, delivered on the game thread when it becomes audible.
    /// Beats carry what FMOD's timeline-beat callback carries (bar, beat, position,
    /// tempo, time signature) plus the state and variant.
    /// </summary>
    public sealed class MusicEvent
    {
        public MusicEventKind Kind;
        /// <summary>Session clock (frames since the session began) the event happens at; -1 when immediate.</summary>
        public long Sample = -1;
        /// <summary>Bar count since the session began (0-based).</summary>
        public int Bar;
        /// <summary>Beat within the bar (0-based).</summary>
        public int Beat;
        /// <summary>Position in seconds on the session clock.</summary>
        public double PositionSeconds;
        public double TempoBpm;
        public int TimeSignatureUpper = 4;
        public int TimeSignatureLower = 4;
        public string State;
        public int Variant = -1;
        public string From;
        public string To;
        public string Code;
        public string Message;
        public bool Resumed;
        /// <summary>The decoded message body, for fields this type does not surface.</summary>
        public Dictionary<string, object> Body;

        public override string ToString()
        {
            return string.Format(CultureInfo.InvariantCulture, "{0} sample={1} bar={2} beat={3} state={4} variant={5}",
                Kind, Sample, Bar, Beat, State, Variant);
        }
    }

    /// <summary>Header of one PCM stream block (docs/protocol.md, "PCM stream and credits").</summary>
    public sealed class StreamBlock
    {
        public long Stream;
        public long Seq;
        public long Sample;
        public int Frames;
        public string Format;
        public string State;
        public int Variant;
        public int Bar;
        public int Beat;
        public double Intensity;
        /// <summary>The raw data frame as received (little-endian int16 or float32, interleaved stereo).</summary>
        public byte[] Data;
    }

    /// <summary>Typed access to decoded msgpack maps.</summary>
    public static class Fields
    {
        public static object Get(Dictionary<string, object> map, string key)
        {
            object value;
            return map != null && map.TryGetValue(key, out value) ? value : null;
        }

        public static string Str(Dictionary<string, object> map, string key, string fallback = null)
        {
            return Get(map, key) as string ?? fallback;
        }

        public static long Int(Dictionary<string, object> map, string key, long fallback = 0)
        {
            object value = Get(map, key);
            if (value is long) return (long)value;
            if (value is double) return (long)(double)value;
            return fallback;
        }

        public static double Float(Dictionary<string, object> map, string key, double fallback = 0)
        {
            object value = Get(map, key);
            if (value is double) return (double)value;
            if (value is long) return (long)value;
            return fallback;
        }

        public static bool Bool(Dictionary<string, object> map, string key, bool fallback = false)
        {
            object value = Get(map, key);
            return value is bool ? (bool)value : fallback;
        }

        public static Dictionary<string, object> Map(Dictionary<string, object> map, string key)
        {
            return Get(map, key) as Dictionary<string, object>;
        }

        public static List<object> List(Dictionary<string, object> map, string key)
        {
            return Get(map, key) as List<object> ?? new List<object>();
        }
    }
}
