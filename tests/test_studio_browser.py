"""Ostinato Studio in a real browser: Debian's Chromium, headless, driven by selenium.

A real `ostinato studio` process (ZeroMQ service, scheduler workers, variant cache) serves
the page; the tests click, drag and type as a designer would and read what the page
exposes (`window.studio`: the AudioWorklet's counters, the timeline's model, stem gains).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from studio_support import (
    CHROMEDRIVER,
    CHROMIUM,
    StudioProcess,
    chromium,
    copy_pack,
    screenshot_dir,
    studio_process,
    wait_until,
)

from middleware.director.intensity import STEM_EDGE, stem_gain

pytestmark = [
    pytest.mark.slow,
    # in CI (`make setup` installs both) a missing browser is a failure, not a skip
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not os.environ.get("CI"),
        reason="needs Debian's chromium and chromium-driver (make setup installs them)",
    ),
]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    root = tmp_path_factory.mktemp("studio")
    with studio_process(root, copy_pack(root)) as running:
        running.wait_ready()
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as driver:
        yield driver


def open_page(browser, studio: StudioProcess) -> None:
    browser.get(studio.url)
    wait_until(lambda: browser.execute_script("return document.body.dataset.ready"), 15, "ready")


def js(browser, expression: str):
    return browser.execute_script(f"return {expression}")


def click_state(browser, name: str) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, f'button.state[data-state="{name}"]').click()


def test_the_page_is_interactive_with_a_button_per_state_and_stinger(browser, studio) -> None:
    open_page(browser, studio)
    pack = studio.pack()
    states = js(browser, "[...document.querySelectorAll('button.state')].map(b => b.dataset.state)")
    stingers = js(
        browser, "[...document.querySelectorAll('button.stinger')].map(b => b.textContent)"
    )
    assert states == [s["name"] for s in pack["states"]]
    assert stingers == [s["name"] for s in pack["stingers"]]
    assert js(browser, "document.body.dataset.status") == "connected"
    assert js(browser, "studio.errors") == []


def test_a_state_change_lands_on_the_planned_bar_and_plays_without_underruns(
    browser, studio, tmp_path: Path
) -> None:
    open_page(browser, studio)
    click_state(browser, "battle")
    plan = wait_until(lambda: js(browser, "studio.lastEvent && studio.lastEvent.transition"), 10)
    assert plan["from"] == "menu" and plan["to"] == "battle" and plan["leave_at"] == "next_bar"
    started = wait_until(
        lambda: js(
            browser,
            "studio.timeline.transitions.find(t => t.to === 'battle' && t.status === 'started')",
        ),
        15,
        "transition started",
    )
    assert started["at_sample"] == plan["at_sample"] == started["started_sample"]
    bars = js(browser, "studio.timeline.bars")
    landing = [bar for bar in bars if bar["sample"] == plan["at_sample"]]
    assert landing and landing[0]["state"] == "battle"  # the bar line the plan named

    # a stinger button: planned on the next beat, drawn on the timeline
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, 'button.stinger[data-stinger="level_up"]').click()
    stinger = wait_until(lambda: js(browser, "studio.timeline.stingers[0]"), 10, "stinger")
    assert stinger["name"] == "level_up" and stinger["sync"] == "next_beat"
    wait_until(
        lambda: js(
            browser, f"studio.timeline.beats.some(b => b.sample === {stinger['at_sample']})"
        ),
        10,
        "the stinger's beat",
    )
    time.sleep(1.5)  # let the picture show both sides of the transition
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "studio.png"))

    # ten seconds of music from the first block the worklet played
    rate = studio.pack()["sample_rate"]
    wait_until(lambda: js(browser, "studio.audio.stats.framesPlayed") > 0, 10, "playing")
    start = js(browser, "studio.audio.stats")
    wait_until(
        lambda: js(browser, "studio.audio.stats.framesPlayed") - start["framesPlayed"] >= 10 * rate,
        40,
        "10 s played",
    )
    stats = js(browser, "studio.audio.stats")
    assert stats["underruns"] == 0, sorted(stats.items())
    assert stats["overflows"] == 0
    # every frame played was received; the window received 10 s less what the adaptive
    # look-ahead gave back meanwhile (it shrinks by withholding credits)
    given_back = (start["targetMs"] - stats["targetMs"]) / 1000 * rate
    assert stats["framesReceived"] >= stats["framesPlayed"]
    assert stats["framesReceived"] - start["framesReceived"] >= 10 * rate - max(given_back, 0)
    assert js(browser, "studio.where.state") == "battle"


def test_the_page_reports_where_its_boot_time_went(browser, studio) -> None:
    open_page(browser, studio)
    marks = js(browser, "studio.bootMarks")
    # the pack's view and the socket are asked for at once, the session after both
    assert set(marks) == {"script", "pack", "socket", "session", "ready"}
    assert marks["script"] <= min(marks["pack"], marks["socket"])
    assert max(marks["pack"], marks["socket"]) <= marks["session"] <= marks["ready"]
    assert js(browser, "document.body.dataset.status") == "connected"


#: the transition battle -> defeat is `immediate` in fantasy_rpg: no musical wait
CLICK_PROBE = """
const audio = studio.audio;
const probe = {heard: audio.audibleSample(), buffered: audio.stats.buffered,
               replace: audio.replaceFrom(), heardBefore: audio.heardCount};
return studio.goTo('defeat').then(() => Object.assign(probe, {
    plan: studio.lastEvent.transition, rewind: studio.lastEvent.rewind}));
"""


def test_a_click_is_heard_after_the_rules_wait_not_after_the_buffered_audio(
    browser, studio
) -> None:
    # a deliberately deep look-ahead: 64 blocks of 512 frames (683 ms) rendered ahead,
    # and a safety margin of 150 ms for the click to reach the service and come back
    browser.get(studio.url + "?credits=64&rewind_ms=150")
    wait_until(lambda: js(browser, "document.body.dataset.ready"), 15, "ready")
    click_state(browser, "battle")
    rate = studio.pack()["sample_rate"]
    battle = wait_until(lambda: js(browser, "studio.lastEvent && studio.lastEvent.transition"))
    wait_until(
        lambda: js(browser, "studio.audio.audibleSample()") > battle["at_sample"] + rate,
        30,
        "battle heard",
    )
    wait_until(lambda: js(browser, "studio.audio.stats.buffered") >= 48 * 512, 15, "deep ring")
    probe = browser.execute_script(CLICK_PROBE)
    plan, rewind = probe["plan"], probe["rewind"]
    assert plan["leave_at"] == "immediate" and plan["to"] == "defeat"
    assert probe["buffered"] >= 48 * 512  # the ear had >= 512 ms of battle queued
    # the service took back what it had rendered from the first block boundary after
    # `replace_from`, and planned the immediate transition right there
    assert rewind is not None and rewind["blocks"] >= 20
    assert probe["replace"] <= rewind["sample"] < probe["replace"] + 512
    assert plan["at_sample"] == rewind["sample"]
    # the worklet played the new audio's first frame on that very sample: the click was
    # heard 150 ms (the margin) plus under a block after the sample heard at the click,
    # not after the 512+ ms queued
    heard = wait_until(
        lambda: js(browser, f"studio.audio.heard.filter(h => h.n > {probe['heardBefore']})"),
        10,
        "heard",
    )
    first = heard[0]["sample"]
    assert first == rewind["sample"], (heard, probe)
    lag = first - probe["heard"]
    assert lag <= round(0.150 * rate) + 512 + 4 * 128  # margin + block + stats' staleness
    assert lag < probe["buffered"] / 3
    stats = js(browser, "studio.audio.stats")
    assert stats["lateFrames"] == 0 and stats["rewinds"] >= 1
    assert stats["underruns"] == 0, stats
    # the new blocks say so: from the rewind sample on, the timeline's blocks are defeat's
    wait_until(lambda: js(browser, f"studio.timeline.blocks.some(b => b.sample === {first})"), 10)
    blocks = js(browser, f"studio.timeline.blocks.filter(b => b.sample >= {first - 512})")
    assert blocks[0]["state"] == "battle" and blocks[1]["sample"] == first
    assert blocks[1]["state"] == "defeat"
    samples = [b["sample"] for b in blocks]
    assert samples == sorted(set(samples))  # what was taken back is not drawn twice


def test_the_intensity_slider_brings_stems_in_and_out(browser, studio) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, studio)
    click_state(browser, "battle")
    wait_until(lambda: js(browser, "studio.where && studio.where.state") == "battle", 15)
    slider = browser.find_element(By.ID, "intensity")
    slider.send_keys(Keys.END)
    wait_until(lambda: js(browser, "studio.where.intensity") == 1.0, 10, "intensity 1")
    full = wait_until(lambda: js(browser, "studio.stemGains.war_drums === 1 && studio.stemGains"))
    assert full["horns"] == 1 and full["war_drums"] == 1
    slider.send_keys(Keys.HOME)
    wait_until(lambda: js(browser, "studio.where.intensity") == 0.0, 10, "intensity 0")
    quiet = wait_until(lambda: js(browser, "studio.stemGains.horns === 0 && studio.stemGains"))
    assert quiet["war_drums"] == 0 and quiet["low_brass"] == 0 and quiet["ostinato"] == 1
    silent = js(browser, "[...document.querySelectorAll('.stem.silent')].map(e => e.dataset.stem)")
    assert set(silent) == {"horns", "low_brass", "war_drums"}


def test_the_pages_stem_gains_are_the_directors(browser, studio) -> None:
    open_page(browser, studio)
    for low, high in [(0.0, 1.0), (0.35, 1.0), (0.8, 1.0), (0.0, 0.5), (0.2, 0.6)]:
        for step in range(21):
            level = step / 20
            page = js(browser, f"studioStemGain({level}, {low}, {high}, {STEM_EDGE})")
            assert page == pytest.approx(stem_gain(level, low, high), abs=1e-12)


def test_keys_choose_states_and_space_stops(browser, studio) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, studio)
    states = [s["name"] for s in studio.pack()["states"]]
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("6")  # the sixth state
    wait_until(lambda: js(browser, "studio.where && studio.where.state") == states[5], 15)
    body.send_keys(" ")
    wait_until(lambda: js(browser, "document.body.dataset.playing") == "false", 5, "stopped")
    blocks = js(browser, "studio.audio.stats.blocksReceived")
    time.sleep(0.5)
    assert js(browser, "studio.audio.stats.blocksReceived") == blocks  # the stream stopped
    body.send_keys(" ")
    wait_until(lambda: js(browser, "studio.audio.stats.blocksReceived") > blocks, 5, "resumed")


def test_bad_input_from_the_page_gets_the_services_structured_errors(browser, studio) -> None:
    open_page(browser, studio)
    error = browser.execute_async_script(
        "const done = arguments[0];"
        "studio.link.request('event', {state: 'dungeon'}).then(() => done(null), e => done(e.wire))"
    )
    assert error["code"] == "unknown_state" and "battle" in error["detail"]["states"]
    too_large = browser.execute_async_script(
        "const done = arguments[0];"
        "studio.link.request('ping', {t: 'x'.repeat(100000)}).then(() => done(null),"
        " e => done(e.wire));"
        "setTimeout(() => done('no reply'), 5000)"
    )
    assert too_large is not None and too_large != "no reply"
    assert too_large["code"] == "too_large"


def _open_panel(browser, tab: str, state: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "panel-state")).select_by_value(state)
    browser.find_element(By.CSS_SELECTOR, f'#tabs button[data-tab="{tab}"]').click()


def _type_into(browser, selector: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, selector), 10, selector)[0]
    field.clear()
    field.send_keys(text)


def test_an_invalid_field_is_refused_inline_and_nothing_is_written(browser, studio) -> None:
    from selenium.webdriver.common.by import By

    file = studio.pack_dir / "town.toml"
    before = file.read_bytes()
    open_page(browser, studio)
    _open_panel(browser, "editor", "town")
    _type_into(browser, "#editor [name=bpm]", "900")
    browser.find_element(By.ID, "save").click()
    result = wait_until(lambda: js(browser, "studio.editor.lastSave"), 10, "save answered")
    assert result["ok"] is False and result["error"]["code"] == "bad_template"
    inline = js(browser, "document.querySelector('.field[data-key=bpm] .problem').textContent")
    assert "900" in inline and "20 to 300" in inline
    assert js(
        browser, "document.querySelector('.field[data-key=bpm]').classList.contains('invalid')"
    )
    assert file.read_bytes() == before


def test_saving_a_field_keeps_comments_changes_the_hash_and_the_new_variants_play(
    browser, studio, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    file = studio.pack_dir / "town.toml"
    comments = [line for line in file.read_text().splitlines() if "#" in line]
    old_hash = next(s for s in studio.pack()["states"] if s["name"] == "town")["generation_hash"]
    open_page(browser, studio)
    click_state(browser, "town")
    wait_until(lambda: js(browser, "studio.where && studio.where.state") == "town", 20)
    _open_panel(browser, "editor", "town")
    _type_into(browser, "#editor [name=bpm]", "96")
    browser.find_element(By.ID, "save").click()
    saved = wait_until(lambda: js(browser, "studio.editor.lastSave"), 15, "saved")
    assert saved["ok"], saved
    assert saved["old_hash"] == old_hash != saved["new_hash"]

    text = file.read_text()
    assert "bpm = 96\n" in text
    assert [line for line in text.splitlines() if "#" in line] == comments
    view = next(s for s in studio.pack()["states"] if s["name"] == "town")
    assert view["bpm"] == 96 and view["generation_hash"] == saved["new_hash"]

    # the scheduler regenerates town; the page starts a new session that plays it
    wait_until(lambda: js(browser, "studio.sessions") >= 2, 60, "new session")
    bar_samples = 2 * 60 * 48000 // 96  # 6/8: two dotted-quarter beats a bar
    wait_until(lambda: len(js(browser, "studio.timeline.bars")) >= 3, 20, "bars")
    bars = js(browser, "studio.timeline.bars")
    assert all(bar["state"] == "town" for bar in bars)
    assert [b["sample"] for b in bars[:3]] == [0, bar_samples, 2 * bar_samples]
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "studio_editor.png"))


def test_the_gallery_shows_each_cached_variant_and_plays_one_solo(
    browser, studio, tmp_path: Path
) -> None:
    open_page(browser, studio)
    _open_panel(browser, "gallery", "battle")
    wait_until(lambda: js(browser, "document.querySelectorAll('#gallery .variant').length"), 10)
    data = js(browser, "studio.gallery.data")
    battle = next(s for s in studio.pack()["states"] if s["name"] == "battle")
    assert len(data["variants"]) == battle["variants"]
    first = data["variants"][0]
    assert set(first["notes"]) == {s["name"] for s in battle["stems"]}  # a roll per stem
    assert len(first["waveform"]["max"]) == 480 and max(first["waveform"]["max"]) > 0
    # mute the drums, then play variant 1 solo: the page asks for the other stems' mix
    js(browser, "document.querySelector('#gallery input[data-stem=drums]').click()")
    js(browser, "document.querySelector('#gallery .variant[data-variant=\"1\"] button').click()")
    source = wait_until(lambda: js(browser, "studio.gallery.audio.src"), 5)
    assert "/api/audio/battle/1?stems=" in source
    chosen = set(unquote(source.split("stems=")[1]).split(","))
    assert chosen == {s["name"] for s in battle["stems"]} - {"drums"}
    wait_until(lambda: js(browser, "studio.gallery.audio.readyState") >= 2, 10, "audio loaded")
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "studio_variants.png"))


def test_the_matrix_shows_each_rule_and_tries_a_transition(browser, studio, tmp_path: Path) -> None:
    open_page(browser, studio)
    _open_panel(browser, "matrix", "menu")
    cell = "#matrix td[data-from=town][data-to=explore]"
    rule = wait_until(lambda: js(browser, f"document.querySelector('{cell} .rule').textContent"))
    assert rule.startswith("loop_end · out 2 beats + bridge 2 bars")  # the pack's town -> explore
    js(browser, f"document.querySelector('{cell} button').click()")
    started = wait_until(
        lambda: js(
            browser,
            "studio.timeline.transitions.find(t => t.to === 'explore' && t.status === 'started')",
        ),
        60,
        "town -> explore started",
    )
    assert started["from"] == "town" and started["leave_at"] == "loop_end"
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "studio_matrix.png"))


def test_a_rule_edited_in_the_matrix_is_saved_and_followed(browser, studio) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    pack_toml = studio.pack_dir / "pack.toml"
    comments = [line for line in pack_toml.read_text().splitlines() if "#" in line]
    open_page(browser, studio)
    _open_panel(browser, "matrix", "menu")
    cell = '#matrix td[data-from="explore"][data-to="menu"]'
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, cell), 10)
    browser.find_element(By.CSS_SELECTOR, f"{cell} button.edit").click()
    Select(browser.find_element(By.CSS_SELECTOR, f"{cell} select[name=leave_at]")).select_by_value(
        "next_beat"
    )
    Select(browser.find_element(By.CSS_SELECTOR, f"{cell} select[name=fade]")).select_by_value(
        "out"
    )
    browser.find_element(By.CSS_SELECTOR, f"{cell} button.save-rule").click()
    saved = wait_until(lambda: js(browser, "studio.lastRuleSave"), 10, "rule saved")
    assert saved["ok"], saved
    assert saved["rule"]["leave_at"] == "next_beat" and saved["rule"]["fade"] == "out"
    text = pack_toml.read_text()
    assert (
        '[transitions."explore -> menu"]\nleave_at = "next_beat"\nenter_at = "start"\nfade = "out"'
        in text
    )
    assert [line for line in text.splitlines() if "#" in line] == comments
    shown = f"document.querySelector('{cell} .rule')"
    rule = wait_until(lambda: js(browser, f"{shown} && {shown}.textContent"))
    assert rule.startswith("next_beat · out")
    # the live session follows the new rule
    js(browser, f"document.querySelector('{cell} button.try').click()")
    started = wait_until(
        lambda: js(
            browser,
            "studio.timeline.transitions.find(t => t.from === 'explore' && t.to === 'menu'"
            " && t.status === 'started')",
        ),
        60,
        "explore -> menu started",
    )
    assert started["leave_at"] == "next_beat" and started["fade"] == "out"


def test_re_roll_writes_a_new_seed_and_the_new_set_plays(browser, studio) -> None:
    from selenium.webdriver.common.by import By

    file = studio.pack_dir / "victory.toml"
    open_page(browser, studio)
    _open_panel(browser, "editor", "victory")
    wait_until(lambda: browser.find_elements(By.ID, "reroll"), 10)
    old_seed = js(browser, "studio.editor.view.seed")
    browser.find_element(By.ID, "reroll").click()
    saved = wait_until(lambda: js(browser, "studio.editor.lastSave"), 15, "re-rolled")
    assert saved["ok"] and saved["seed"] != old_seed
    assert saved["old_hash"] == saved["new_hash"]  # the seed is not part of the hash
    assert f"seed = {saved['seed']}" in file.read_text()
    wait_until(lambda: js(browser, "studio.sessions") >= 2, 60, "new session on the new set")
    gallery_seed = None

    def gallery_shows_new_seed() -> bool:
        nonlocal gallery_seed
        _open_panel(browser, "gallery", "victory")
        time.sleep(0.5)
        gallery_seed = js(browser, "studio.gallery.data && studio.gallery.data.seed")
        return gallery_seed == saved["seed"]

    wait_until(gallery_shows_new_seed, 20, "gallery shows the new set")


def _gallery_seeds(browser) -> list[int]:
    return js(
        browser,
        "Array.from(document.querySelectorAll('#gallery .variant'))"
        ".map(c => Number(c.dataset.seed))",
    )


def test_a_pinned_variant_survives_re_rolling_one_and_all(browser, studio, tmp_path: Path) -> None:
    import json

    from selenium.webdriver.common.by import By

    open_page(browser, studio)
    _open_panel(browser, "gallery", "explore")
    wait_until(lambda: len(_gallery_seeds(browser)) >= 3, 10, "gallery")
    before = _gallery_seeds(browser)
    card = '#gallery .variant[data-variant="{}"]'
    browser.find_element(By.CSS_SELECTOR, card.format(1) + " input.pin").click()
    pinned = wait_until(lambda: js(browser, "studio.gallery.lastPin"), 10, "pinned")
    assert pinned["ok"] and pinned["slots"][1]["pinned"], pinned
    assert not browser.find_element(By.CSS_SELECTOR, card.format(1) + " .reroll-one").is_enabled()
    # re-roll variant 0 alone: a progress bar while the scheduler makes the new seed's set
    browser.find_element(By.CSS_SELECTOR, card.format(0) + " .reroll-one").click()
    assert js(browser, "document.body.dataset.rerolling") == "true"
    wait_until(lambda: js(browser, "studio.gallery.rerolls") == 1, 90, "variant 0 re-rolled")
    one = js(browser, "studio.gallery.lastReroll")
    assert js(browser, "studio.gallery.progressNotes") >= 1  # the scheduler's progress arrived
    wait_until(lambda: _gallery_seeds(browser)[:1] == [one["seed"]], 10, "new variant 0 shown")
    assert _gallery_seeds(browser)[1:] == before[1:]
    # re-roll every unpinned variant: a new seed in the state's file, variant 1 is kept
    browser.find_element(By.ID, "reroll-all").click()
    wait_until(lambda: js(browser, "studio.gallery.rerolls") == 2, 90, "all re-rolled")
    every = js(browser, "studio.gallery.lastReroll")
    assert (
        every["ok"] and f"seed = {every['seed']}" in (studio.pack_dir / "explore.toml").read_text()
    )
    wait_until(lambda: _gallery_seeds(browser)[0] == every["seed"], 10, "new set shown")
    seeds = _gallery_seeds(browser)
    assert seeds[1] == before[1] and set(seeds[:1] + seeds[2:]) == {every["seed"]}
    assert js(browser, "document.querySelector('#gallery .variant[data-variant=\"1\"]')"
              ".classList.contains('pinned')")  # fmt: skip
    sidecar = json.loads((studio.pack_dir / "studio-variants.json").read_text())
    assert sidecar["states"]["explore"]["variants"] == {"1": {"seed": before[1], "pinned": True}}
    js(browser, "document.querySelector('#gallery .variant[data-variant=\"1\"]')"
                ".scrollIntoView({block: 'center'})")  # fmt: skip
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "studio_pins.png"))


def test_a_filler_edited_in_the_matrix_is_validated_saved_and_played(
    browser, studio, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    pack_toml = studio.pack_dir / "pack.toml"
    comments = [line for line in pack_toml.read_text().splitlines() if "#" in line]
    open_page(browser, studio)
    _open_panel(browser, "matrix", "menu")
    cell = '#matrix td[data-from="town"][data-to="battle"]'

    def edit(filler: str, bars: str | None = None) -> None:
        browser.find_element(By.CSS_SELECTOR, f"{cell} button.edit").click()
        Select(
            browser.find_element(By.CSS_SELECTOR, f"{cell} select[name=filler]")
        ).select_by_value(filler)
        if bars is not None:
            _type_into(browser, f"{cell} input[name=bridge_bars]", bars)
        js(browser, "studio.lastRuleSave = null")
        browser.find_element(By.CSS_SELECTOR, f"{cell} button.save-rule").click()

    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, cell), 10)
    before = pack_toml.read_text()
    edit("bridge", "3")  # the validator's message, inline; nothing written
    refused = wait_until(lambda: js(browser, "studio.lastRuleSave"), 10, "answer")
    assert not refused["ok"] and refused["error"]["code"] == "bad_template"
    message = js(browser, f"document.querySelector('{cell} .problem').textContent")
    assert "bridge_bars" in message and "3" in message
    browser.save_screenshot(str(screenshot_dir(tmp_path) / "studio_filler.png"))
    assert pack_toml.read_text() == before
    browser.find_element(By.CSS_SELECTOR, f"{cell} input[name=bridge_bars]").clear()
    _type_into(browser, f"{cell} input[name=bridge_bars]", "2")
    js(browser, "studio.lastRuleSave = null")
    browser.find_element(By.CSS_SELECTOR, f"{cell} button.save-rule").click()
    saved = wait_until(lambda: js(browser, "studio.lastRuleSave"), 10, "bridge saved")
    assert saved["ok"] and saved["rule"]["filler"] == {"bridge_bars": 2}, saved
    assert "filler = { bridge_bars = 2 }" in pack_toml.read_text()
    shown = f"document.querySelector('{cell} .rule')"
    wait_until(lambda: "bridge 2 bars" in (js(browser, f"{shown} && {shown}.textContent") or ""))
    # a stinger filler instead: saved, and "try it" plays it on the transition
    edit("stinger:level_up")
    saved = wait_until(lambda: js(browser, "studio.lastRuleSave"), 10, "stinger saved")
    assert saved["ok"] and saved["rule"]["filler"] == {"stinger": "level_up"}, saved
    assert [line for line in pack_toml.read_text().splitlines() if "#" in line] == comments
    wait_until(lambda: "level_up" in (js(browser, f"{shown} && {shown}.textContent") or ""))
    js(browser, f"document.querySelector('{cell} button.try').click()")
    started = wait_until(
        lambda: js(
            browser,
            "studio.timeline.transitions.find(t => t.from === 'town' && t.to === 'battle'"
            " && t.status === 'started')",
        ),
        60,
        "town -> battle started",
    )
    assert started["stinger"] == "level_up"


def test_the_look_ahead_follows_stalls_and_gives_back_when_quiet(browser, studio) -> None:
    """The page's jitter buffer, driven with a made-up clock: 512-frame blocks at 48 kHz."""
    open_page(browser, studio)
    trace = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import('/static/audio.js').then(({ JitterBuffer }) => {
          const b = new JitterBuffer({ blockFrames: 512, sampleRate: 48000, maxBlocks: 62 });
          const out = { start: b.target, min: b.minBlocks, max: b.maxBlocks };
          const calm = { underran: false, lowWater: 4096, playing: true };
          let now = 0;
          b.restart(now);
          const run = (ms, gapMs, report = calm) => {
            for (const end = now + ms; now < end; now += gapMs) {
              b.arrival(now, true);
              b.update(report, 512, now);
            }
          };
          run(5000, 10.7);
          out.held = b.target; // no give-back in the first 10 s
          run(60000, 10.7);
          out.settled = b.target; // a quiet stream settles at its floor
          b.update({ underran: true, lowWater: null, playing: false }, 512, now);
          out.afterUnderrun = b.target;
          run(50000, 10.7);
          out.heldAfterUnderrun = b.target; // a minute without giving back after running dry
          run(40000, 10.7);
          b.update({ underran: false, lowWater: 100, playing: true }, 512, now);
          out.afterNearMiss = b.target;
          run(30000, 10.7);
          b.arrival(now + 300, true); // a 300 ms stall between two blocks
          now += 300;
          b.update(calm, 512, now);
          out.afterStall = b.target;
          run(45000, 10.7);
          out.stillCovered = b.target; // the stall is remembered for 60 s
          run(50000, 10.7);
          out.forgotten = b.target;
          done(out);
        });
        """
    )
    assert trace["start"] == 57 and trace["max"] == 62  # 600 ms of 10.7 ms blocks; the cap
    assert trace["min"] == 5
    assert trace["held"] == trace["start"]
    assert trace["settled"] == trace["min"]
    assert trace["afterUnderrun"] == trace["heldAfterUnderrun"] == 9  # ceil(5 x 1.5) + 1
    assert trace["afterNearMiss"] == trace["min"] + 1
    block_ms = 512 / 48
    gap_ms = 300 + 10.7  # the stall, after the last block of the calm run
    assert trace["afterStall"] == math.ceil((1.3 * gap_ms + block_ms) / block_ms)  # 39
    assert trace["stillCovered"] == trace["afterStall"]
    assert trace["forgotten"] == trace["min"]
