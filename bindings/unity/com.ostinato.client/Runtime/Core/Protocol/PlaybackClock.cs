// Maps frames read from the PCM ring to the service's session clock, and
// releases notifications (beats, bars, transitions) when they become audible.
using System.Collections.Generic;

namespace Ostinato.Client
{
    public sealed class PlaybackClock
    {
        private struct Segment
        {
            public long RingFrame;      // first ring frame of a run of contiguous blocks
            public long SessionSample;  // session clock of that frame
        }

        private readonly object _lock = new object();
        private readonly List<Segment> _segments = new List<Segment>();
        private readonly List<MusicEvent> _pending = new List<MusicEvent>();
        private long _nextRingFrame;
        private long _nextSessionSample = -1;

        /// <summary>Producer: a block of <paramref name="frames"/> starting at <paramref name="sessionSample"/> entered the ring.</summary>
        public void BlockWritten(long sessionSample, int frames)
        {
            lock (_lock)
            {
                if (sessionSample != _nextSessionSample)
                {
                    _segments.Add(new Segment { RingFrame = _nextRingFrame, SessionSample = sessionSample });
                    if (_segments.Count > 64) _segments.RemoveAt(0);
                }
                _nextRingFrame += frames;
                _nextSessionSample = sessionSample + frames;
            }
        }

        /// <summary>Session clock of ring frame <paramref name="ringFrame"/> (-1 before any block).</summary>
        public long SessionSampleAt(long ringFrame)
        {
            lock (_lock)
            {
                for (int i = _segments.Count - 1; i >= 0; i--)
                    if (_segments[i].RingFrame <= ringFrame)
                        return _segments[i].SessionSample + (ringFrame - _segments[i].RingFrame);
                return -1;
            }
        }

        /// <summary>Queues an event; those with Sample &lt; 0 are released on the next poll.</summary>
        public void Enqueue(MusicEvent musicEvent)
        {
            lock (_lock)
            {
                if (_pending.Count > 4096) _pending.RemoveAt(0);
                _pending.Add(musicEvent);
            }
        }

        /// <summary>Moves every event audible at <paramref name="audibleSample"/> to <paramref name="output"/>, in order.</summary>
        public int Release(long audibleSample, List<MusicEvent> output)
        {
            int released = 0;
            lock (_lock)
            {
                for (int i = 0; i < _pending.Count;)
                {
                    MusicEvent e = _pending[i];
                    if (e.Sample < 0 || e.Sample <= audibleSample)
                    {
                        output.Add(e);
                        _pending.RemoveAt(i);
                        released++;
                    }
                    else i++;
                }
            }
            return released;
        }
    }
}
