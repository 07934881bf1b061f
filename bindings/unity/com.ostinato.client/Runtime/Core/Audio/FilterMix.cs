// Writes the stream into Unity's OnAudioFilterRead buffer without discarding what the
// AudioSource put there. The player's AudioSource plays a looping clip of ones (DC), so
// the buffer arrives holding the source's gain (its volume, fades, a mixer snapshot's
// send): multiplying the stream by it makes AudioSource.volume and everything before the
// filter apply to the music, where copying the stream over the buffer ignored them.
namespace Ostinato.Client.Audio
{
    public static class FilterMix
    {
        /// <summary>
        /// data[i] *= stream sample: <paramref name="stereo"/> holds <paramref name="frames"/>
        /// interleaved stereo frames; mono outputs take the average, channels beyond two are silent.
        /// </summary>
        public static void MultiplyInto(float[] data, int channels, float[] stereo, int frames)
        {
            if (channels == 2)
            {
                int samples = frames * 2;
                for (int i = 0; i < samples; i++) data[i] *= stereo[i];
                return;
            }
            for (int i = 0; i < frames; i++)
            {
                float left = stereo[2 * i], right = stereo[2 * i + 1];
                if (channels == 1) { data[i] *= 0.5f * (left + right); continue; }
                int at = i * channels;
                data[at] *= left;
                data[at + 1] *= right;
                for (int c = 2; c < channels; c++) data[at + c] = 0f;
            }
        }

        /// <summary>The clip the player's AudioSource loops: every sample 1 (the gain carrier).</summary>
        public static float[] OnesClip(int frames, int channels)
        {
            var ones = new float[frames * channels];
            for (int i = 0; i < ones.Length; i++) ones[i] = 1f;
            return ones;
        }
    }
}
