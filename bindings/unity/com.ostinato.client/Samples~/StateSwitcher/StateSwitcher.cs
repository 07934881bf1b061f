// Sample: switch the music's state with the number keys, play a stinger with Space,
// and log every audible beat. Put it next to an OstinatoMusicPlayer.
using Ostinato.Unity;
using UnityEngine;

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
    }

    private void Update()
    {
        if (Input.GetKeyDown(KeyCode.Alpha1)) music.SetState(states[0]);
        if (Input.GetKeyDown(KeyCode.Alpha2)) music.SetState(states[1], 0.8f);
        if (Input.GetKeyDown(KeyCode.Alpha3)) music.SetState(states[2]);
        if (Input.GetKeyDown(KeyCode.Space)) music.PlayStinger(stinger);
    }
}
