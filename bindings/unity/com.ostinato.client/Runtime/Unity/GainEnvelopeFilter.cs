// Applies a baked source's GainEnvelope in the audio thread: fades, ducks and layer levels
// land on the exact DSP sample the scheduler planned, not on the next frame.
using Ostinato.Client.Baked;
using UnityEngine;

namespace Ostinato.Unity
{
    /// <summary>Applies a GainEnvelope to its AudioSource in the audio thread, sample by sample on the DSP clock.</summary>
    public sealed class GainEnvelopeFilter : MonoBehaviour
    {
        private GainEnvelope _envelope;
        private int _rate;

        public void Bind(GainEnvelope envelope, int outputRate)
        {
            _envelope = envelope;
            _rate = outputRate;
        }

        private void OnAudioFilterRead(float[] data, int channels)
        {
            GainEnvelope envelope = _envelope;
            if (envelope == null) return;
            envelope.Apply(data, channels, GainEnvelope.DspSample(AudioSettings.dspTime, _rate));
        }
    }
}
