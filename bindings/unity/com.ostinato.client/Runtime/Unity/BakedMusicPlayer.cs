// Plays a baked Ostinato pack (manifest.json + audio from `ostinato bake`) with no
// service: two decks of AudioSources started with PlayScheduled on the DSP clock, so
// loops, variant changes and transitions start on the exact sample the manifest's beat
// grid says. All timing decisions come from Ostinato.Client.Baked.BakedScheduler (plain
// C#, tested with mono); this component only executes them.
//
// Setup: copy the baked folder into Assets/, assign manifest.json to `manifest` and the
// imported audio clips to `clips` (names match the files: "battle_v0", "battle_v0.drums").
using System;
using System.Collections.Generic;
using Ostinato.Client.Baked;
using UnityEngine;

namespace Ostinato.Unity
{
    public sealed class BakedMusicPlayer : MonoBehaviour
    {
        [SerializeField] private TextAsset manifest;
        [SerializeField] private AudioClip[] clips = new AudioClip[0];
        [SerializeField] private bool useStems = true;
        [SerializeField] private bool playOnStart = true;
        [Tooltip("Scheduling lead: how far ahead of the DSP clock a change is planned.")]
        [SerializeField] private double leadSeconds = 0.1;
        [SerializeField] private int randomSeed = 1;

        private sealed class Deck
        {
            public readonly List<AudioSource> Sources = new List<AudioSource>();
            public readonly List<BakedStem> Stems = new List<BakedStem>();
            public double FadeStartDsp, FadeEndDsp;
            public bool FadingIn = true;
            public double StopDsp = double.MaxValue;
        }

        private readonly Dictionary<string, AudioClip> _clips = new Dictionary<string, AudioClip>();
        private BakedManifest _manifest;
        private Deck[] _decks;
        private int _active;
        private AudioSource _stingerSource;
        private double _sessionStartDsp;
        private string _state;
        private long _origin;
        private int _variant;
        private long _nextRotation = long.MaxValue;
        private double _intensity = 1.0;
        private double _duckEndDsp, _duckStartDsp;
        private float _duckGain = 1f;
        private System.Random _random;
        private int _guardSamples;

        public string CurrentState { get { return _state; } }
        public BakedManifest Manifest { get { return _manifest; } }

        private void Awake()
        {
            _manifest = BakedManifest.Parse(manifest.text);
            foreach (AudioClip clip in clips) if (clip != null) _clips[clip.name] = clip;
            _random = new System.Random(randomSeed);
            _guardSamples = Math.Max(1, (int)Math.Round(_manifest.SampleRate / 1000.0));
            _decks = new[] { NewDeck(), NewDeck() };
            _stingerSource = gameObject.AddComponent<AudioSource>();
            _stingerSource.playOnAwake = false;
        }

        private Deck NewDeck() { return new Deck(); }

        private void Start()
        {
            if (playOnStart) SetState(_manifest.StartState);
        }

        private long Now()
        {
            if (_state == null) _sessionStartDsp = AudioSettings.dspTime + leadSeconds;
            return BakedScheduler.SessionSampleAt(_sessionStartDsp, AudioSettings.dspTime, leadSeconds, _manifest.SampleRate);
        }

        /// <summary>Go to a state on the sync point its transition rule names.</summary>
        public BakedTransitionPlan SetState(string name)
        {
            long now = Now();
            BakedTransitionPlan plan = BakedScheduler.PlanTransition(_manifest, _state, _origin, now, name, _guardSamples, _sessionStartDsp);
            BakedState target = _manifest.State(name);
            Deck outgoing = _decks[_active];
            outgoing.FadingIn = false;
            outgoing.FadeStartDsp = plan.SyncDsp;
            outgoing.FadeEndDsp = BakedTiming.SampleToDsp(_sessionStartDsp, plan.SyncSample + plan.OutFadeSamples, _manifest.SampleRate);
            outgoing.StopDsp = outgoing.FadeEndDsp;
            foreach (AudioSource source in outgoing.Sources) if (source.isPlaying) source.SetScheduledEndTime(outgoing.StopDsp);
            if (plan.FillerStinger != null) ScheduleStinger(_manifest.Stingers[plan.FillerStinger], plan.SyncDsp, 0.0);

            _variant = BakedScheduler.NextVariant(target.Variants.Count, -1, target.VariantWeights, _random);
            _active = 1 - _active;
            StartDeck(_decks[_active], target, target.Variants[_variant], plan.EnterDsp, plan.OffsetSamples,
                plan.EnterDsp, plan.InFadeEndDsp);
            _state = name;
            _origin = plan.Origin;
            _nextRotation = target.OneShot ? long.MaxValue : BakedScheduler.NextLoopBoundary(_origin, plan.EnterSample + 1, target.LoopSamples);
            _intensity = target.Intensity;
            return plan;
        }

        /// <summary>Vertical remix: stems outside their intensity range fade out.</summary>
        public void SetIntensity(double intensity) { _intensity = Math.Max(0, Math.Min(1, intensity)); }

        /// <summary>Lay a stinger over the music on its sync point (next beat or bar).</summary>
        public BakedStingerPlan PlayStinger(string name)
        {
            BakedStingerPlan plan = BakedScheduler.PlanStinger(_manifest, _state, _origin, Now(), name, _sessionStartDsp);
            ScheduleStinger(_manifest.Stingers[name], plan.AtDsp, plan.DuckDb);
            _duckStartDsp = plan.AtDsp;
            _duckEndDsp = plan.EndDsp;
            _duckGain = (float)Math.Pow(10, plan.DuckDb / 20);
            return plan;
        }

        private void ScheduleStinger(BakedStinger stinger, double atDsp, double duckDb)
        {
            _stingerSource.clip = Clip(stinger.File);
            _stingerSource.volume = (float)Math.Pow(10, stinger.GainDb / 20);
            _stingerSource.PlayScheduled(atDsp);
        }

        private void StartDeck(Deck deck, BakedState state, BakedVariant variant, double startDsp, long offsetSamples,
            double fadeStartDsp, double fadeEndDsp)
        {
            deck.Stems.Clear();
            var files = new List<BakedFile>();
            if (useStems && variant.Stems.Count > 0)
            {
                foreach (BakedStem stem in state.Stems)
                {
                    BakedFile file;
                    if (variant.Stems.TryGetValue(stem.Name, out file)) { files.Add(file); deck.Stems.Add(stem); }
                }
            }
            else
            {
                files.Add(variant.File);
                deck.Stems.Add(null);
            }
            while (deck.Sources.Count < files.Count)
            {
                AudioSource source = gameObject.AddComponent<AudioSource>();
                source.playOnAwake = false;
                deck.Sources.Add(source);
            }
            for (int i = 0; i < deck.Sources.Count; i++)
            {
                AudioSource source = deck.Sources[i];
                source.Stop();
                if (i >= files.Count) { source.clip = null; continue; }
                source.clip = Clip(files[i]);
                source.loop = !state.OneShot;
                source.timeSamples = (int)offsetSamples;
                source.volume = 0f;
                source.PlayScheduled(startDsp);
            }
            deck.FadingIn = true;
            deck.FadeStartDsp = fadeStartDsp;
            deck.FadeEndDsp = fadeEndDsp;
            deck.StopDsp = double.MaxValue;
        }

        private AudioClip Clip(BakedFile file)
        {
            AudioClip clip;
            if (!_clips.TryGetValue(file.ClipName, out clip))
                throw new BakedManifestException("no AudioClip named '" + file.ClipName + "' assigned to the BakedMusicPlayer");
            return clip;
        }

        private void Update()
        {
            if (_state == null) return;
            double dsp = AudioSettings.dspTime;
            long now = BakedScheduler.SessionSampleAt(_sessionStartDsp, dsp, leadSeconds, _manifest.SampleRate);
            BakedState state = _manifest.State(_state);
            if (now >= _nextRotation - state.LoopSamples / 4 && state.Variants.Count > 1)
            {
                // Schedule the next variant on the idle deck at the loop boundary: sample-exact, no fade.
                long boundary = _nextRotation;
                double boundaryDsp = BakedTiming.SampleToDsp(_sessionStartDsp, boundary, _manifest.SampleRate);
                _variant = BakedScheduler.NextVariant(state.Variants.Count, _variant, state.VariantWeights, _random);
                Deck current = _decks[_active];
                foreach (AudioSource source in current.Sources) if (source.isPlaying) source.SetScheduledEndTime(boundaryDsp);
                current.StopDsp = boundaryDsp;
                _active = 1 - _active;
                StartDeck(_decks[_active], state, state.Variants[_variant], boundaryDsp, 0, boundaryDsp, boundaryDsp);
                _nextRotation = boundary + state.LoopSamples;
            }
            float duck = dsp >= _duckStartDsp && dsp < _duckEndDsp ? _duckGain : 1f;
            foreach (Deck deck in _decks)
            {
                float fade = dsp >= deck.StopDsp ? 0f : BakedScheduler.FadeGain(dsp, deck.FadeStartDsp, deck.FadeEndDsp, deck.FadingIn);
                for (int i = 0; i < deck.Sources.Count && i < deck.Stems.Count; i++)
                {
                    BakedStem stem = deck.Stems[i];
                    float layer = stem == null || stem.AudibleAt(_intensity) ? 1f : 0f;
                    AudioSource source = deck.Sources[i];
                    float target = fade * layer * duck;
                    // stems move towards their layer gain over ~50 ms instead of jumping
                    source.volume = Mathf.MoveTowards(source.volume, target, Time.unscaledDeltaTime * 20f);
                    if (deck.FadingIn && dsp < deck.FadeEndDsp) source.volume = Math.Min(source.volume, target);
                }
            }
        }
    }
}
