// Unity component playing an Ostinato service's music through OnAudioFilterRead.
// Thin by design: the protocol, sockets, threads and the PCM ring live in the
// engine-free core (Ostinato.Core); this class maps them onto Unity: inspector
// fields, UnityEvents raised on the main thread, and a clean shutdown that
// closes the sockets and joins the client's threads (no NetMQ, no hanging editor).
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading.Tasks;
using Ostinato.Client;
using Ostinato.Client.Audio;
using UnityEngine;
using UnityEngine.Events;

namespace Ostinato.Unity
{
    /// <summary>What FMOD's timeline-beat callback carries, plus state and variant.</summary>
    [Serializable]
    public struct BeatInfo
    {
        public int bar;
        public int beat;
        /// <summary>Seconds on the session clock.</summary>
        public double position;
        public double tempo;
        public int timeSignatureUpper;
        public int timeSignatureLower;
        public string state;
        public int variant;
    }

    [Serializable] public class BeatEvent : UnityEvent<BeatInfo> { }
    /// <summary>(from, to, seconds until heard)</summary>
    [Serializable] public class TransitionEvent : UnityEvent<string, string, float> { }
    /// <summary>(state, variant)</summary>
    [Serializable] public class StateEvent : UnityEvent<string, int> { }
    /// <summary>(code, message): codes are docs/protocol.md's, plus "disconnected".</summary>
    [Serializable] public class ErrorEvent : UnityEvent<string, string> { }

    [AddComponentMenu("Audio/Ostinato Music Player")]
    [RequireComponent(typeof(AudioSource))]
    public sealed class OstinatoMusicPlayer : MonoBehaviour
    {
        [Header("Service")]
        [Tooltip("The service's request endpoint (ostinato serve --bind).")]
        public string endpoint = "tcp://127.0.0.1:5570";
        [Tooltip("Pack to play; empty plays the service's first pack.")]
        public string pack = "";
        [Tooltip("State entered once connected; empty keeps the session's state.")]
        public string startState = "";
        public bool connectOnStart = true;

        [Header("Streaming")]
        [Tooltip("Blocks kept in flight and buffered (jitter buffer). 8 x 1024 frames = 171 ms at 48 kHz.")]
        [Range(2, 64)] public int bufferBlocks = 8;
        [Range(128, 16384)] public int blockFrames = 1024;
        [Tooltip("Opt-in: switch Unity's output to the pack's sample rate (48 kHz) with AudioSettings.Reset, which re-initialises the game's whole audio device. Off (default): the stream is resampled to the output rate.")]
        public bool matchOutputSampleRate = false;

        [Header("Events (main thread, when audible)")]
        public UnityEvent onConnected = new UnityEvent();
        public BeatEvent onBeat = new BeatEvent();
        public BeatEvent onBar = new BeatEvent();
        public TransitionEvent onTransitionPlanned = new TransitionEvent();
        public TransitionEvent onTransitionStarted = new TransitionEvent();
        public StateEvent onStateChanged = new StateEvent();
        public ErrorEvent onError = new ErrorEvent();

        private OstinatoClient _client;
        private RequestQueue _queue;
        private readonly List<MusicEvent> _events = new List<MusicEvent>();
        private readonly ConcurrentQueue<KeyValuePair<string, string>> _errors = new ConcurrentQueue<KeyValuePair<string, string>>();
        private float[] _stereo = new float[8192];
        private int _outputSampleRate;
        private volatile bool _playing;
        private StereoResampler _resampler;        // only when the output rate differs
        private StereoResampler.Reader _reader;

        public OstinatoClient Client { get { return _client; } }
        public string SessionId { get { return _client != null ? _client.SessionId : null; } }
        public long Underruns { get { return _client != null ? _client.Underruns : 0; } }

        private void Start()
        {
            if (connectOnStart) Connect();
        }

        /// <summary>Requests waiting for the connection or for their turn (they are sent in call order).</summary>
        public int PendingRequests { get { return _queue != null ? _queue.Pending : 0; } }

        private RequestQueue Queue()
        {
            if (_queue == null) _queue = new RequestQueue(ReportError);
            return _queue;
        }

        /// <summary>
        /// Connects on a worker thread (the game never waits for the network). Requests made
        /// before the connection is up (SetState in Start, even before Connect) wait for it and
        /// are sent in call order.
        /// </summary>
        public void Connect()
        {
            if (_client != null) return;
            RequestQueue queue = Queue();
            int serviceRate = 48000;
            if (matchOutputSampleRate && AudioSettings.outputSampleRate != serviceRate)
            {
                AudioConfiguration config = AudioSettings.GetConfiguration();
                config.sampleRate = serviceRate;
                AudioSettings.Reset(config);
            }
            _outputSampleRate = AudioSettings.outputSampleRate;
            int dspLength, dspCount;
            AudioSettings.GetDSPBufferSize(out dspLength, out dspCount);
            var client = new OstinatoClient(new OstinatoOptions
            {
                Endpoint = endpoint,
                ClientName = "unity-package/0.1",
                Pack = string.IsNullOrEmpty(pack) ? null : pack,
                Format = "f32",
                BlockFrames = blockFrames,
                BufferBlocks = bufferBlocks,
                OutputLatencyFrames = dspLength * dspCount,
            });
            _client = client;
            AudioSource source = GetComponent<AudioSource>();
            // A looping clip of ones: the buffer OnAudioFilterRead receives carries the source's
            // gain (volume, fades), which the stream is multiplied by.
            AudioClip carrier = AudioClip.Create("Ostinato stream", _outputSampleRate, 2, _outputSampleRate, false);
            carrier.SetData(FilterMix.OnesClip(_outputSampleRate, 2), 0);
            source.clip = carrier;
            source.loop = true;
            source.spatialBlend = 0f; // music is 2D: no distance attenuation
            source.Play();
            Task.Run(() =>
            {
                try
                {
                    client.Connect();
                    _reader = client.ReadAudio;
                    if (client.SampleRate != _outputSampleRate)
                        _resampler = new StereoResampler(client.SampleRate, _outputSampleRate);
                    client.StartStream();
                    _playing = true;
                    if (!string.IsNullOrEmpty(startState)) client.SetState(startState);
                    queue.Open(); // what the game asked for meanwhile goes out now, in order
                }
                catch (Exception e)
                {
                    ReportError(e);
                    queue.Fail(e);
                }
            });
        }

        /// <summary>Tells the service the game's state changed; intensity in 0..1, or -1 for the state's default.</summary>
        public void SetState(string state, float intensity = -1f)
        {
            Send(c => c.SetState(state, intensity));
        }

        public void SetIntensity(float value)
        {
            Send(c => c.SetIntensity(Mathf.Clamp01(value)));
        }

        public void PlayStinger(string stinger)
        {
            Send(c => c.PlayStinger(stinger));
        }

        // One ordered queue, one worker thread: calls reach the service in the order they were
        // made, and calls made before the connection is up wait for it.
        private void Send(Func<OstinatoClient, Dictionary<string, object>> request)
        {
            Queue().Enqueue(() =>
            {
                OstinatoClient client = _client;
                if (client == null) throw new OstinatoProtocolException("not_connected", "the player was shut down", null);
                request(client);
            });
        }

        private void ReportError(Exception e)
        {
            var protocolError = e as OstinatoProtocolException;
            ReportError(protocolError != null ? protocolError.Code : e.GetType().Name, e.Message);
        }

        private void ReportError(string code, string message)
        {
            _errors.Enqueue(new KeyValuePair<string, string>(code, message));
        }

        // Audio thread: copies the stream into Unity's buffer; never blocks, never allocates
        // unless the output has more than two channels and a bigger buffer than ever before.
        private void OnAudioFilterRead(float[] data, int channels)
        {
            OstinatoClient client = _client;
            StereoResampler resampler = _resampler;
            if (client == null || !_playing) return;
            int frames = data.Length / channels;
            if (_stereo.Length < frames * 2) _stereo = new float[frames * 2];
            if (resampler != null) resampler.Process(_reader, _stereo, 0, frames);
            else client.ReadAudio(_stereo, 0, frames * 2);
            // data holds the AudioSource's gain (a clip of ones times its volume): multiply,
            // never overwrite, so AudioSource.volume and fades apply to the music.
            FilterMix.MultiplyInto(data, channels, _stereo, frames);
        }

        private void Update()
        {
            KeyValuePair<string, string> error;
            while (_errors.TryDequeue(out error)) onError.Invoke(error.Key, error.Value);
            OstinatoClient client = _client;
            if (client == null) return;
            _events.Clear();
            client.PollEvents(_events);
            foreach (MusicEvent e in _events) Dispatch(client, e);
        }

        private void Dispatch(OstinatoClient client, MusicEvent e)
        {
            switch (e.Kind)
            {
                case MusicEventKind.Connected:
                    onConnected.Invoke();
                    break;
                case MusicEventKind.Disconnected:
                    onError.Invoke("disconnected", e.Message);
                    break;
                case MusicEventKind.Beat:
                    onBeat.Invoke(ToBeatInfo(e));
                    break;
                case MusicEventKind.Bar:
                    onBar.Invoke(ToBeatInfo(e));
                    break;
                case MusicEventKind.TransitionPlanned:
                    {
                        long at = Fields.Int(e.Body, "at_sample");
                        float seconds = Mathf.Max(0f, (float)(at - client.AudibleSample) / client.SampleRate);
                        onTransitionPlanned.Invoke(e.From, e.To, seconds);
                        break;
                    }
                case MusicEventKind.TransitionStarted:
                    onTransitionStarted.Invoke(e.From, e.To, 0f);
                    break;
                case MusicEventKind.StateChanged:
                    onStateChanged.Invoke(e.State, e.Variant);
                    break;
                case MusicEventKind.Error:
                    onError.Invoke(e.Code, e.Message);
                    break;
            }
        }

        private static BeatInfo ToBeatInfo(MusicEvent e)
        {
            return new BeatInfo
            {
                bar = e.Bar, beat = e.Beat, position = e.PositionSeconds, tempo = e.TempoBpm,
                timeSignatureUpper = e.TimeSignatureUpper, timeSignatureLower = e.TimeSignatureLower,
                state = e.State, variant = e.Variant,
            };
        }

        private void OnDestroy()
        {
            Shutdown();
        }

        private void OnApplicationQuit()
        {
            Shutdown();
        }

        /// <summary>Says bye, closes the sockets and joins the client's threads (idempotent).</summary>
        public void Shutdown()
        {
            _playing = false;
            OstinatoClient client = _client;
            _client = null;
            RequestQueue queue = _queue;
            _queue = null;
            if (queue != null) queue.Dispose();
            if (client != null) client.Dispose();
        }
    }
}
