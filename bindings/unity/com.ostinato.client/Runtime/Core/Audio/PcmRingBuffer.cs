// Lock-free single-producer/single-consumer ring of interleaved float samples.
// The network thread writes decoded PCM blocks, the audio thread
// (OnAudioFilterRead, or a Godot .NET generator feed) reads; neither blocks.
using System;
using System.Threading;

namespace Ostinato.Client.Audio
{
    public sealed class PcmRingBuffer
    {
        private readonly float[] _samples;
        private readonly int _mask;
        private long _writeIndex; // total samples ever written (producer-owned)
        private long _readIndex;  // total samples ever read (consumer-owned)

        /// <summary>Creates a ring holding at least <paramref name="minCapacitySamples"/> samples (rounded up to a power of two).</summary>
        public PcmRingBuffer(int minCapacitySamples)
        {
            if (minCapacitySamples <= 0) throw new ArgumentOutOfRangeException("minCapacitySamples", "capacity must be positive");
            int capacity = 1;
            while (capacity < minCapacitySamples) capacity <<= 1;
            _samples = new float[capacity];
            _mask = capacity - 1;
        }

        public int Capacity { get { return _samples.Length; } }

        /// <summary>Samples ready to read.</summary>
        public int Available { get { return (int)(Volatile.Read(ref _writeIndex) - Volatile.Read(ref _readIndex)); } }

        /// <summary>Room left for the producer.</summary>
        public int FreeSpace { get { return Capacity - Available; } }

        /// <summary>Total samples read so far (the audible clock, in samples, once played).</summary>
        public long TotalRead { get { return Volatile.Read(ref _readIndex); } }

        /// <summary>Total samples written so far.</summary>
        public long TotalWritten { get { return Volatile.Read(ref _writeIndex); } }

        /// <summary>Producer: copies up to <paramref name="count"/> samples in; returns how many fit.</summary>
        public int Write(float[] source, int offset, int count)
        {
            long write = _writeIndex;
            long read = Volatile.Read(ref _readIndex);
            int n = (int)Math.Min(count, Capacity - (write - read));
            int start = (int)(write & _mask);
            int first = Math.Min(n, Capacity - start);
            Array.Copy(source, offset, _samples, start, first);
            if (n > first) Array.Copy(source, offset + first, _samples, 0, n - first);
            Volatile.Write(ref _writeIndex, write + n);
            return n;
        }

        /// <summary>Consumer: copies up to <paramref name="count"/> samples out; returns how many were available.</summary>
        public int Read(float[] destination, int offset, int count)
        {
            long read = _readIndex;
            long write = Volatile.Read(ref _writeIndex);
            int n = (int)Math.Min(count, write - read);
            int start = (int)(read & _mask);
            int first = Math.Min(n, Capacity - start);
            Array.Copy(_samples, start, destination, offset, first);
            if (n > first) Array.Copy(_samples, 0, destination, offset + first, n - first);
            Volatile.Write(ref _readIndex, read + n);
            return n;
        }
    }
}
