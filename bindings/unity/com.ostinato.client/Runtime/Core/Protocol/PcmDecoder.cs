// Converts PCM stream data frames (little-endian int16 or float32) to floats.
using System;

namespace Ostinato.Client
{
    public static class PcmDecoder
    {
        /// <summary>Decodes <paramref name="data"/> into <paramref name="output"/>; returns the sample count.</summary>
        public static int Decode(byte[] data, string format, float[] output)
        {
            if (format == "f32")
            {
                int samples = data.Length / 4;
                if (BitConverter.IsLittleEndian) Buffer.BlockCopy(data, 0, output, 0, samples * 4);
                else
                    for (int i = 0; i < samples; i++)
                    {
                        int bits = data[4 * i] | (data[4 * i + 1] << 8) | (data[4 * i + 2] << 16) | (data[4 * i + 3] << 24);
                        output[i] = BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
                    }
                return samples;
            }
            if (format == "s16")
            {
                int samples = data.Length / 2;
                for (int i = 0; i < samples; i++)
                    output[i] = (short)(data[2 * i] | (data[2 * i + 1] << 8)) / 32767f;
                return samples;
            }
            throw new ArgumentException("unknown PCM format '" + format + "'");
        }
    }
}
