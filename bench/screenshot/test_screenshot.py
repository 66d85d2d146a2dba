# SPDX-License-Identifier: GPL-2.0
"""The report page as a browser shows it (part of `make report`, never of
make check): index.html in headless Chromium, screenshotted, must show its
plots. A copy of the page whose images cannot load is screenshotted too and
must not, so the check can fail.

    BBML2_REPORT_DIR=results/reports/<name> /usr/bin/python3 -m pytest bench/screenshot
"""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

REPORT = os.environ.get("BBML2_REPORT_DIR")
CHROMIUM = shutil.which("chromium")
# matplotlib's first two default colours: every plot of the page draws them.
PLOT_COLOURS = [(0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)]
MIN_PIXELS = 400

pytestmark = [
    pytest.mark.skipif(not REPORT, reason="BBML2_REPORT_DIR not set: run through make report"),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                       "(DEPS_REPORT=1 scripts/deps.sh installs Debian's chromium)"),
]


WIDTH = 1300


def chromium(*args):
    """Headless Chromium, a fresh empty profile, no network services."""
    with tempfile.TemporaryDirectory(prefix="bbml2-chromium-") as profile:
        p = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, f"chromium failed ({p.returncode}): {p.stderr[-2000:]}"
    return p.stdout


def page_height(page):
    """The page's full height at WIDTH, images loaded: a copy beside it
    (so its images resolve alike) writes scrollHeight into its title."""
    probe = os.path.join(os.path.dirname(page), ".height-probe.html")
    text = open(page, encoding="utf-8").read()
    script = ("<script>window.addEventListener('load', function () {"
              " document.title = 'height=' + document.documentElement.scrollHeight; });</script>")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", script + "</body>") if "</body>" in text
                else text + script)
    try:
        dom = chromium(f"--window-size={WIDTH},1000", "--virtual-time-budget=10000",
                       "--dump-dom", "file://" + probe)
    finally:
        os.unlink(probe)
    m = re.search(r"<title>height=(\d+)</title>", dom)
    assert m, "could not measure the page's height"
    return int(m.group(1))


def screenshot(page, png):
    """The whole page, top to bottom: plots come after long tables."""
    chromium(f"--window-size={WIDTH},{page_height(page) + 50}", f"--screenshot={png}",
             "file://" + page)
    assert os.path.getsize(png) > 0


def colour_pixels(png):
    """Pixels within 12/255 of each plot colour."""
    mpimg = pytest.importorskip("matplotlib.image", reason="python3-matplotlib not installed")
    img = mpimg.imread(png)[:, :, :3]
    counts = []
    for r, g, b in PLOT_COLOURS:
        d = abs(img[:, :, 0] - r / 255) + abs(img[:, :, 1] - g / 255) + abs(img[:, :, 2] - b / 255)
        counts.append(int((d < 12 / 255).sum()))
    return counts


def test_report_page_shows_its_plots(tmp_path):
    page = os.path.abspath(os.path.join(REPORT, "index.html"))
    assert os.path.isfile(page), f"{page}: no report page"
    text = open(page, encoding="utf-8").read()
    imgs = re.findall(r'<img src="([^"]+)"', text)
    assert imgs, "the page has no plots"
    for src in imgs:
        assert os.path.isfile(os.path.join(REPORT, src)), f"{src}: plot file missing"
    shot = tmp_path / "page.png"
    screenshot(page, str(shot))
    shown = colour_pixels(str(shot))
    # the same page with every image broken: the colours must vanish
    broken = tmp_path / "broken" / "index.html"
    broken.parent.mkdir()
    broken.write_text(re.sub(r'<img src="[^"]+"', '<img src="missing.png"', text))
    screenshot(str(broken), str(tmp_path / "broken.png"))
    hidden = colour_pixels(str(tmp_path / "broken.png"))
    assert all(n >= MIN_PIXELS for n in shown), f"plot colours on the page: {shown}"
    assert all(n < MIN_PIXELS // 4 for n in hidden), f"without images: {hidden}"
    shutil.copy(shot, os.path.join(REPORT, "screenshot.png"))
