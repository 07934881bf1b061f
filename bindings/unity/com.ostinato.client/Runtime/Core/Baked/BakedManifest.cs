// The baked pack's manifest.json (written by `ostinato bake`, schema in
// middleware/schemas/manifest.schema.json), read into plain C# objects.
using System;
using System.Collections.Generic;

namespace Ostinato.Client.Baked
{
    public enum LeaveAt { Immediate, NextBeat, NextBar, NextPhrase, LoopEnd }
    public enum EnterAt { Start, SamePosition }
    public enum FadeMode { None, In, Out, Cross, Auto }
    public enum FadeUnit { Beats, Bars, Seconds }

    public sealed class BakedFile
    {
        public string Path;
        public string Sha256;
        public long Bytes;

        /// <summary>The path without its extension ("audio/battle/battle_v0.drums"): what Resources.Load takes under the pack's folder.</summary>
        public string ResourcePath
        {
            get
            {
                int slash = Path.LastIndexOf('/');
                int dot = Path.LastIndexOf('.');
                return dot > slash + 1 ? Path.Substring(0, dot) : Path;
            }
        }

        /// <summary>The file name without folder and extension ("battle_v0.drums"): a Unity clip's name.</summary>
        public string ClipName
        {
            get
            {
                string name = Path.Substring(Path.LastIndexOf('/') + 1);
                int dot = name.LastIndexOf('.');
                return dot > 0 ? name.Substring(0, dot) : name;
            }
        }
    }

    public sealed class BakedStem
    {
        public string Name;
        public string Role;
        public double IntensityLow;
        public double IntensityHigh;
        public double GainDb;

        /// <summary>Whether the stem sounds at <paramref name="intensity"/>: [low, high), 1.0 included when high is 1.</summary>
        public bool AudibleAt(double intensity)
        {
            return (intensity >= IntensityLow && intensity < IntensityHigh)
                || (IntensityHigh >= 1.0 && intensity >= 1.0);
        }

        /// <summary>
        /// The stem's gain at an intensity, the director's curve (middleware/director/intensity.py
        /// stem_gain): linear edges 0.1 wide centred on the range's bounds.
        /// </summary>
        public double GainAt(double intensity)
        {
            const double edge = 0.1;
            double gain = 1.0;
            if (IntensityLow > 0.0) gain = Math.Min(gain, Math.Max(0.0, Math.Min(1.0, (intensity - IntensityLow) / edge + 0.5)));
            if (IntensityHigh < 1.0) gain = Math.Min(gain, Math.Max(0.0, Math.Min(1.0, (IntensityHigh - intensity) / edge + 0.5)));
            return gain;
        }
    }

    public sealed class BakedVariant
    {
        public int Index;
        public BakedFile File;
        public long Frames;
        public long LoopStart;
        public long LoopEnd;
        public long[] BeatSamples;
        public long[] BarSamples;
        public double LoudnessLufs;
        public readonly SortedDictionary<string, BakedFile> Stems = new SortedDictionary<string, BakedFile>(StringComparer.Ordinal);
    }

    public sealed class BakedState
    {
        public string Name;
        public double Bpm;
        public string Meter;
        public int BeatsPerBar;
        public string Key;
        public int Bars;
        public bool OneShot;
        public string Next;
        public double Intensity;
        public long LoopSamples;
        public double[] VariantWeights;
        public readonly List<BakedStem> Stems = new List<BakedStem>();
        public readonly List<BakedVariant> Variants = new List<BakedVariant>();

        /// <summary>The beat and bar grid every variant of the state shares (from variant 0).</summary>
        public LoopGrid Grid
        {
            get { return LoopGrid.FromVariant(Variants[0], OneShot, BeatsPerBar); }
        }
    }

    public sealed class BakedStinger
    {
        public string Name;
        public BakedFile File;
        public long Frames;
        public long MusicSamples;
        public LeaveAt Sync;
        public double DuckDb;
        public double GainDb;
        /// <summary>A designer's file ("source": "file"): it plays as it is over every state.</summary>
        public bool IsFile;
        /// <summary>The stinger made for each state it plays over (that state's key, tempo and
        /// beat grid), by state name; empty for a designer's file and in older manifests.</summary>
        public readonly Dictionary<string, BakedStinger> Renditions = new Dictionary<string, BakedStinger>();

        /// <summary>What plays over <paramref name="state"/>: its rendition, else this stinger.</summary>
        public BakedStinger For(string state)
        {
            BakedStinger rendition;
            return state != null && Renditions.TryGetValue(state, out rendition) ? rendition : this;
        }
    }

    /// <summary>A generated bridge between two states (manifest "bridges", keyed "source->target").</summary>
    public sealed class BakedBridge
    {
        public string Key;            // "<source>-><target>"
        public string Source;
        public string Target;
        public int Bars;
        public BakedFile File;
        public long Frames;           // the whole file: its tail rings past MusicSamples
        public long MusicSamples;     // its last bar line: the target enters here
        public int TargetVariant;     // the target's variant the bridge leads into (0)
    }

    public sealed class BakedTransition
    {
        public string From;
        public string To;
        public LeaveAt LeaveAt;
        public EnterAt EnterAt;
        public FadeMode Fade;
        public double FadeValue;
        public FadeUnit FadeUnit;
        public int PhraseBars;
        public string FillerStinger;
        public int BridgeBars;
        public bool HoldPrevious;
    }

    public sealed class BakedManifest
    {
        public const int SupportedVersion = 1;
        public const string Wildcard = "*";

        public int Version;
        public string PackName;
        public string StartState;
        public int SampleRate;
        public string AudioFormat;
        public readonly Dictionary<string, BakedState> States = new Dictionary<string, BakedState>();
        public readonly Dictionary<string, BakedStinger> Stingers = new Dictionary<string, BakedStinger>();
        public readonly List<BakedTransition> Transitions = new List<BakedTransition>();
        public BakedTransition DefaultTransition;
        /// <summary>Generated bridges by "source->target" (empty in older manifests).</summary>
        public readonly Dictionary<string, BakedBridge> Bridges = new Dictionary<string, BakedBridge>();

        /// <summary>The rule for from -> to: exact, (from, *), (*, to), (*, *), else the default.</summary>
        public BakedTransition TransitionFor(string from, string to)
        {
            string[][] keys = {
                new[] { from, to }, new[] { from, Wildcard }, new[] { Wildcard, to }, new[] { Wildcard, Wildcard },
            };
            foreach (string[] key in keys)
                foreach (BakedTransition rule in Transitions)
                    if (rule.From == key[0] && rule.To == key[1]) return rule;
            return DefaultTransition;
        }

        public BakedState State(string name)
        {
            BakedState state;
            if (!States.TryGetValue(name, out state))
                throw new BakedManifestException("unknown state '" + name + "' in pack '" + PackName + "'");
            return state;
        }

        public static BakedManifest Parse(string json)
        {
            var root = BakedJson.Parse(json) as Dictionary<string, object>;
            if (root == null) throw new BakedManifestException("manifest is not a JSON object");
            if (Str(root, "format") != "ostinato-baked-pack")
                throw new BakedManifestException("not an Ostinato baked-pack manifest");
            var manifest = new BakedManifest();
            manifest.Version = (int)Num(root, "manifest_version");
            if (manifest.Version != SupportedVersion)
                throw new BakedManifestException("manifest version " + manifest.Version + " is not supported (this player reads " + SupportedVersion + ")");
            var pack = Obj(root, "pack");
            manifest.PackName = Str(pack, "name");
            manifest.StartState = Str(pack, "start_state");
            manifest.SampleRate = (int)Num(root, "sample_rate");
            manifest.AudioFormat = Str(root, "audio_format");
            foreach (var entry in Obj(root, "states")) manifest.States[entry.Key] = ReadState(entry.Key, (Dictionary<string, object>)entry.Value);
            foreach (var entry in Obj(root, "stingers")) manifest.Stingers[entry.Key] = ReadStinger(entry.Key, (Dictionary<string, object>)entry.Value);
            foreach (object rule in Arr(root, "transitions")) manifest.Transitions.Add(ReadTransition((Dictionary<string, object>)rule));
            manifest.DefaultTransition = ReadTransition(Obj(root, "default_transition"));
            object bridges;
            if (root.TryGetValue("bridges", out bridges) && bridges is Dictionary<string, object>)
                foreach (var entry in (Dictionary<string, object>)bridges)
                    manifest.Bridges[entry.Key] = ReadBridge(entry.Key, (Dictionary<string, object>)entry.Value);
            return manifest;
        }

        private static BakedState ReadState(string name, Dictionary<string, object> data)
        {
            var state = new BakedState
            {
                Name = name,
                Bpm = Num(data, "bpm"),
                Meter = Str(data, "meter"),
                BeatsPerBar = (int)Num(data, "beats_per_bar"),
                Key = Str(data, "key"),
                Bars = (int)Num(data, "bars"),
                OneShot = (bool)data["one_shot"],
                Next = data["next"] as string,
                Intensity = Num(data, "intensity"),
                LoopSamples = (long)Num(data, "loop_samples"),
            };
            var weights = data["variant_weights"] as List<object>;
            if (weights != null) state.VariantWeights = weights.ConvertAll(w => (double)w).ToArray();
            foreach (var entry in Obj(data, "stems"))
            {
                var stem = (Dictionary<string, object>)entry.Value;
                var range = (List<object>)stem["intensity"];
                state.Stems.Add(new BakedStem
                {
                    Name = entry.Key,
                    Role = Str(stem, "role"),
                    IntensityLow = (double)range[0],
                    IntensityHigh = (double)range[1],
                    GainDb = Num(stem, "gain_db"),
                });
            }
            foreach (object raw in Arr(data, "variants"))
            {
                var v = (Dictionary<string, object>)raw;
                var variant = new BakedVariant
                {
                    Index = (int)Num(v, "index"),
                    File = ReadFile(Obj(v, "file")),
                    Frames = (long)Num(v, "frames"),
                    LoopStart = (long)Num(v, "loop_start"),
                    LoopEnd = (long)Num(v, "loop_end"),
                    BeatSamples = Arr(v, "beat_samples").ConvertAll(x => (long)(double)x).ToArray(),
                    BarSamples = Arr(v, "bar_samples").ConvertAll(x => (long)(double)x).ToArray(),
                    LoudnessLufs = Num(v, "loudness_lufs"),
                };
                foreach (var stem in Obj(v, "stems")) variant.Stems[stem.Key] = ReadFile((Dictionary<string, object>)stem.Value);
                state.Variants.Add(variant);
            }
            if (state.Variants.Count == 0) throw new BakedManifestException("state '" + name + "' has no variants");
            return state;
        }

        private static BakedStinger ReadStinger(string name, Dictionary<string, object> data)
        {
            var stinger = new BakedStinger
            {
                Name = name,
                File = ReadFile(Obj(data, "file")),
                Frames = (long)Num(data, "frames"),
                MusicSamples = (long)Num(data, "music_samples"),
                Sync = ParseLeaveAt(Str(data, "sync")),
                DuckDb = Num(data, "duck_db"),
                GainDb = Num(data, "gain_db"),
                IsFile = data.ContainsKey("source") && data["source"] as string == "file",
            };
            object renditions;
            if (data.TryGetValue("renditions", out renditions) && renditions is Dictionary<string, object>)
            {
                foreach (var entry in (Dictionary<string, object>)renditions)
                {
                    var rendition = (Dictionary<string, object>)entry.Value;
                    stinger.Renditions[entry.Key] = new BakedStinger
                    {
                        Name = name + "@" + entry.Key,
                        File = ReadFile(Obj(rendition, "file")),
                        Frames = (long)Num(rendition, "frames"),
                        MusicSamples = (long)Num(rendition, "music_samples"),
                        Sync = stinger.Sync,
                        DuckDb = stinger.DuckDb,
                        GainDb = stinger.GainDb,
                    };
                }
            }
            return stinger;
        }

        private static BakedBridge ReadBridge(string key, Dictionary<string, object> data)
        {
            object variant;
            return new BakedBridge
            {
                Key = key,
                Source = Str(data, "source"),
                Target = Str(data, "target"),
                Bars = (int)Num(data, "bars"),
                File = ReadFile(Obj(data, "file")),
                Frames = (long)Num(data, "frames"),
                MusicSamples = (long)Num(data, "music_samples"),
                TargetVariant = data.TryGetValue("target_variant", out variant) && variant is double ? (int)(double)variant : 0,
            };
        }

        private static BakedTransition ReadTransition(Dictionary<string, object> data)
        {
            var length = Obj(data, "fade_length");
            return new BakedTransition
            {
                From = Str(data, "from"),
                To = Str(data, "to"),
                LeaveAt = ParseLeaveAt(Str(data, "leave_at")),
                EnterAt = Str(data, "enter_at") == "same_position" ? EnterAt.SamePosition : EnterAt.Start,
                Fade = ParseFade(Str(data, "fade")),
                FadeValue = Num(length, "value"),
                FadeUnit = ParseUnit(Str(length, "unit")),
                PhraseBars = (int)Num(data, "phrase_bars"),
                FillerStinger = data["filler_stinger"] as string,
                BridgeBars = (int)Num(data, "bridge_bars"),
                HoldPrevious = (bool)data["hold_previous"],
            };
        }

        private static BakedFile ReadFile(Dictionary<string, object> data)
        {
            return new BakedFile { Path = Str(data, "path"), Sha256 = Str(data, "sha256"), Bytes = (long)Num(data, "bytes") };
        }

        public static LeaveAt ParseLeaveAt(string text)
        {
            switch (text)
            {
                case "immediate": return LeaveAt.Immediate;
                case "next_beat": return LeaveAt.NextBeat;
                case "next_bar": return LeaveAt.NextBar;
                case "next_phrase": return LeaveAt.NextPhrase;
                case "loop_end": return LeaveAt.LoopEnd;
            }
            throw new BakedManifestException("unknown sync point '" + text + "'");
        }

        public static FadeMode ParseFade(string text)
        {
            switch (text)
            {
                case "none": return FadeMode.None;
                case "in": return FadeMode.In;
                case "out": return FadeMode.Out;
                case "cross": return FadeMode.Cross;
                case "auto": return FadeMode.Auto;
            }
            throw new BakedManifestException("unknown fade '" + text + "'");
        }

        public static FadeUnit ParseUnit(string text)
        {
            switch (text)
            {
                case "beats": return FadeUnit.Beats;
                case "bars": return FadeUnit.Bars;
                case "seconds": return FadeUnit.Seconds;
            }
            throw new BakedManifestException("unknown fade unit '" + text + "'");
        }

        private static object Field(Dictionary<string, object> data, string key)
        {
            object value;
            if (!data.TryGetValue(key, out value)) throw new BakedManifestException("manifest: missing '" + key + "'");
            return value;
        }

        private static Dictionary<string, object> Obj(Dictionary<string, object> data, string key)
        {
            var value = Field(data, key) as Dictionary<string, object>;
            if (value == null) throw new BakedManifestException("manifest: '" + key + "' is not an object");
            return value;
        }

        private static List<object> Arr(Dictionary<string, object> data, string key)
        {
            var value = Field(data, key) as List<object>;
            if (value == null) throw new BakedManifestException("manifest: '" + key + "' is not an array");
            return value;
        }

        private static string Str(Dictionary<string, object> data, string key)
        {
            var value = Field(data, key) as string;
            if (value == null) throw new BakedManifestException("manifest: '" + key + "' is not a string");
            return value;
        }

        private static double Num(Dictionary<string, object> data, string key)
        {
            object value = Field(data, key);
            if (!(value is double)) throw new BakedManifestException("manifest: '" + key + "' is not a number");
            return (double)value;
        }
    }
}
