// Pure timing maths of the baked player, the same rules as the service's director
// (middleware/director/timing.py): sync points on a loop's beat and bar grid, phrase
// boundaries counted from the timeline start, same-position entry, fade lengths, and the
// conversion between timeline samples and Unity's DSP clock (seconds, double).
using System;

namespace Ostinato.Client.Baked
{
    /// <summary>Beat and bar lines of one loop, in samples from its first sample.</summary>
    public sealed class LoopGrid
    {
        public readonly long[] BeatSamples;
        public readonly long[] BarSamples;
        public readonly long LoopSamples;
        public readonly int BeatsPerBar;

        public LoopGrid(long[] beatSamples, long[] barSamples, long loopSamples, int beatsPerBar)
        {
            if (loopSamples <= 0 || beatSamples.Length == 0 || barSamples.Length == 0)
                throw new ArgumentException("a loop grid needs a positive length and at least one beat and bar");
            if (beatSamples[0] != 0 || barSamples[0] != 0)
                throw new ArgumentException("a loop grid's first beat and bar must be at sample 0");
            BeatSamples = beatSamples;
            BarSamples = barSamples;
            LoopSamples = loopSamples;
            BeatsPerBar = Math.Max(1, beatsPerBar);
        }

        public int Bars { get { return BarSamples.Length; } }

        /// <summary>The grid of a baked variant (lines inside the loop; a one-shot's length is its last bar line).</summary>
        public static LoopGrid FromVariant(BakedVariant variant, bool oneShot, int beatsPerBar)
        {
            long length = !oneShot ? variant.LoopEnd - variant.LoopStart
                : (variant.BarSamples.Length > 1 ? variant.BarSamples[variant.BarSamples.Length - 1] : variant.LoopEnd);
            return new LoopGrid(
                Inside(variant.BeatSamples, variant.LoopStart, length),
                Inside(variant.BarSamples, variant.LoopStart, length),
                length,
                beatsPerBar);
        }

        private static long[] Inside(long[] lines, long start, long length)
        {
            return Array.FindAll(Array.ConvertAll(lines, s => s - start), s => s >= 0 && s < length);
        }
    }

    public static class BakedTiming
    {
        /// <summary>Index of the first line >= value (lines sorted).</summary>
        private static int LowerBound(long[] lines, long value)
        {
            int low = 0, high = lines.Length;
            while (low < high)
            {
                int mid = (low + high) / 2;
                if (lines[mid] < value) low = mid + 1; else high = mid;
            }
            return low;
        }

        /// <summary>Index of the first line > value.</summary>
        private static int UpperBound(long[] lines, long value)
        {
            int low = 0, high = lines.Length;
            while (low < high)
            {
                int mid = (low + high) / 2;
                if (lines[mid] <= value) low = mid + 1; else high = mid;
            }
            return low;
        }

        private static long FloorDiv(long a, long b)
        {
            long q = a / b;
            if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
            return q;
        }

        private static long NextLine(long position, long[] lines, long period, long every)
        {
            long loop = FloorDiv(position, period);
            long inside = position - loop * period;
            long number = loop * lines.Length + LowerBound(lines, inside);
            number = -FloorDiv(-number, every) * every;
            long lineLoop = FloorDiv(number, lines.Length);
            long index = number - lineLoop * lines.Length;
            return lineLoop * period + lines[index];
        }

        /// <summary>
        /// First timeline sample at or after <paramref name="position"/> where music may leave
        /// (or a stinger land). A position exactly on a line is that line.
        /// </summary>
        public static long NextSyncSample(long position, LeaveAt mode, LoopGrid grid, int phraseBars)
        {
            switch (mode)
            {
                case LeaveAt.Immediate: return position;
                case LeaveAt.NextBeat: return NextLine(position, grid.BeatSamples, grid.LoopSamples, 1);
                case LeaveAt.NextBar: return NextLine(position, grid.BarSamples, grid.LoopSamples, 1);
                case LeaveAt.NextPhrase:
                    if (phraseBars < 1) throw new ArgumentException("phrase_bars must be >= 1");
                    return NextLine(position, grid.BarSamples, grid.LoopSamples, phraseBars);
                case LeaveAt.LoopEnd: return NextLine(position, new long[] { 0 }, grid.LoopSamples, 1);
            }
            throw new ArgumentException("unknown sync mode " + mode);
        }

        private static long BeatLength(LoopGrid grid, int beatIndex)
        {
            long next = beatIndex + 1 < grid.BeatSamples.Length ? grid.BeatSamples[beatIndex + 1] : grid.LoopSamples;
            return next - grid.BeatSamples[beatIndex];
        }

        /// <summary>
        /// Where the target loop enters so it keeps the source's bar and beat; the part of
        /// the beat already played carries over scaled to the target's beat length.
        /// </summary>
        public static long SamePositionOffset(long position, LoopGrid source, LoopGrid target)
        {
            long loop = FloorDiv(position, source.LoopSamples);
            long inside = position - loop * source.LoopSamples;
            int barInLoop = UpperBound(source.BarSamples, inside) - 1;
            int beatIndex = UpperBound(source.BeatSamples, inside) - 1;
            int beatInBar = beatIndex - LowerBound(source.BeatSamples, source.BarSamples[barInLoop]);
            long offsetSamples = inside - source.BeatSamples[beatIndex];
            long bar = (loop * source.Bars + barInLoop) % target.Bars;

            int firstBeat = LowerBound(target.BeatSamples, target.BarSamples[bar]);
            int lastBeat = bar + 1 < target.Bars ? LowerBound(target.BeatSamples, target.BarSamples[bar + 1]) : target.BeatSamples.Length;
            int targetBeat = firstBeat + beatInBar % Math.Max(1, lastBeat - firstBeat);
            long sourceBeatLength = BeatLength(source, beatIndex);
            long targetBeatLength = BeatLength(target, targetBeat);
            // round half up of offset * targetBeatLength / sourceBeatLength, in integers
            long carried = (2 * offsetSamples * targetBeatLength + sourceBeatLength) / (2 * sourceBeatLength);
            long offset = target.BeatSamples[targetBeat] + carried;
            return ((offset % target.LoopSamples) + target.LoopSamples) % target.LoopSamples;
        }

        /// <summary>Sample index of beat <paramref name="beat"/> at a tempo: round half up of beat * 60 * rate / bpm.</summary>
        public static long BeatToSample(double beat, double bpm, int sampleRate)
        {
            decimal exact = (decimal)beat * 60m * sampleRate / (decimal)bpm;
            return (long)Math.Floor(exact + 0.5m);
        }

        /// <summary>A fade length in samples at the outgoing music's tempo.</summary>
        public static long FadeSamples(double value, FadeUnit unit, double bpm, int beatsPerBar, int sampleRate)
        {
            if (unit == FadeUnit.Seconds) return (long)Math.Round(value * sampleRate, MidpointRounding.ToEven);
            double beats = unit == FadeUnit.Beats ? value : value * beatsPerBar;
            decimal exact = (decimal)beats * 60m * sampleRate / (decimal)bpm;
            return (long)Math.Round(exact, MidpointRounding.ToEven);
        }

        /// <summary>DSP time of a timeline sample (the timeline's sample 0 plays at <paramref name="timelineStartDsp"/>).</summary>
        public static double SampleToDsp(double timelineStartDsp, long sample, int sampleRate)
        {
            return timelineStartDsp + (double)sample / sampleRate;
        }

        /// <summary>The first timeline sample at or after DSP time <paramref name="dsp"/>.</summary>
        public static long DspToSample(double timelineStartDsp, double dsp, int sampleRate)
        {
            double exact = (dsp - timelineStartDsp) * sampleRate;
            long rounded = (long)Math.Round(exact);
            // within a millionth of a sample counts as on the sample (DSP times are doubles)
            return Math.Abs(exact - rounded) < 1e-6 ? rounded : (long)Math.Ceiling(exact);
        }
    }
}
