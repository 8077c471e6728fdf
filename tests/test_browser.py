"""The page in headless Chromium (Playwright): upload two MIDI files on the
Interpolate tab, run it, and check that the audio player holds playable audio.
Saves ``docs/screenshot.png`` (shown in the README)."""

from __future__ import annotations

import re
import time

import pytest

from pianoplay.paths import ASSETS_DIR, REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = REPO_ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def page(app):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app.url)
        yield page
        browser.close()


# The state of a player's audio: Gradio's player (wavesurfer) keeps its <audio> in a shadow
# root inside the player (as assets/playhead.js finds it).
AUDIO = """selector => {
    const player = document.querySelector(selector);
    for (const el of player.querySelectorAll("div")) {
        const audio = el.shadowRoot && el.shadowRoot.querySelector("audio");
        if (audio) return {paused: audio.paused, time: audio.currentTime, ready: audio.readyState};
    }
    return {paused: true, time: -1, ready: -1};
}"""


def seconds(clock: str) -> int:
    """'4:17' -> 257."""
    minutes, secs = clock.split(":")[-2:]
    return int(minutes) * 60 + int(secs)


def test_interpolate_in_the_browser(page):
    page.get_by_role("tab", name="Interpolate").click()
    page.locator("#midi-a input[type=file]").set_input_files(ASSETS_DIR / "twinkle_twinkle.mid")
    page.locator("#midi-b input[type=file]").set_input_files(ASSETS_DIR / "greensleeves.mid")
    for box, name in (
        ("#midi-a", "twinkle_twinkle"),
        ("#midi-b", "greensleeves"),
    ):  # name, then size
        page.wait_for_function(
            "([box, name]) => { const t = document.querySelector(box).innerText;"
            " return t.includes(name) && !t.includes('Uploading'); }",
            arg=[box, name],
            timeout=60_000,
        )
    page.locator("#interpolate-button").click()

    player = page.locator("#path-audio")
    link = player.locator("a[download]")
    link.wait_for(timeout=60_000)
    assert link.get_attribute("download").endswith(".wav")
    # the player shows the length of the whole path (8 steps of 16 bars) once it has loaded it
    page.wait_for_function(
        "() => /[1-9]:\\d\\d/.test(document.querySelector('#path-audio').innerText)", timeout=30_000
    )
    clocks = re.findall(r"\d+:\d\d", player.inner_text())
    assert clocks and max(seconds(c) for c in clocks) > 60, player.inner_text()
    # and the browser itself can play the served file
    duration = page.evaluate(
        """url => new Promise((resolve, reject) => {
               const audio = new Audio();
               audio.onloadedmetadata = () => resolve(audio.duration);
               audio.onerror = () => reject(new Error('audio failed to load'));
               audio.src = url;
           })""",
        link.get_attribute("href"),
    )
    assert duration > 60
    page.locator("#step-audio a[download]").wait_for(timeout=30_000)
    # every step's roll has a player under it
    for i in (1, 8):
        roll = page.locator(f"#step-{i}-roll").bounding_box()
        player = page.locator(f"#step-{i}-audio").bounding_box()
        assert player["y"] >= roll["y"] + roll["height"] - 1 and abs(player["x"] - roll["x"]) < 40
        page.locator(f"#step-{i}-audio a[download]").wait_for(timeout=10_000)
    # a typed step number plays that step, as a dragged one does
    box = page.locator("#play-step input[type=number]")
    box.fill("3")
    box.press("Enter")
    page.wait_for_function(
        "() => (document.querySelector('#step-audio a[download]') || {}).download"
        " === 'step_03.wav'", timeout=30_000,
    )
    for img in page.locator(".pp-roll img").all():  # pictures load as they scroll in
        if img.is_visible():
            img.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.pp-roll img')].filter(i => i.offsetParent)"
        ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000,
    )
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_sample_shows_its_seed_and_the_playhead_follows_the_audio(page):
    """A red line over the piano roll moves right while the sample plays."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.get_by_role("tab", name="Sample").click()
    page.locator("#sample-button").click()
    page.locator("#sample-1-roll img").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => /Seed \\d+/.test(document.querySelector('#sample-seed').innerText)",
        timeout=30_000,
    )
    step = "() => { const l = document.querySelector('#sample-1-roll .pp-playhead');" \
        " return l && l.style.display === 'block' ? parseFloat(l.dataset.step) : -1; }"
    # Press play while the audio is paused (a busy machine swallows a click on a player still
    # loading its WAV, and a late update of the player can stop it), and wait until the line
    # has moved 2 steps (0.5 s) along one stretch of playing. A click on a playing player
    # would pause it, so the audio's state decides when to click, not a timeout.
    seen, first = [], None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = page.evaluate(AUDIO, "#sample-1-audio")
        if state["paused"]:
            page.locator("#sample-1-audio button.play-pause-button").click()
            first = None
            try:  # the player may start a moment after the click: not a second click before
                page.wait_for_function(f"!({AUDIO})('#sample-1-audio').paused", timeout=5_000)
            except PlaywrightTimeout:
                pass
        now = page.evaluate(step)
        seen.append((round(now, 2), state))
        if now > 0 and (first is None or now < first):
            first = now
        elif first is not None and now > first + 2:
            break
        page.wait_for_timeout(250)
    else:
        pytest.fail(f"the playhead did not follow the audio: {seen[-5:]}")
    box = page.locator("#sample-1-roll .pp-playhead").bounding_box()
    roll = page.locator("#sample-1-roll img").bounding_box()
    assert roll["x"] < box["x"] < roll["x"] + roll["width"]
    # a long roll wraps onto rows: the line spans the row that is playing, inside the picture
    assert roll["y"] <= box["y"] and box["y"] + box["height"] <= roll["y"] + roll["height"] + 1
    assert box["height"] > 50


def test_generate_shows_the_controls_of_the_chosen_strategy(page):
    page.get_by_role("tab", name="Generate").click()
    page.locator("#generate-checkpoint input").click()
    page.get_by_role("option", name="chord-lstm-nottingham").click()
    page.get_by_label("greedy", exact=True).wait_for(timeout=10_000)  # it offers greedy
    page.get_by_label("top-p", exact=True).check()
    page.locator("#generate-top-p").wait_for(state="visible", timeout=10_000)
    assert not page.locator("#generate-beam-width").is_visible()
    page.get_by_label("beam", exact=True).check()
    page.locator("#generate-beam-width").wait_for(state="visible", timeout=10_000)
    assert not page.locator("#generate-top-p").is_visible()
    assert not page.locator("#generate-top-k").is_visible()
    page.get_by_label("greedy", exact=True).check()
    page.locator("#generate-temperature").wait_for(state="hidden", timeout=10_000)


def test_sample_bars_follow_the_checkpoint(page):
    """A VAE writes at most its 16-bar window: the slider ends there; a language model
    may write 64 bars."""
    page.get_by_role("tab", name="Sample").click()
    bars = page.locator("#sample-bars input[type=number]")
    page.wait_for_function(
        "() => document.querySelector('#sample-bars input[type=number]').max === '16'",
        timeout=30_000,
    )
    page.locator("#sample-checkpoint input").click()
    page.get_by_role("option", name="chord-lstm-nottingham").click()
    page.wait_for_function(
        "() => document.querySelector('#sample-bars input[type=number]').max === '64'",
        timeout=30_000,
    )
    assert bars.get_attribute("max") == "64"


def test_latent_tab_starts_from_a_random_point(page):
    page.get_by_role("tab", name="Latent sliders").click()
    box = page.locator("#latent-seed input")
    page.wait_for_function(
        "() => document.querySelector('#latent-seed input').value !== '1'", timeout=30_000
    )
    start = box.input_value()
    assert start.isdigit()
    page.locator("#latent-randomize").click()
    page.wait_for_function(
        f"() => document.querySelector('#latent-seed input').value !== '{start}'", timeout=30_000
    )


def test_model_tab_plays_a_short_sample(page):
    page.get_by_role("tab", name="Model").click()
    page.get_by_role("button", name="Listen: a short sample of this model").click()
    link = page.locator("#model-audio a[download]")
    link.wait_for(timeout=60_000)
    assert link.get_attribute("download").endswith(".wav")


ERRORS = ".toast-body.error, .error"  # a refusal's toast, a component's red "Error" badge


def no_error_badge(page) -> None:
    shown = [e.inner_text() for e in page.locator(ERRORS).all() if e.is_visible()]
    assert not shown, shown


def test_every_checkpoint_on_the_model_tab_then_every_tab(page, app):
    """Each playable checkpoint picked on the Model tab moves into exactly the tabs that
    offer it (and no picker refuses it); then every tab runs with its model, without an
    error badge, and the server logs no traceback."""
    from pianoplay.models.registry import Registry
    from pianoplay.ui.tabs import TABS

    registry = Registry(device="cpu")
    titles = {tab.TAB: tab.TITLE for tab in TABS if tab.TAB is not None}
    pickers = {tab: f"#{tab}-checkpoint" for tab in titles}  # the pickers' elem_id
    playable = [i for i in registry.list() if i.tabs]
    for info in reversed(playable):  # the first is already chosen: choosing it changes nothing
        page.get_by_role("tab", name="Model").click()
        page.locator("#model-checkpoint input").click()
        page.get_by_role("option", name=info.name, exact=True).click()
        page.wait_for_function(
            "name => document.querySelector('#model-serves').innerText.includes('Offered in')"
            " && document.querySelector('#model-checkpoint input').value === name",
            arg=info.name, timeout=30_000,
        )
        served = page.locator("#model-serves").inner_text()
        for tab in info.tabs:
            assert titles[tab] in served
            page.get_by_role("tab", name=titles[tab]).click()
            page.wait_for_function(
                "([sel, name]) => document.querySelector(sel + ' input').value === name",
                arg=[pickers[tab], info.name], timeout=30_000,
            )
        no_error_badge(page)
    # every tab, used with the last choice it took
    page.get_by_role("tab", name="Sample").click()
    page.locator("#sample-button").click()
    page.locator("#sample-1-roll img").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Latent sliders").click()
    page.get_by_role("button", name="Decode").click()
    page.locator("#latent-roll img").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Generate").click()
    page.locator("#generate-button").click()
    page.locator("#generate-roll img").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Interpolate").click()
    page.locator("#interpolate-button").click()  # the files of the test above, or a refusal
    page.wait_for_timeout(2_000)
    no_error_badge(page)
    log = app.log.read_text(errors="replace")
    assert "Traceback" not in log and "not in the list of choices" not in log, log[-3000:]


ROLLS = """() => [...document.querySelectorAll('.pp-roll img')].filter(i => i.offsetParent)
    .map(i => ({id: i.closest('[id]').id, natural: i.naturalWidth, width: i.clientWidth,
                height: i.clientHeight}))"""


def test_rolls_are_drawn_for_the_size_they_are_shown_at(page):
    """Four samples side by side on a 1280-px page: each picture has two device pixels per
    CSS pixel as shown (crisp on a high-density screen; 13-px text stays >= 12 px on
    screen), and all have one height; so do the Interpolate tab's step rolls."""
    page.get_by_role("tab", name="Sample").click()
    page.locator("#sample-checkpoint input").click()
    page.get_by_role("option", name="vae-nottingham", exact=True).click()
    count = page.locator("input[aria-label='number input for Count']")
    count.fill("4")
    count.press("Enter")
    page.locator("#sample-button").click()
    page.wait_for_function(f"() => ({ROLLS})().filter(r => r.natural > 0).length === 4",
                           timeout=60_000)
    for tab, expected in (("Sample", 4), ("Interpolate", 8)):
        page.get_by_role("tab", name=tab).click()
        for img in page.locator(".pp-roll img").all():
            if img.is_visible():
                img.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        shown = [r for r in page.evaluate(ROLLS) if r["natural"]]
        assert len(shown) >= expected, shown
        for roll in shown:
            zoom = roll["width"] / roll["natural"]
            assert 0.46 <= zoom <= 0.6, roll  # 13-px text at 2x: >= 12 px on screen
        assert len({r["height"] for r in shown}) == 1, shown  # one height per tab


def test_a_refused_action_keeps_the_result_and_says_why(page, app, tmp_path):
    """A primer that is no MIDI file: the last piece stays, the refusal is written where
    the result is, no red Error badge anywhere, and no traceback in the server log."""
    page.get_by_role("tab", name="Generate").click()
    earlier = page.locator("#generate-seed").inner_text()
    page.locator("#generate-button").click()
    page.wait_for_function(
        "old => { const t = document.querySelector('#generate-seed').innerText;"
        " return t !== old && t.includes('Seed'); }", arg=earlier, timeout=60_000,
    )
    page.locator("#generate-roll img").wait_for(timeout=60_000)
    page.wait_for_timeout(1_000)
    before = page.locator("#generate-roll img").get_attribute("src")
    bad = tmp_path / "not_music.mid"
    bad.write_bytes(b"this is not a MIDI file at all")
    page.locator("#generate-primer input[type=file]").set_input_files(bad)
    page.wait_for_timeout(1_500)
    page.locator("#generate-button").click()
    page.wait_for_function(
        "() => document.querySelector('#generate-seed').innerText.includes('Not done')",
        timeout=60_000,
    )
    assert "not_music.mid" in page.locator("#generate-seed").inner_text()
    assert page.locator("#generate-roll img").get_attribute("src") == before
    page.wait_for_timeout(1_000)
    no_error_badge(page)
    log = app.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def drag(page, selector: str, fraction: float) -> None:
    """Drag a slider's handle to ``fraction`` of its track and let go (a real release)."""
    track = page.locator(f"{selector} input[type=range]").bounding_box()
    y = track["y"] + track["height"] / 2
    page.mouse.move(track["x"] + track["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * fraction, y, steps=5)
    page.mouse.up()


def latent_value(page, name: str) -> float:
    return float(page.locator(f"#latent-{name} input[type=number]").input_value())


def decoded(page, before: str) -> str:
    """Wait until the Latent tab shows a newly decoded piece; its picture's address."""
    page.wait_for_function(
        "old => { const i = document.querySelector('#latent-roll img');"
        " return i && i.src !== old; }", arg=before, timeout=60_000,
    )
    return page.locator("#latent-roll img").get_attribute("src")


def test_latent_sliders_start_a_file_at_zero_decode_on_release_and_reset(page):
    """An upload is heard as it is (every slider back to 0), the temperature decodes on
    release like every slider, and Reset puts all of them back, the temperature too."""
    page.get_by_role("tab", name="Latent sliders").click()
    page.locator("#latent-roll img").wait_for(timeout=60_000)
    src = page.locator("#latent-roll img").get_attribute("src")
    drag(page, "#latent-axis_1", 0.9)
    src = decoded(page, src)
    assert latent_value(page, "axis_1") > 1
    page.locator("#latent-midi input[type=file]").set_input_files(ASSETS_DIR / "greensleeves.mid")
    src = decoded(page, src)
    assert latent_value(page, "axis_1") == 0
    start = latent_value(page, "temperature")
    drag(page, "#latent-temperature", 0.8)
    src = decoded(page, src)  # the temperature decodes on release
    assert latent_value(page, "temperature") != start
    page.locator("#latent-reset").click()
    decoded(page, src)
    assert latent_value(page, "temperature") == start and latent_value(page, "axis_1") == 0
    no_error_badge(page)


def test_a_typed_unknown_checkpoint_logs_no_traceback(page, app):
    """Every picker takes typed text (a personal model may appear after the page loaded);
    while the text names no checkpoint, what follows the picker (bars, temperature, styles,
    the Model tab's links) stays as it is, and the server logs no traceback."""
    for title, key in [("Sample", "sample"), ("Latent sliders", "latent"),
                       ("Interpolate", "interpolate"), ("Generate", "generate"),
                       ("Infill", "infill"), ("Model", "model")]:
        page.get_by_role("tab", name=title).click()
        picker = page.locator(f"#{key}-checkpoint input")
        picker.click()
        picker.fill("no-such-model")
        page.keyboard.press("Enter")
        page.wait_for_timeout(1_500)
    log = app.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
