"""The page in headless Chromium: draw a stroke, upload a file, read the verdicts and histograms.

Uses Debian's ``chromium`` and ``chromium-driver`` (never a downloaded browser). Saves a screenshot
to the test's folder, and to ``$IDK_SCREENSHOT`` when set (``make screenshot``: the README's image;
``$IDK_SCREENSHOT_MODEL`` picks the model shown, default the test's small one).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from idk.apps import serve
from idk.apps.serve_http import BackgroundServer
from idk.decision.rules import shown, shown_apart, shown_probability
from idk.training import checkpoint
from idk.training.notices import warnings

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1400",
)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and DRIVER.exists()),
    reason="no Chromium: install Debian's chromium and chromium-driver (.ci/run does)",
)


@pytest.fixture
def page(cnn_model, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    shown = os.environ.get("IDK_SCREENSHOT_MODEL")  # the README's picture: that model, at its own S
    model, ckpt = checkpoint.load(shown or cnn_model)
    service = serve.PredictionService(model, ckpt, samples=None if shown else 20)
    server = BackgroundServer(serve.create_app(service)).start()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        driver.get(server.url + "/")
        yield driver, ckpt
    finally:
        driver.quit()
        server.stop()


def _wait(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _answers(driver) -> list[dict]:
    """Each shown answer (newest first): its name, verdict and histograms as the page shows them."""
    return driver.execute_script(
        """return [...document.querySelectorAll('.result:not(.pending)')].map(r => ({
            name: r.querySelector('.name').textContent,
            verdict: (r.querySelector('.verdict') || r.querySelector('.error')).textContent,
            hists: [...r.querySelectorAll('.hist')].map(h => ({
                label: h.dataset.class, accepted: h.classList.contains('accepted'),
                bins: h.querySelectorAll('rect.bin').length, threshold: h.querySelectorAll('line.threshold').length})),
        }));"""
    )


def test_draw_and_upload_show_verdicts_and_one_histogram_per_class(page, tmp_path, mnist_test):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver, ckpt = page
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    assert driver.find_element(By.ID, "draw-panel").is_displayed() == ckpt.input_spec.drawn
    if warnings(ckpt):
        assert "Note:" in driver.find_element(By.ID, "warning").text
    else:
        assert not driver.find_element(By.ID, "warning").is_displayed()
    # a score and its threshold read as `idk predict` prints them: the threshold as the rule's summary does
    pairs = [(0.45206, 0.45209), (0.45223, 0.452189), (0.43861, 0.4386), (0.99999, 0.9), (0.0, 0.3)]
    pairs += [(2.667e-05, 0.05), (9.9999e-05, 1e-04), (12345.6, 12000.0), (0.4521, 0.4521), (0.5, 0.5000000001)]
    pairs += [(1000.0000000000011, 1000.0), (9.99999999999999, 10.0), (1.5e-07, 0.2), (-0.123456, 0.3)]
    page_shows = driver.execute_script("return arguments[0].map(([a, b]) => apart(a, b))", pairs)
    assert page_shows == [list(shown_apart(a, b)) for a, b in pairs]
    assert page_shows[1][1] == shown(0.452189) == "0.4521"  # not "0.4522": rounded down, as the rule says
    probabilities = [0.996, 0.29, 0.57, 1.0, 0.0049, 0.0, 0.99999999, 0.9999994, 0.1 + 0.2, 0.28999999165534973]
    page_shows = driver.execute_script("return arguments[0].map(probability)", probabilities)
    assert page_shows == [shown_probability(p) for p in probabilities]  # as idk predict writes them
    classes = list(ckpt.classes)
    pad = driver.find_element(By.ID, "pad")
    # a "7": a bar across the top, then down to the bottom left, drawn with pointer events
    actions = ActionChains(driver, duration=20)
    actions.move_to_element_with_offset(pad, -80, -90).click_and_hold()
    for dx, dy in [(40, 0)] * 4 + [(-12, 30)] * 6:
        actions.move_by_offset(dx, dy)
    actions.release().perform()
    _wait(driver, lambda d: len(_answers(d)) == 1)
    drawn = _answers(driver)[0]
    assert drawn["name"] == "drawing.png" and drawn["verdict"]
    assert [h["label"] for h in drawn["hists"]] == classes  # one histogram per class, in the model's names
    assert all(h["bins"] >= 1 for h in drawn["hists"])
    accepted = [h["label"] for h in drawn["hists"] if h["accepted"]]
    assert drawn["verdict"] == ("I don't know" if not accepted else drawn["verdict"])
    assert all(name in drawn["verdict"] for name in accepted)
    if ckpt.rule.get("name", "percentile") == "percentile":
        assert all(h["threshold"] == 1 for h in drawn["hists"])  # the threshold marked on each

    digit = tmp_path / "digit.png"
    pixels = (mnist_test.images[0, 0].numpy() * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(255 - pixels).resize((112, 112)).save(buf, format="PNG")  # dark ink on white, like a scan
    digit.write_bytes(buf.getvalue())
    letter = tmp_path / "letter.png"  # an "A": no digit; the networks may well disagree
    canvas = Image.new("L", (112, 112), 255)
    pen = ImageDraw.Draw(canvas)
    for line in [(20, 100, 56, 12), (56, 12, 92, 100), (35, 65, 77, 65)]:
        pen.line(line, fill=0, width=9)
    canvas.save(letter)
    driver.find_element(By.ID, "files").send_keys(f"{digit}\n{letter}")  # two files picked at once
    _wait(driver, lambda d: len(_answers(d)) == 3)
    uploaded = {a["name"]: a for a in _answers(driver)[:2]}
    label = classes[int(mnist_test.labels[0])]
    assert set(uploaded) == {"digit.png", "letter.png"}
    assert all(len(a["hists"]) == len(classes) and a["verdict"] for a in uploaded.values())
    verdict = uploaded["digit.png"]["verdict"]
    assert verdict in (label, "I don't know") or label in verdict

    shot = tmp_path / "serve.png"
    driver.save_screenshot(str(shot))
    assert Image.open(shot).size[0] > 500
    if os.environ.get("IDK_SCREENSHOT"):
        Path(os.environ["IDK_SCREENSHOT"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, os.environ["IDK_SCREENSHOT"])

    # a second stroke answers the same drawing again, in its row (each stroke added a row); until its
    # answer comes (held back here), the row keeps the previous answer, marked "answering…"
    driver.execute_script(
        "window.realFetch = window.fetch; window.held = []; "
        "window.fetch = (...a) => new Promise(go => window.held.push(go)).then(() => window.realFetch(...a));"
    )
    actions = ActionChains(driver, duration=20)
    actions.move_to_element_with_offset(pad, 60, -60).click_and_hold().move_by_offset(0, 40).release().perform()
    row = "[...document.querySelectorAll('.result')].find(r => r.dataset.stroke)"
    _wait(driver, lambda d: d.execute_script("return window.held.length === 1"))
    marked = driver.execute_script(
        f"const r = {row}; return [r.classList.contains('pending'), r.querySelector('.answering')?.textContent,"
        " r.querySelector('.verdict')?.textContent]"
    )
    assert marked == [True, "answering…", drawn["verdict"]], marked
    driver.execute_script("window.fetch = window.realFetch; window.held.forEach(go => go())")
    _wait(
        driver,
        lambda d: d.execute_script(
            f"const r = {row}; return r.dataset.stroke === '2' && r.dataset.answered === '2'"
            " && !r.classList.contains('pending') && !r.querySelector('.answering')"
        ),
    )
    assert [a["name"] for a in _answers(driver)].count("drawing.png") == 1 and len(_answers(driver)) == 3

    # an unreadable file beside readable ones fails alone, named once; a refused image says why, and its most probable class
    broken = tmp_path / "notes.png"
    broken.write_text("not an image")
    photo = tmp_path / "photo.png"  # colour noise: no digit, refused by any model here
    Image.fromarray((np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)).save(photo)
    driver.find_element(By.ID, "files").send_keys(f"{broken}\n{digit}\n{photo}")
    _wait(driver, lambda d: len(_answers(d)) == 6)
    rows = {a["name"]: a for a in _answers(driver)[:3]}
    assert rows["notes.png"]["verdict"].startswith("not an image") and rows["digit.png"]["verdict"] == verdict
    assert rows["photo.png"]["verdict"] == "I don't know"
    why = driver.execute_script(
        "return [...document.querySelectorAll('.result')].filter(r => r.querySelector('.verdict.idk'))"
        ".map(r => r.querySelector('.score').textContent)"
    )
    assert why and all("Most probable: " in w or "nothing to classify" in w for w in why)

    # files dropped anywhere on the page are answered, not opened by the browser
    dropped = driver.execute_script(
        """const data = new DataTransfer();
        data.items.add(new File([Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0))], "dropped.png", {type: "image/png"}));
        const event = new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true});
        document.getElementById("results").dispatchEvent(event);
        return event.defaultPrevented;""",
        __import__("base64").b64encode(digit.read_bytes()).decode(),
    )
    assert dropped
    _wait(driver, lambda d: len(_answers(d)) == 7 and _answers(d)[0]["name"] == "dropped.png")

    # a phone's width: nothing wider than the window; then "Clear answers" empties the list
    driver.set_window_size(320, 900)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= driver.execute_script(
        "return window.innerWidth"
    )
    driver.find_element(By.ID, "forget").click()
    assert _answers(driver) == []
