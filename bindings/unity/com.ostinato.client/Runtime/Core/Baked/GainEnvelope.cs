// The gain of one baked AudioSource on the DSP clock, applied sample by sample in the audio
// thread (OnAudioFilterRead), so fades, stinger ducks and intensity layers start on the
// exact sample the scheduler planned, whatever the frame rate. Positions are DSP samples:
// sample n plays at DSP time n / rate. The curves are the service director's: equal-power
// fades (middleware/mixer/curves.py), ducks as linear ramps down, hold, up (director/voice.py,
// several ducks multiply), and a linear ramp for a layer's level.
using System;
using System.Collections.Generic;

namespace Ostinato.Client.Baked
{
    public sealed class GainEnvelope
    {
        private struct Duck
        {
            public long At, HoldEnd, Ramp;
            public double Depth;
        }

        private readonly object _lock = new object();
        private readonly List<Duck> _ducks = new List<Duck>();
        private long _inStart = long.MinValue, _inLength = 1;
        private long _outStart = long.MaxValue, _outLength = 1;
        private long _levelStart, _levelLength = 1;
        private double _levelFrom = 1.0, _levelTo = 1.0;

        /// <summary>The first DSP sample at or after DSP time <paramref name="dsp"/>.</summary>
        public static long DspSample(double dsp, int rate)
        {
            return BakedTiming.DspToSample(0.0, dsp, rate);
        }

        /// <summary>Equal-power fade-in of <paramref name="length"/> samples from <paramref name="start"/> (silent before).</summary>
        public void FadeIn(long start, long length)
        {
            lock (_lock) { _inStart = start; _inLength = Math.Max(1, length); }
        }

        /// <summary>
        /// Equal-power fade-out from <paramref name="start"/>. A fade-out already planned or
        /// running keeps going (a second request never restarts or cuts it); an earlier one wins.
        /// </summary>
        public void FadeOut(long start, long length)
        {
            lock (_lock)
            {
                if (start >= _outStart) return;
                _outStart = start;
                _outLength = Math.Max(1, length);
            }
        }

        /// <summary>Drops a fade-out that has not started by <paramref name="now"/> (its transition was replaced).</summary>
        public bool CancelFadeOutAfter(long now)
        {
            lock (_lock)
            {
                if (_outStart == long.MaxValue || _outStart <= now) return false;
                _outStart = long.MaxValue;
                _outLength = 1;
                return true;
            }
        }

        /// <summary>A stinger's duck: down to <paramref name="depth"/> over <paramref name="ramp"/> samples from <paramref name="at"/>, held to <paramref name="holdEnd"/>, back up.</summary>
        public void AddDuck(long at, long holdEnd, double depth, long ramp)
        {
            lock (_lock) _ducks.Add(new Duck { At = at, HoldEnd = holdEnd, Depth = depth, Ramp = Math.Max(1, ramp) });
        }

        /// <summary>Drop the duck laid from <paramref name="at"/> to <paramref name="holdEnd"/> (a stinger laid again elsewhere); false if there is none.</summary>
        public bool RemoveDuck(long at, long holdEnd)
        {
            lock (_lock)
            {
                int index = _ducks.FindIndex(d => d.At == at && d.HoldEnd == holdEnd);
                if (index < 0) return false;
                _ducks.RemoveAt(index);
                return true;
            }
        }

        /// <summary>Move the level (an intensity layer) linearly to <paramref name="target"/> over <paramref name="length"/> samples from <paramref name="start"/>.</summary>
        public void RampLevel(long start, double target, long length)
        {
            lock (_lock)
            {
                _levelFrom = LevelAt(start);
                _levelTo = target;
                _levelStart = start;
                _levelLength = Math.Max(1, length);
            }
        }

        /// <summary>Sets the level at once (before the source starts).</summary>
        public void SetLevel(double level)
        {
            lock (_lock) { _levelFrom = _levelTo = level; _levelLength = 1; _levelStart = long.MinValue / 2; }
        }

        /// <summary>True from the sample its fade-out ends on: the source may stop.</summary>
        public bool SilentFrom(long sample)
        {
            lock (_lock) return _outStart != long.MaxValue && sample >= _outStart + _outLength;
        }

        /// <summary>The gain of DSP sample <paramref name="n"/>.</summary>
        public double GainAt(long n)
        {
            lock (_lock) return Fade(n) * Ducks(n) * LevelAt(n);
        }

        /// <summary>Multiplies an interleaved buffer whose first frame is DSP sample <paramref name="first"/>.</summary>
        public void Apply(float[] data, int channels, long first)
        {
            lock (_lock)
            {
                int frames = data.Length / channels;
                for (int f = 0; f < frames; f++)
                {
                    long n = first + f;
                    float gain = (float)(Fade(n) * Ducks(n) * LevelAt(n));
                    int at = f * channels;
                    for (int c = 0; c < channels; c++) data[at + c] *= gain;
                }
                if (_ducks.Count > 0) _ducks.RemoveAll(d => first + frames >= Math.Max(d.At + d.Ramp, d.HoldEnd) + d.Ramp);
            }
        }

        private double Fade(long n)
        {
            double gain = 1.0;
            if (_inStart != long.MinValue)
            {
                long k = n - _inStart;
                gain = k < 0 ? 0.0 : k >= _inLength ? 1.0 : Math.Sin(0.5 * Math.PI * (k + 1) / _inLength);
            }
            if (_outStart != long.MaxValue)
            {
                long k = n - _outStart;
                if (k >= _outLength) return 0.0;
                if (k >= 0) gain *= Math.Sin(0.5 * Math.PI * (_outLength - 1 - k) / _outLength);
            }
            return gain;
        }

        private double Ducks(long n)
        {
            double gain = 1.0;
            foreach (Duck d in _ducks)
            {
                long release = Math.Max(d.At + d.Ramp, d.HoldEnd);
                if (n < d.At || n >= release + d.Ramp) continue;
                if (n < d.At + d.Ramp)
                    gain *= n == d.At + d.Ramp - 1 ? d.Depth : 1.0 + (d.Depth - 1.0) * (n - d.At + 1) / d.Ramp;
                else if (n < release)
                    gain *= d.Depth;
                else
                    gain *= n == release + d.Ramp - 1 ? 1.0 : d.Depth + (1.0 - d.Depth) * (n - release + 1) / d.Ramp;
            }
            return gain;
        }

        private double LevelAt(long n)
        {
            long k = n - _levelStart;
            if (k >= _levelLength) return _levelTo;
            if (k < 0) return _levelFrom;
            return _levelFrom + (_levelTo - _levelFrom) * (k + 1) / _levelLength;
        }
    }
}
