// Plays a baked Ostinato pack (manifest.json + audio from `ostinato bake`) with no service.
// Every source starts with PlayScheduled on the DSP clock, and its gain (fades, stinger
// ducks, intensity layers) is a GainEnvelope applied sample by sample in the audio thread,
// so changes land on the exact sample the scheduler planned, whatever the frame rate. All
// timing decisions come from Ostinato.Client.Baked (plain C#, tested with mono); this
// component only executes them.
//
// Setup: put the baked folder under a Resources folder (Assets/Resources/Music/fantasy_rpg/)
// and set `resourcesFolder` to "Music/fantasy_rpg": manifest.json and every clip load from
// there, nothing to drag by hand. (Or assign `manifest` and `clips` yourself.)
using System;
using System.Collections.Generic;
using Ostinato.Client.Baked;
using UnityEngine;
using UnityEngine.Audio;

namespace Ostinato.Unity
{
    [AddComponentMenu("Audio/Ostinato Baked Music Player")]
    public sealed class BakedMusicPlayer : MonoBehaviour
    {
        [Tooltip("Folder of the baked pack under a Resources folder, e.g. \"Music/fantasy_rpg\": manifest and clips load from it.")]
        [SerializeField] private string resourcesFolder = "";
        [Tooltip("Optional: the manifest.json TextAsset (else loaded from resourcesFolder).")]
        [SerializeField] private TextAsset manifest;
        [Tooltip("Optional: clips by file name (\"battle_v0\", \"battle_v0.drums\"); missing ones load from resourcesFolder.")]
        [SerializeField] private AudioClip[] clips = new AudioClip[0];
        [Tooltip("Mixer group of the music sources.")]
        [SerializeField] private AudioMixerGroup output;
        [Tooltip("Mixer group of the stingers (empty: the music's).")]
        [SerializeField] private AudioMixerGroup stingerOutput;
        [Range(0f, 1f)] [SerializeField] private float volume = 1f;
        [SerializeField] private bool useStems = true;
        [SerializeField] private bool playOnStart = true;
        [Tooltip("Scheduling lead: how far ahead of the DSP clock a change is planned.")]
        [SerializeField] private double leadSeconds = 0.1;
        [SerializeField] private int randomSeed = 1;
        [Tooltip("Crossfade between two variants of a state at the loop boundary (the service's default).")]
        [SerializeField] private float variantFadeMs = 20f;

        [Header("Events (main thread, when the beat is mixed)")]
        public BeatEvent onBeat = new BeatEvent();
        public BeatEvent onBar = new BeatEvent();
        /// <summary>(state, variant) when a state's music starts.</summary>
        public StateEvent onStateChanged = new StateEvent();

        /// <summary>One variant of a state playing: its sources (one per stem, or the mix), each with its gain envelope.</summary>
        private sealed class Voice
        {
            public string State;
            public int Variant;
            public long Origin;
            public readonly List<AudioSource> Sources = new List<AudioSource>();
            public readonly List<GainEnvelope> Envelopes = new List<GainEnvelope>();
            public readonly List<BakedStem> Stems = new List<BakedStem>();
            public double StartDsp;
            public double EndDsp = double.MaxValue;
            public bool Bridge;    // a transition's baked bridge (no state, no beats of its own)
        }

        /// <summary>A state's timeline as the director sees it: current from its sync sample.</summary>
        private sealed class Entry
        {
            public string State;
            public long Origin;
            public long Sync;
            public long Enter;
        }

        /// <summary>A stinger laid by PlayStinger, on its own source, with its duck.</summary>
        private sealed class LaidStinger
        {
            public BakedStingerPlan Plan;       // what is scheduled
            public BakedStingerPlan First;      // the plan over the state current at the request
            public long Requested;              // session sample of the request
            public AudioSource Source;
            public long[] Duck;                 // null: no duck
        }

        private readonly Dictionary<string, AudioClip> _clips = new Dictionary<string, AudioClip>();
        private readonly List<Voice> _voices = new List<Voice>();
        private readonly List<AudioSource> _stingerSources = new List<AudioSource>();
        private readonly Dictionary<AudioSource, double> _stingerBusyUntil = new Dictionary<AudioSource, double>();
        private readonly List<long[]> _ducks = new List<long[]>(); // at, hold end, ramp (DSP samples), depth x 1e9
        private readonly List<Entry> _entries = new List<Entry>();   // planned state entries, oldest first
        private readonly List<LaidStinger> _laid = new List<LaidStinger>();
        private BakedManifest _manifest;
        private Voice _current;
        private BakedTransitionPlan _pending;   // planned, sync point still ahead
        private string _held;                   // the state a hold_previous rule remembers
        private double _sessionStartDsp;
        private string _state;
        private long _origin;
        private int _variant;
        private long _nextRotation = long.MaxValue;
        private double _intensity = 1.0;
        private System.Random _random;
        private int _guardSamples;
        private int _outputRate;
        private long _lastBeat = -1;   // session sample of the last beat raised
        private int _bar = -1;
        private Voice _announced;      // the voice onStateChanged was raised for

        public string CurrentState { get { return _state; } }
        public BakedManifest Manifest { get { return _manifest; } }
        public double Intensity { get { return _intensity; } }

        /// <summary>Master volume of the music and stingers (the sources' own volume is left to this player).</summary>
        public float Volume
        {
            get { return volume; }
            set { volume = Mathf.Clamp01(value); foreach (Voice v in _voices) foreach (AudioSource s in v.Sources) s.volume = volume; }
        }

        private void Awake()
        {
            TextAsset text = manifest;
            if (text == null && !string.IsNullOrEmpty(resourcesFolder))
                text = Resources.Load<TextAsset>(resourcesFolder.TrimEnd('/') + "/manifest");
            if (text == null)
                throw new BakedManifestException("BakedMusicPlayer: set resourcesFolder (a baked pack under Resources/) or assign manifest");
            _manifest = BakedManifest.Parse(text.text);
            foreach (AudioClip clip in clips) if (clip != null) _clips[clip.name] = clip;
            _random = new System.Random(randomSeed);
            _guardSamples = Math.Max(1, (int)Math.Round(_manifest.SampleRate / 1000.0));
            _outputRate = AudioSettings.outputSampleRate;
        }

        private void Start()
        {
            if (playOnStart) SetState(_manifest.StartState);
        }

        private long Now()
        {
            if (_state == null) _sessionStartDsp = AudioSettings.dspTime + leadSeconds;
            return BakedScheduler.SessionSampleAt(_sessionStartDsp, AudioSettings.dspTime, leadSeconds, _manifest.SampleRate);
        }

        private long DspSample(double dsp) { return GainEnvelope.DspSample(dsp, _outputRate); }

        private long OutputSamples(long manifestSamples)
        {
            return (long)Math.Round((double)manifestSamples * _outputRate / _manifest.SampleRate);
        }

        /// <summary>
        /// Go to a state on the sync point its transition rule names. A request made while an
        /// earlier one waits for its sync point replaces it; music already fading out keeps
        /// fading (a second request during a crossfade never cuts it).
        /// </summary>
        public BakedTransitionPlan SetState(string name)
        {
            BakedState target = _manifest.State(name); // unknown state: BakedManifestException naming the states
            long now = Now();
            if (_pending != null && _pending.SyncDsp > AudioSettings.dspTime)
            {
                if (_pending.Target == name) return _pending;
                CancelPending();
                if (_state == name) return null; // back to what still plays: nothing changes
            }
            else if (_state == name) return null;
            BakedTransitionPlan plan = BakedScheduler.PlanTransition(_manifest, _state, _origin, now, name, _guardSamples, _sessionStartDsp);
            Execute(plan, target);
            _pending = plan;
            return plan;
        }

        /// <summary>Schedules a planned transition: outgoing fades, filler, the incoming voice, and a one-shot's follow-up.</summary>
        private void Execute(BakedTransitionPlan plan, BakedState target)
        {
            string name = plan.Target;
            var outgoing = new List<Voice>(_voices);
            long outStart = DspSample(plan.SyncDsp);
            long outLength = OutputSamples(plan.OutFadeSamples);
            foreach (Voice voice in outgoing)
            {
                foreach (GainEnvelope envelope in voice.Envelopes) envelope.FadeOut(outStart, outLength);
                double end = plan.SyncDsp + (double)outLength / _outputRate;
                if (end < voice.EndDsp)
                {
                    voice.EndDsp = end;
                    foreach (AudioSource source in voice.Sources) source.SetScheduledEndTime(end);
                }
            }
            if (plan.FillerStinger != null) ScheduleStinger(_manifest.Stingers[plan.FillerStinger], plan.SyncDsp, 0.0, 0.0);
            if (plan.Bridge != null) StartBridge(plan);
            if (plan.Rule != null && plan.Rule.HoldPrevious) _held = plan.Source;

            _variant = plan.TargetVariant >= 0 && plan.TargetVariant < target.Variants.Count
                ? plan.TargetVariant  // a bridge leads into this variant
                : BakedScheduler.NextVariant(target.Variants.Count, -1, target.VariantWeights, _random);
            _intensity = target.Intensity;
            Voice incoming = StartVoice(target, name, target.Variants[_variant], plan.EnterDsp, plan.OffsetSamples,
                OutputSamples(plan.InFadeSamples), plan.Origin);
            _current = incoming;
            _state = name;
            _origin = plan.Origin;
            var entry = new Entry { State = name, Origin = plan.Origin, Sync = plan.SyncSample, Enter = plan.EnterSample };
            _entries.Add(entry);
            long now = Now();
            int past = _entries.FindLastIndex(e => e.Sync <= now);  // older entries are history
            if (past > 0) _entries.RemoveRange(0, past);
            RelayStingers(entry);
            _nextRotation = target.OneShot ? long.MaxValue : BakedScheduler.NextLoopBoundary(_origin, plan.EnterSample + 1, target.LoopSamples);
            if (!target.OneShot) return;
            // A one-shot hands over to its `next` state (or the state a hold_previous rule
            // remembered) when it ends, like the director.
            string follow = target.Next != null && _manifest.States.ContainsKey(target.Next) ? target.Next : _held;
            if (follow == null) return;
            _held = null;
            BakedTransitionPlan next = BakedScheduler.PlanTransition(
                _manifest, name, plan.Origin, plan.EnterSample, follow, _guardSamples, _sessionStartDsp, true);
            Execute(next, _manifest.State(follow));
        }

        /// <summary>
        /// Drops the planned transition (and a one-shot follow-up) that has not started: voices
        /// not yet playing are removed, fade-outs not yet begun are cancelled, and the music
        /// playing now goes on as before. A fade already running keeps running.
        /// </summary>
        private void CancelPending()
        {
            double nowDsp = AudioSettings.dspTime;
            long now = DspSample(nowDsp);
            foreach (Voice voice in new List<Voice>(_voices))
                if (voice.StartDsp > nowDsp) StopVoice(voice);
            Voice previous = null;
            foreach (Voice voice in _voices)
            {
                bool resumed = false;
                foreach (GainEnvelope envelope in voice.Envelopes) resumed |= envelope.CancelFadeOutAfter(now);
                if (!resumed) continue;
                voice.EndDsp = double.MaxValue;
                foreach (AudioSource source in voice.Sources) source.SetScheduledEndTime(double.MaxValue);
                previous = voice;
            }
            _current = previous;
            _state = previous != null ? previous.State : null;
            _origin = previous != null ? previous.Origin : 0;
            _held = null;
            long nowSample = BakedScheduler.SessionSampleAt(_sessionStartDsp, nowDsp, leadSeconds, _manifest.SampleRate);
            _entries.RemoveAll(e => e.Sync > nowSample);
            foreach (LaidStinger laid in _laid)  // laid again for a dropped state: plan it anew
            {
                if (laid.Plan.AtDsp <= nowDsp) continue;
                BakedStingerPlan plan = Through(laid.First, laid.Requested);
                if (plan.AtSample != laid.Plan.AtSample || plan.Rendition != laid.Plan.Rendition) Reschedule(laid, plan);
            }
            if (_state != null)
            {
                BakedState state = _manifest.State(_state);
                _nextRotation = state.OneShot ? long.MaxValue : BakedScheduler.NextLoopBoundary(_origin, Now(), state.LoopSamples);
            }
            _pending = null;
        }

        /// <summary>Vertical remix: each stem's level follows the intensity with the director's curves.</summary>
        public void SetIntensity(double intensity)
        {
            double target = Math.Max(0, Math.Min(1, intensity));
            long start = DspSample(AudioSettings.dspTime + leadSeconds);
            // the service sweeps 0 -> 1 in 0.5 s: a layer's ramp takes as long as the intensity move
            long length = Math.Max(1, (long)Math.Round(Math.Abs(target - _intensity) * 0.5 * _outputRate));
            _intensity = target;
            foreach (Voice voice in _voices) RampLayers(voice, start, length);
        }

        private void RampLayers(Voice voice, long start, long length)
        {
            for (int i = 0; i < voice.Stems.Count; i++)
                if (voice.Stems[i] != null) voice.Envelopes[i].RampLevel(start, LayerGain(voice.Stems[i]), length);
        }

        private double LayerGain(BakedStem stem)
        {
            return stem.GainAt(_intensity) * Math.Pow(10, stem.GainDb / 20);
        }

        /// <summary>
        /// Lay a stinger over the music on its sync point (next beat or bar); the music ducks
        /// under it. Several stingers may be planned and play at once, each on its own source.
        /// </summary>
        /// <remarks>
        /// The stinger plays its rendition for the state current at its request (the director's
        /// rule: a state is current from its transition's sync point), and is laid again on a
        /// state's grid, in that state's rendition, when a state enters at or before its onset.
        /// </remarks>
        public BakedStingerPlan PlayStinger(string name)
        {
            long now = Now();
            Entry host = null;  // the state current now: the last entry whose sync point has passed
            foreach (Entry entry in _entries) if (entry.Sync <= now) host = entry;
            BakedStingerPlan plan = BakedScheduler.PlanStinger(
                _manifest, host != null ? host.State : null, host != null ? host.Origin : 0, now, name, _sessionStartDsp);
            var laid = new LaidStinger { First = plan, Requested = now, Plan = Through(plan, now) };
            plan = laid.Plan;
            laid.Source = ScheduleStinger(plan.Take, plan.AtDsp, plan.DuckDb, plan.HoldEndDsp, out laid.Duck);
            _laid.Add(laid);
            _laid.RemoveAll(l => l.Plan.EndDsp < AudioSettings.dspTime);
            return plan;
        }

        /// <summary>A state was planned to enter: stingers that start at or after it follow it.</summary>
        private void RelayStingers(Entry entry)
        {
            foreach (LaidStinger laid in _laid)
            {
                if (laid.Plan.AtDsp <= AudioSettings.dspTime) continue;  // already playing
                BakedStingerPlan moved = BakedScheduler.RelayStinger(_manifest, laid.Plan, entry.State, entry.Origin, entry.Enter, _sessionStartDsp);
                if (moved != null) Reschedule(laid, moved);
            }
        }

        /// <summary><paramref name="first"/> relayed through the states planned to enter after <paramref name="requested"/>, in order.</summary>
        private BakedStingerPlan Through(BakedStingerPlan first, long requested)
        {
            BakedStingerPlan plan = first;
            foreach (Entry entry in _entries)
                if (entry.Sync > requested)
                    plan = BakedScheduler.RelayStinger(_manifest, plan, entry.State, entry.Origin, entry.Enter, _sessionStartDsp) ?? plan;
            return plan;
        }

        private void Reschedule(LaidStinger laid, BakedStingerPlan plan)
        {
            laid.Source.Stop();  // not started yet: schedule it again
            _stingerBusyUntil.Remove(laid.Source);
            if (laid.Duck != null)
            {
                long[] d = laid.Duck;
                _ducks.Remove(d);
                foreach (Voice voice in _voices)
                    foreach (GainEnvelope envelope in voice.Envelopes) envelope.RemoveDuck(d[0], d[1]);
            }
            laid.Plan = plan;
            laid.Source = ScheduleStinger(plan.Take, plan.AtDsp, plan.DuckDb, plan.HoldEndDsp, out laid.Duck);
        }

        private void ScheduleStinger(BakedStinger stinger, double atDsp, double duckDb, double holdEndDsp)
        {
            long[] duck;
            ScheduleStinger(stinger, atDsp, duckDb, holdEndDsp, out duck);
        }

        private AudioSource ScheduleStinger(BakedStinger stinger, double atDsp, double duckDb, double holdEndDsp, out long[] duck)
        {
            duck = null;
            AudioSource source = FreeStingerSource(atDsp);
            source.clip = Clip(stinger.File);
            source.volume = volume * (float)Math.Pow(10, stinger.GainDb / 20);
            source.PlayScheduled(atDsp);
            _stingerBusyUntil[source] = atDsp + (double)stinger.Frames / _manifest.SampleRate;
            if (duckDb >= 0) return source;
            long at = DspSample(atDsp);
            long holdEnd = DspSample(holdEndDsp);
            long ramp = Math.Max(1, (long)Math.Round(0.010 * _outputRate)); // the director's 10 ms duck ramp
            double depth = Math.Pow(10, duckDb / 20);
            duck = new[] { at, holdEnd, ramp, (long)Math.Round(depth * 1e9) };
            _ducks.Add(duck);
            foreach (Voice voice in _voices)
                foreach (GainEnvelope envelope in voice.Envelopes) envelope.AddDuck(at, holdEnd, depth, ramp);
            return source;
        }

        /// <summary>
        /// A transition's baked bridge: one source from the sync point (a guard fade-in, ducked
        /// by stingers like music) that plays once to its end; the target enters on its last bar
        /// line (plan.EnterDsp), like the director's bridge voice.
        /// </summary>
        private void StartBridge(BakedTransitionPlan plan)
        {
            var voice = new Voice { State = plan.Target, Variant = -1, Origin = plan.SyncSample, StartDsp = plan.SyncDsp, Bridge = true };
            long start = DspSample(plan.SyncDsp);
            var envelope = new GainEnvelope();
            envelope.FadeIn(start, Math.Max(1, OutputSamples(_guardSamples)));
            foreach (long[] d in _ducks) envelope.AddDuck(d[0], d[1], d[3] / 1e9, d[2]);
            AudioSource source = NewSource("Ostinato bridge " + plan.Bridge.Key, output, envelope);
            source.clip = Clip(plan.Bridge.File);
            source.loop = false;
            source.PlayScheduled(plan.SyncDsp);
            voice.EndDsp = plan.BridgeEndDsp;
            source.SetScheduledEndTime(plan.BridgeEndDsp);
            voice.Sources.Add(source);
            voice.Envelopes.Add(envelope);
            voice.Stems.Add(null);
            _voices.Add(voice);
        }

        private AudioSource FreeStingerSource(double atDsp)
        {
            foreach (AudioSource source in _stingerSources)
            {
                double busy;
                if (!_stingerBusyUntil.TryGetValue(source, out busy) || busy <= AudioSettings.dspTime) return source;
            }
            AudioSource added = NewSource("Ostinato stinger " + _stingerSources.Count, stingerOutput != null ? stingerOutput : output, null);
            _stingerSources.Add(added);
            return added;
        }

        private AudioSource NewSource(string label, AudioMixerGroup group, GainEnvelope envelope)
        {
            var child = new GameObject(label);
            child.transform.SetParent(transform, false);
            AudioSource source = child.AddComponent<AudioSource>();
            source.playOnAwake = false;
            source.outputAudioMixerGroup = group;
            source.volume = volume;
            if (envelope != null) child.AddComponent<GainEnvelopeFilter>().Bind(envelope, _outputRate);
            return source;
        }

        private Voice StartVoice(BakedState state, string name, BakedVariant variant, double startDsp, long offsetSamples,
            long fadeInSamples, long origin)
        {
            var voice = new Voice { State = name, Variant = variant.Index, Origin = origin, StartDsp = startDsp };
            var files = new List<BakedFile>();
            if (useStems && variant.Stems.Count > 0)
            {
                foreach (BakedStem stem in state.Stems)
                {
                    BakedFile file;
                    if (variant.Stems.TryGetValue(stem.Name, out file)) { files.Add(file); voice.Stems.Add(stem); }
                }
            }
            else
            {
                files.Add(variant.File);
                voice.Stems.Add(null);
            }
            long start = DspSample(startDsp);
            long now = DspSample(AudioSettings.dspTime);
            _ducks.RemoveAll(d => Math.Max(d[0] + d[2], d[1]) + d[2] <= now);
            for (int i = 0; i < files.Count; i++)
            {
                var envelope = new GainEnvelope();
                envelope.FadeIn(start, fadeInSamples);
                foreach (long[] d in _ducks) envelope.AddDuck(d[0], d[1], d[3] / 1e9, d[2]); // stingers already ducking
                envelope.SetLevel(voice.Stems[i] != null ? LayerGain(voice.Stems[i]) : 1.0);
                AudioSource source = NewSource("Ostinato " + name + " " + files[i].ClipName, output, envelope);
                source.clip = Clip(files[i]);
                source.loop = !state.OneShot;
                source.timeSamples = (int)offsetSamples;
                source.PlayScheduled(startDsp);
                voice.Sources.Add(source);
                voice.Envelopes.Add(envelope);
            }
            _voices.Add(voice);
            return voice;
        }

        private void StopVoice(Voice voice)
        {
            foreach (AudioSource source in voice.Sources)
            {
                source.Stop();
                Destroy(source.gameObject);
            }
            _voices.Remove(voice);
        }

        private AudioClip Clip(BakedFile file)
        {
            AudioClip clip;
            if (_clips.TryGetValue(file.ClipName, out clip)) return clip;
            if (!string.IsNullOrEmpty(resourcesFolder))
                clip = Resources.Load<AudioClip>(resourcesFolder.TrimEnd('/') + "/" + file.ResourcePath);
            if (clip == null)
                throw new BakedManifestException("no AudioClip '" + file.ClipName + "': put the baked folder under Resources/ and set resourcesFolder, or assign it in clips");
            _clips[file.ClipName] = clip;
            return clip;
        }

        private void Update()
        {
            if (_state == null) return;
            double dsp = AudioSettings.dspTime;
            if (_pending != null && _pending.SyncDsp <= dsp) _pending = null;
            long now = BakedScheduler.SessionSampleAt(_sessionStartDsp, dsp, leadSeconds, _manifest.SampleRate);
            BakedState state = _manifest.State(_state);
            if (_current != null && now >= _nextRotation - state.LoopSamples / 4 && state.Variants.Count > 1)
            {
                // The next variant starts at the loop boundary on the DSP clock; the two meet in a
                // short equal-power crossfade like the service's rotation.
                long boundary = _nextRotation;
                double boundaryDsp = BakedTiming.SampleToDsp(_sessionStartDsp, boundary, _manifest.SampleRate);
                long fade = Math.Max(1, (long)Math.Round(variantFadeMs / 1000.0 * _outputRate));
                foreach (GainEnvelope envelope in _current.Envelopes) envelope.FadeOut(DspSample(boundaryDsp), fade);
                double end = boundaryDsp + (double)fade / _outputRate;
                _current.EndDsp = end;
                foreach (AudioSource source in _current.Sources) source.SetScheduledEndTime(end);
                _variant = BakedScheduler.NextVariant(state.Variants.Count, _variant, state.VariantWeights, _random);
                _current = StartVoice(state, _state, state.Variants[_variant], boundaryDsp, 0, fade, _origin);
                _nextRotation = boundary + state.LoopSamples;
            }
            RaiseEvents(dsp);
            // Sources whose fade-out ended are released (their audio stopped on the DSP clock).
            for (int i = _voices.Count - 1; i >= 0; i--)
                if (_voices[i] != _current && _voices[i].EndDsp + 0.1 < dsp) StopVoice(_voices[i]);
        }

        /// <summary>Beat, bar and state events for what the DSP clock has reached (at most a frame late).</summary>
        private void RaiseEvents(double dsp)
        {
            Voice voice = null; // the newest music that has started and not ended
            for (int i = _voices.Count - 1; i >= 0 && voice == null; i--)
                if (!_voices[i].Bridge && _voices[i].StartDsp <= dsp && _voices[i].EndDsp > dsp) voice = _voices[i];
            if (voice == null) return;
            if (_announced != voice && _announced?.State != voice.State)
                onStateChanged.Invoke(voice.State, voice.Variant);
            _announced = voice;
            BakedState state = _manifest.State(voice.State);
            LoopGrid grid = state.Grid;
            long heard = BakedTiming.DspToSample(_sessionStartDsp, dsp, _manifest.SampleRate);
            long from = Math.Max(_lastBeat + 1, BakedTiming.DspToSample(_sessionStartDsp, voice.StartDsp, _manifest.SampleRate));
            long next = voice.Origin + BakedTiming.NextSyncSample(from - voice.Origin, LeaveAt.NextBeat, grid, 1);
            while (next <= heard)
            {
                long inside = ((next - voice.Origin) % grid.LoopSamples + grid.LoopSamples) % grid.LoopSamples;
                int index = Array.BinarySearch(grid.BeatSamples, inside);
                int beat = index < 0 ? 0 : index % grid.BeatsPerBar;
                if (beat == 0) _bar++;
                var info = new BeatInfo
                {
                    bar = _bar, beat = beat, position = (double)next / _manifest.SampleRate, tempo = state.Bpm,
                    timeSignatureUpper = grid.BeatsPerBar, timeSignatureLower = MeterLower(state.Meter),
                    state = voice.State, variant = voice.Variant,
                };
                onBeat.Invoke(info);
                if (beat == 0) onBar.Invoke(info);
                _lastBeat = next;
                next = voice.Origin + BakedTiming.NextSyncSample(next + 1 - voice.Origin, LeaveAt.NextBeat, grid, 1);
            }
        }

        private static int MeterLower(string meter)
        {
            int slash = meter != null ? meter.IndexOf('/') : -1;
            int lower;
            return slash > 0 && int.TryParse(meter.Substring(slash + 1), out lower) ? lower : 4;
        }
    }
}
