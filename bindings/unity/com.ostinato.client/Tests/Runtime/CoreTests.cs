// Unity Test Framework tests (Window > General > Test Runner) of the package's engine-free
// core. The repository's CI compiles and runs this same file with mono (tests/test_unity_client.py).
using System.Collections.Generic;
using NUnit.Framework;
using Ostinato.Client;
using Ostinato.Client.Audio;
using Ostinato.Client.Baked;

namespace Ostinato.Tests
{
    public sealed class CoreTests
    {
        [Test]
        public void FadeInStartsOnItsPlannedSample()
        {
            var envelope = new GainEnvelope();
            envelope.FadeIn(1000, 480);
            var data = new float[2 * 2048];
            for (int i = 0; i < data.Length; i++) data[i] = 1f;
            envelope.Apply(data, 2, 0);
            Assert.AreEqual(0f, data[2 * 999]);
            Assert.Greater(data[2 * 1000], 0f);
            Assert.AreEqual(1f, data[2 * 1479], 1e-6);
        }

        [Test]
        public void TwoStingerDucksMultiply()
        {
            var envelope = new GainEnvelope();
            envelope.AddDuck(0, 10000, 0.5, 10);
            envelope.AddDuck(100, 10000, 0.5, 10);
            Assert.AreEqual(0.25, envelope.GainAt(5000), 1e-9);
        }

        [Test]
        public void ASecondFadeOutNeverRestartsTheFirst()
        {
            var envelope = new GainEnvelope();
            envelope.FadeOut(1000, 100);
            envelope.FadeOut(1050, 1000);
            Assert.AreEqual(0.0, envelope.GainAt(1100), 1e-12);
        }

        [Test]
        public void FilterMixKeepsTheSourceVolume()
        {
            var data = new float[] { 0.5f, 0.5f, 0.5f, 0.5f };
            FilterMix.MultiplyInto(data, 2, new float[] { 0.2f, -0.4f, 1f, 0f }, 2);
            Assert.AreEqual(0.1f, data[0], 1e-7);
            Assert.AreEqual(-0.2f, data[1], 1e-7);
            Assert.AreEqual(0.5f, data[2], 1e-7);
        }

        [Test]
        public void QueuedRequestsRunInCallOrderOnceOpen()
        {
            var order = new List<int>();
            using (var queue = new RequestQueue(null))
            {
                for (int i = 0; i < 100; i++)
                {
                    int index = i;
                    queue.Enqueue(() => { lock (order) order.Add(index); });
                }
                Assert.AreEqual(100, queue.Pending); // nothing runs before the connection is up
                queue.Open();
                Assert.IsTrue(queue.WaitIdle(5000));
            }
            for (int i = 0; i < 100; i++) Assert.AreEqual(i, order[i]);
        }
    }
}
