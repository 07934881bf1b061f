// Plans what the baked player does and when, on a session timeline counted in samples
// from the moment playback started (sessionStartDsp on Unity's DSP clock). The rules are
// the director's (middleware/director/director.py): leave on the rule's sync point, a
// filler stinger plays there and the target enters after the stinger's musical length,
// same-position entry keeps bar and beat, fades use the outgoing music's tempo, `auto`
// is a cross between equal tempo and meter and an out-fade otherwise, and every cut gets
// a short guard fade against clicks. A rule with a baked bridge plays it from the sync
// point; the target enters on the bridge's last bar line, at its start, with the variant
// the bridge leads into. A stinger plays its rendition for the state it lands over, and is
// laid again on a state's grid when that state enters at or before its onset.
using System;

namespace Ostinato.Client.Baked
{
    /// <summary>A planned state change, in session samples and in DSP seconds.</summary>
    public sealed class BakedTransitionPlan
    {
        public string Source;
        public string Target;
        public BakedTransition Rule;
        public long SyncSample;        // the outgoing music leaves (its fade starts) here
        public long EnterSample;       // the incoming music starts here (after a filler stinger)
        public long OffsetSamples;     // clip position the incoming music starts from
        public long Origin;            // session sample of the target timeline's sample 0
        public FadeMode Fade;          // the effective fade (auto resolved)
        public long OutFadeSamples;
        public long InFadeSamples;
        public string FillerStinger;   // null: none
        public BakedBridge Bridge;     // null: none (no bridge asked for, or none baked: the rule's fade plays)
        public long BridgeEndSample;   // the bridge's audio ends here (its tail rings past EnterSample)
        public int TargetVariant = -1; // the variant the target enters with; -1: the rotation chooses

        public double SyncDsp;
        public double EnterDsp;
        public double OutFadeEndDsp;
        public double InFadeEndDsp;
        public double BridgeEndDsp;
    }

    /// <summary>Which take of a stinger plays over a state, and why the base plays when it does.</summary>
    public sealed class BakedRenditionChoice
    {
        public BakedStinger Take;      // the rendition, or the stinger itself
        public string Rendition;       // "<stinger>@<state>", or the stinger's name
        public string Host;            // the state it plays over; null: none
        public string Fallback;        // null, "rendition not ready" or "no music playing" (the director's words)
    }

    /// <summary>A planned stinger: where it lands and how the music ducks under it.</summary>
    public sealed class BakedStingerPlan
    {
        public string Name;
        public long AtSample;
        public double AtDsp;
        public double EndDsp;
        public double DuckDb;
        public BakedStinger Take;      // what plays: the rendition for Host, or the stinger
        public string Rendition;
        public string Host;
        public string Fallback;
        public long HoldEndSample;     // the music ducks until here (the take's last bar line)
        public long EndSample;         // the take's audio ends here
        public double HoldEndDsp;
        public long Replaces = -1;     // the sample it was planned on before a state entered first
    }

    public static class BakedScheduler
    {
        /// <summary>The session sample at or after DSP time <paramref name="dsp"/> plus the scheduling lead.</summary>
        public static long SessionSampleAt(double sessionStartDsp, double dsp, double leadSeconds, int sampleRate)
        {
            return BakedTiming.DspToSample(sessionStartDsp, dsp + leadSeconds, sampleRate);
        }

        /// <summary>
        /// Plan leaving <paramref name="source"/> (whose timeline starts at session sample
        /// <paramref name="sourceOrigin"/>; null when nothing plays) for <paramref name="target"/>,
        /// asked at session sample <paramref name="nowSample"/>.
        /// </summary>
        public static BakedTransitionPlan PlanTransition(
            BakedManifest manifest, string source, long sourceOrigin, long nowSample, string target,
            int guardSamples, double sessionStartDsp)
        {
            return PlanTransition(manifest, source, sourceOrigin, nowSample, target, guardSamples, sessionStartDsp, false);
        }

        /// <summary>
        /// As above; with <paramref name="automatic"/> (a one-shot handing over to its
        /// <c>next</c> or held state) the music leaves at the one-shot's end, like the director.
        /// </summary>
        public static BakedTransitionPlan PlanTransition(
            BakedManifest manifest, string source, long sourceOrigin, long nowSample, string target,
            int guardSamples, double sessionStartDsp, bool automatic)
        {
            BakedState to = manifest.State(target);
            var plan = new BakedTransitionPlan { Source = source, Target = target };
            int rate = manifest.SampleRate;
            if (source == null)
            {
                plan.SyncSample = plan.EnterSample = plan.Origin = nowSample;
                plan.Fade = FadeMode.None;
                plan.OutFadeSamples = plan.InFadeSamples = guardSamples;
                return WithDsp(plan, sessionStartDsp, rate);
            }
            BakedState from = manifest.State(source);
            BakedTransition rule = manifest.TransitionFor(source, target);
            plan.Rule = rule;
            LoopGrid fromGrid = from.Grid;
            LoopGrid toGrid = to.Grid;
            plan.SyncSample = automatic
                ? sourceOrigin + fromGrid.LoopSamples
                : sourceOrigin + BakedTiming.NextSyncSample(nowSample - sourceOrigin, rule.LeaveAt, fromGrid, rule.PhraseBars);
            long fadeSamples = Math.Max(guardSamples, BakedTiming.FadeSamples(rule.FadeValue, rule.FadeUnit, from.Bpm, fromGrid.BeatsPerBar, rate));

            plan.EnterSample = plan.SyncSample;
            plan.BridgeEndSample = plan.SyncSample;
            BakedStinger filler;
            BakedBridge bridge = TransitionBridge(manifest, rule, source, target);
            if (rule.FillerStinger != null && manifest.Stingers.TryGetValue(rule.FillerStinger, out filler))
            {
                plan.FillerStinger = filler.Name;
                plan.EnterSample = plan.SyncSample + filler.MusicSamples;
            }
            else if (bridge != null)
            {
                plan.Bridge = bridge;
                plan.BridgeEndSample = plan.SyncSample + bridge.Frames;
                plan.EnterSample = plan.SyncSample + bridge.MusicSamples;
                plan.TargetVariant = bridge.TargetVariant;
            }
            plan.Fade = EffectiveFade(rule.Fade, from, to);
            bool oneShot = to.OneShot;
            plan.OffsetSamples = rule.EnterAt == EnterAt.SamePosition && !oneShot && plan.Bridge == null
                ? BakedTiming.SamePositionOffset(plan.EnterSample - sourceOrigin, fromGrid, toGrid)
                : 0;
            plan.Origin = plan.EnterSample - plan.OffsetSamples;
            plan.OutFadeSamples = plan.Fade == FadeMode.Cross || plan.Fade == FadeMode.Out ? fadeSamples : guardSamples;
            plan.InFadeSamples = plan.Fade == FadeMode.Cross || plan.Fade == FadeMode.In ? fadeSamples : guardSamples;
            return WithDsp(plan, sessionStartDsp, rate);
        }

        /// <summary>
        /// The baked bridge <paramref name="rule"/> plays from <paramref name="source"/> to
        /// <paramref name="target"/>; null when the rule asks for none or the manifest has none
        /// for the pair (the rule's fade plays then, like the director's bridge.fallback).
        /// </summary>
        public static BakedBridge TransitionBridge(BakedManifest manifest, BakedTransition rule, string source, string target)
        {
            BakedBridge bridge;
            if (source == null || rule == null || rule.BridgeBars <= 0) return null;
            return manifest.Bridges.TryGetValue(source + "->" + target, out bridge) ? bridge : null;
        }

        public static FadeMode EffectiveFade(FadeMode fade, BakedState from, BakedState to)
        {
            if (fade != FadeMode.Auto) return fade;
            bool sameTempo = from.Bpm == to.Bpm;
            bool sameMeter = from.BeatsPerBar == to.BeatsPerBar;
            return sameTempo && sameMeter ? FadeMode.Cross : FadeMode.Out;
        }

        private static BakedTransitionPlan WithDsp(BakedTransitionPlan plan, double sessionStartDsp, int rate)
        {
            plan.SyncDsp = BakedTiming.SampleToDsp(sessionStartDsp, plan.SyncSample, rate);
            plan.EnterDsp = BakedTiming.SampleToDsp(sessionStartDsp, plan.EnterSample, rate);
            plan.OutFadeEndDsp = BakedTiming.SampleToDsp(sessionStartDsp, plan.SyncSample + plan.OutFadeSamples, rate);
            plan.InFadeEndDsp = BakedTiming.SampleToDsp(sessionStartDsp, plan.EnterSample + plan.InFadeSamples, rate);
            plan.BridgeEndDsp = BakedTiming.SampleToDsp(sessionStartDsp, plan.BridgeEndSample, rate);
            return plan;
        }

        /// <summary>
        /// What stinger <paramref name="name"/> plays over <paramref name="host"/> (null: no
        /// music): its rendition for that state when baked, else the stinger itself, with the
        /// director's fallback reason (none for a designer's file: it has no renditions).
        /// </summary>
        public static BakedRenditionChoice ChooseRendition(BakedManifest manifest, string name, string host)
        {
            BakedStinger stinger;
            if (!manifest.Stingers.TryGetValue(name, out stinger))
                throw new BakedManifestException("unknown stinger '" + name + "' in pack '" + manifest.PackName + "'");
            bool playing = host != null && manifest.States.ContainsKey(host);
            BakedStinger rendition;
            if (playing && stinger.Renditions.TryGetValue(host, out rendition))
                return new BakedRenditionChoice { Take = rendition, Rendition = rendition.Name, Host = host };
            var choice = new BakedRenditionChoice { Take = stinger, Rendition = name, Host = playing ? host : null };
            if (!stinger.IsFile) choice.Fallback = playing ? "rendition not ready" : "no music playing";
            return choice;
        }

        /// <summary>Plan stinger <paramref name="name"/> over the state playing from <paramref name="origin"/>.</summary>
        public static BakedStingerPlan PlanStinger(
            BakedManifest manifest, string state, long origin, long nowSample, string name, double sessionStartDsp)
        {
            BakedStinger stinger;
            if (!manifest.Stingers.TryGetValue(name, out stinger))
                throw new BakedManifestException("unknown stinger '" + name + "' in pack '" + manifest.PackName + "'");
            long at = nowSample;
            if (state != null)
                at = origin + BakedTiming.NextSyncSample(nowSample - origin, stinger.Sync, manifest.State(state).Grid, 4);
            BakedRenditionChoice choice = ChooseRendition(manifest, name, state);
            int rate = manifest.SampleRate;
            return new BakedStingerPlan
            {
                Name = name,
                AtSample = at,
                AtDsp = BakedTiming.SampleToDsp(sessionStartDsp, at, rate),
                EndDsp = BakedTiming.SampleToDsp(sessionStartDsp, at + choice.Take.Frames, rate),
                DuckDb = stinger.DuckDb,
                Take = choice.Take,
                Rendition = choice.Rendition,
                Host = choice.Host,
                Fallback = choice.Fallback,
                HoldEndSample = at + choice.Take.MusicSamples,
                EndSample = at + choice.Take.Frames,
                HoldEndDsp = BakedTiming.SampleToDsp(sessionStartDsp, at + choice.Take.MusicSamples, rate),
            };
        }

        /// <summary>
        /// State <paramref name="state"/> enters at session sample <paramref name="enter"/>
        /// (its timeline's sample 0 at <paramref name="origin"/>): a stinger planned over
        /// another state that would start at or after it is planned again on the new state's
        /// grid, in its rendition (the director's relay: a stinger plays over the state audible
        /// at its onset). Returns the new plan (Replaces = the old sample), else null.
        /// </summary>
        public static BakedStingerPlan RelayStinger(
            BakedManifest manifest, BakedStingerPlan plan, string state, long origin, long enter, double sessionStartDsp)
        {
            if (plan.AtSample < enter || plan.Host == null || plan.Host == state) return null;
            BakedStingerPlan moved = PlanStinger(manifest, state, origin, plan.AtSample, plan.Name, sessionStartDsp);
            moved.Replaces = plan.AtSample;
            return moved;
        }

        /// <summary>The session sample where the loop pass containing <paramref name="nowSample"/> ends.</summary>
        public static long NextLoopBoundary(long origin, long nowSample, long loopSamples)
        {
            return origin + BakedTiming.NextSyncSample(nowSample - origin, LeaveAt.LoopEnd,
                new LoopGrid(new long[] { 0 }, new long[] { 0 }, loopSamples, 1), 1);
        }

        /// <summary>
        /// The next variant to play: weighted by <paramref name="weights"/> (uniform when null),
        /// never the one that just played when there is a choice.
        /// </summary>
        public static int NextVariant(int count, int previous, double[] weights, Random random)
        {
            if (count <= 1) return 0;
            double total = 0;
            for (int i = 0; i < count; i++)
                if (i != previous) total += weights != null ? weights[i] : 1.0;
            if (total <= 0) return (previous + 1) % count;
            double pick = random.NextDouble() * total;
            for (int i = 0; i < count; i++)
            {
                if (i == previous) continue;
                pick -= weights != null ? weights[i] : 1.0;
                if (pick < 0) return i;
            }
            for (int i = count - 1; i >= 0; i--) if (i != previous) return i;
            return 0;
        }

        /// <summary>Linear gain of a fade at DSP time <paramref name="dsp"/> (equal-power curve).</summary>
        public static float FadeGain(double dsp, double startDsp, double endDsp, bool fadingIn)
        {
            double t = endDsp <= startDsp ? (dsp >= startDsp ? 1.0 : 0.0) : Math.Min(1.0, Math.Max(0.0, (dsp - startDsp) / (endDsp - startDsp)));
            return (float)(fadingIn ? Math.Sin(t * Math.PI / 2) : Math.Cos(t * Math.PI / 2));
        }
    }
}
