// Harness command: resample a 1 kHz stereo sine from 48 kHz to another rate through
// the ring, in audio-callback-sized chunks, and report the largest deviation from the
// ideal sine at the output rate plus how many input frames were consumed.
using System;
using System.Collections.Generic;
using Ostinato.Client.Audio;

namespace Ostinato.Harness
{
    internal static class ResampleCheck
    {
        public static int Run(int outputRate, int chunkFrames)
        {
            const int inputRate = 48000;
            const double hz = 1000.0;
            var ring = new PcmRingBuffer(inputRate * 2 * 2);
            var input = new float[inputRate * 2];
            for (int i = 0; i < inputRate; i++)
            {
                input[2 * i] = (float)Math.Sin(2 * Math.PI * hz * i / inputRate);
                input[2 * i + 1] = -input[2 * i];
            }
            ring.Write(input, 0, input.Length);
            var resampler = new StereoResampler(inputRate, outputRate);
            var output = new float[chunkFrames * 2];
            double maxError = 0;
            long frame = 0;
            int outputFrames = outputRate * 9 / 10; // stay inside the second of input
            while (frame < outputFrames)
            {
                resampler.Process(ring.Read, output, 0, chunkFrames);
                for (int i = 0; i < chunkFrames; i++, frame++)
                {
                    // Output frame k sits at input position k * inputRate / outputRate - 1
                    // (the first output frame interpolates between an implicit zero and input 0).
                    double inputPosition = (double)frame * inputRate / outputRate - 1.0;
                    if (inputPosition < 0) continue;
                    double ideal = Math.Sin(2 * Math.PI * hz * inputPosition / inputRate);
                    maxError = Math.Max(maxError, Math.Abs(output[2 * i] - ideal));
                    maxError = Math.Max(maxError, Math.Abs(output[2 * i + 1] + ideal));
                }
            }
            Console.WriteLine(Json.Write(new Dictionary<string, object>
            {
                { "output_rate", (long)outputRate }, { "output_frames", frame }, { "max_error", maxError },
                { "input_frames_consumed", ring.TotalRead / 2 },
            }));
            return 0;
        }
    }
}
