// Sample: switch the music's state with the number keys, play a stinger with Space,
// and log every audible beat. Put it next to an OstinatoMusicPlayer.
// Works with either input backend: the Input System package (Keyboard.current) when it is
// active, else the legacy Input Manager (UnityEngine.Input throws under the Input System).
using Ostinato.Unity;
using UnityEngine;
#if ENABLE_INPUT_SYSTEM
using UnityEngine.InputSystem;
#endif

public sealed class StateSwitcher : MonoBehaviour
{
    public OstinatoMusicPlayer music;
    public string[] states = { "explore", "battle", "victory" };
    public string stinger = "level_up";

    private void Start()
    {
        music.onBeat.AddListener(b => Debug.Log("bar " + b.bar + " beat " + b.beat + " of " + b.state + " at " + b.tempo + " bpm"));
        music.onTransitionPlanned.AddListener((from, to, seconds) => Debug.Log(from + " -> " + to + " in " + seconds + " s"));
        music.onError.AddListener((code, message) => Debug.LogWarning("Ostinato " + code + ": " + message));
        music.SetState(states[0]); // safe before the connection is up: queued, sent in order
    }

    private void Update()
    {
        if (Pressed(0)) music.SetState(states[0]);
        if (Pressed(1)) music.SetState(states[1], 0.8f);
        if (Pressed(2)) music.SetState(states[2]);
        if (Pressed(3)) music.PlayStinger(stinger);
    }

    /// <summary>Keys 1, 2, 3 and Space pressed this frame, from whichever input backend is active.</summary>
    private static bool Pressed(int key)
    {
#if ENABLE_INPUT_SYSTEM
        Keyboard keyboard = Keyboard.current;
        if (keyboard == null) return false;
        switch (key)
        {
            case 0: return keyboard.digit1Key.wasPressedThisFrame;
            case 1: return keyboard.digit2Key.wasPressedThisFrame;
            case 2: return keyboard.digit3Key.wasPressedThisFrame;
            default: return keyboard.spaceKey.wasPressedThisFrame;
        }
#else
        switch (key)
        {
            case 0: return Input.GetKeyDown(KeyCode.Alpha1);
            case 1: return Input.GetKeyDown(KeyCode.Alpha2);
            case 2: return Input.GetKeyDown(KeyCode.Alpha3);
            default: return Input.GetKeyDown(KeyCode.Space);
        }
#endif
    }
}
