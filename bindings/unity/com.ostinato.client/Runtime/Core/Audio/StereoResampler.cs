// Linear-interpolation resampler for interleaved stereo, for outputs that do not run
// at the stream's rate (e.g. a 44.1 kHz device). Pulls exactly the input frames it
// needs from a reader (usually OstinatoClient.ReadAudio) and keeps its phase across
// calls, so consecutive buffers join without clicks. No allocation after warm-up.
using System;

namespace Ostinato.Client.Audio
{
    public sealed class StereoResampler
    {
        /// <summary>Reads up to <c>count</c> interleaved samples into <c>buffer</c> at <c>offset</c>; returns how many.</summary>
        public delegate int Reader(float[] buffer, int offset, int count);

        private readonly double _step;
        private double _position = 1.0; // phase between _previous and _next frames; >= 1 pulls input
        private float _previousLeft, _previousRight, _nextLeft, _nextRight;
        private float[] _scratch = new float[4096];
        private readonly float[] _one = new float[2];

        public StereoResampler(int inputRate, int outputRate)
        {
            if (inputRate <= 0 || outputRate <= 0) throw new ArgumentOutOfRangeException("inputRate", "sample rates must be positive");
            InputRate = inputRate;
            OutputRate = outputRate;
            _step = (double)inputRate / outputRate;
        }

        public int InputRate { get; private set; }
        public int OutputRate { get; private set; }

        /// <summary>Fills <paramref name="frames"/> output frames (interleaved stereo) at <paramref name="offset"/>.</summary>
        public void Process(Reader read, float[] output, int offset, int frames)
        {
            if (frames <= 0) return;
            int advances = (int)Math.Floor(_position + (frames - 1) * _step);
            int samples = advances * 2;
            if (_scratch.Length < samples) _scratch = new float[samples];
            int got = samples > 0 ? read(_scratch, 0, samples) : 0;
            int index = 0;
            for (int i = 0; i < frames; i++)
            {
                while (_position >= 1.0)
                {
                    _previousLeft = _nextLeft;
                    _previousRight = _nextRight;
                    if (index + 2 <= got)
                    {
                        _nextLeft = _scratch[index++];
                        _nextRight = _scratch[index++];
                    }
                    else
                    {
                        // Rounding asked for one frame more than planned, or the input ran dry.
                        int n = read(_one, 0, 2);
                        _nextLeft = n == 2 ? _one[0] : 0f;
                        _nextRight = n == 2 ? _one[1] : 0f;
                    }
                    _position -= 1.0;
                }
                float t = (float)_position;
                output[offset + 2 * i] = _previousLeft + (_nextLeft - _previousLeft) * t;
                output[offset + 2 * i + 1] = _previousRight + (_nextRight - _previousRight) * t;
                _position += _step;
            }
        }
    }
}
