// Compile-time stand-ins for the few UnityEngine types the package's Unity layer uses.
// They let CI type-check Runtime/Unity and the samples with mcs; they have no behaviour
// and are never shipped or run (the real engine provides these types).
using System;

namespace UnityEngine
{
    public class Object
    {
        public string name;
        public static void Destroy(Object obj) { }
    }
    public sealed class GameObject : Object
    {
        public GameObject() { }
        public GameObject(string name) { }
        public Transform transform { get { return null; } }
        public T AddComponent<T>() where T : Component { return null; }
    }
    public class Component : Object
    {
        public GameObject gameObject { get { return null; } }
        public Transform transform { get { return null; } }
        public T GetComponent<T>() { return default(T); }
    }
    public class Transform : Component
    {
        public void SetParent(Transform parent, bool worldPositionStays) { }
    }
    public static class Resources
    {
        public static T Load<T>(string path) where T : Object { return null; }
    }
    public class Behaviour : Component { public bool enabled; }
    public class MonoBehaviour : Behaviour { }

    public class TextAsset : Object { public string text { get { return null; } } }

    public sealed class AudioClip : Object
    {
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream) { return null; }
        public bool SetData(float[] data, int offsetSamples) { return true; }
        public int samples { get { return 0; } }
        public int frequency { get { return 48000; } }
        public int channels { get { return 2; } }
    }

    public sealed class AudioSource : Behaviour
    {
        public AudioClip clip;
        public UnityEngine.Audio.AudioMixerGroup outputAudioMixerGroup;
        public bool loop;
        public float spatialBlend;
        public float volume;
        public bool playOnAwake;
        public int timeSamples;
        public bool isPlaying { get { return false; } }
        public void Play() { }
        public void PlayScheduled(double time) { }
        public void SetScheduledEndTime(double time) { }
        public void Stop() { }
    }

    public struct AudioConfiguration { public int sampleRate; public int dspBufferSize; }

    public static class AudioSettings
    {
        public static int outputSampleRate { get { return 48000; } }
        public static double dspTime { get { return 0.0; } }
        public static AudioConfiguration GetConfiguration() { return new AudioConfiguration(); }
        public static bool Reset(AudioConfiguration config) { return true; }
        public static void GetDSPBufferSize(out int bufferLength, out int numBuffers) { bufferLength = 1024; numBuffers = 4; }
    }

    public static class Mathf
    {
        public static float Clamp01(float value) { return value; }
        public static float Clamp(float value, float min, float max) { return value; }
        public static float Max(float a, float b) { return a > b ? a : b; }
        public static float MoveTowards(float current, float target, float maxDelta) { return target; }
    }

    public static class Time
    {
        public static float unscaledDeltaTime { get { return 0f; } }
    }

    public static class Debug
    {
        public static void Log(object message) { }
        public static void LogWarning(object message) { }
    }

    public static class Input
    {
#if ENABLE_INPUT_SYSTEM && !ENABLE_LEGACY_INPUT_MANAGER
        // Unity throws InvalidOperationException here when only the Input System is active.
        [Obsolete("UnityEngine.Input throws under the Input System (Active Input Handling: Input System Package)", true)]
#endif
        public static bool GetKeyDown(KeyCode key) { return false; }
    }

    public enum KeyCode { Alpha1, Alpha2, Alpha3, Space }

    [AttributeUsage(AttributeTargets.Field)] public sealed class HeaderAttribute : Attribute { public HeaderAttribute(string header) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class TooltipAttribute : Attribute { public TooltipAttribute(string tooltip) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class RangeAttribute : Attribute { public RangeAttribute(float min, float max) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class SerializeField : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)] public sealed class RequireComponent : Attribute { public RequireComponent(Type type) { } }
}

namespace UnityEngine.InputSystem
{
    public sealed class KeyControl { public bool wasPressedThisFrame { get { return false; } } }
    public sealed class Keyboard
    {
        public static Keyboard current { get { return null; } }
        public KeyControl digit1Key { get { return null; } }
        public KeyControl digit2Key { get { return null; } }
        public KeyControl digit3Key { get { return null; } }
        public KeyControl spaceKey { get { return null; } }
    }
}

namespace UnityEngine.Audio
{
    public class AudioMixerGroup : UnityEngine.Object { }
}

namespace UnityEngine.Events
{
    public class UnityEvent { public void Invoke() { } public void AddListener(Action call) { } }
    public class UnityEvent<T0> { public void Invoke(T0 a) { } public void AddListener(Action<T0> call) { } }
    public class UnityEvent<T0, T1> { public void Invoke(T0 a, T1 b) { } public void AddListener(Action<T0, T1> call) { } }
    public class UnityEvent<T0, T1, T2> { public void Invoke(T0 a, T1 b, T2 c) { } public void AddListener(Action<T0, T1, T2> call) { } }
}
