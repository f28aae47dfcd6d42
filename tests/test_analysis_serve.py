"""analysis/serve.py in headless Chromium: the page draws a sweep with a unit running and redraws by itself
when that unit finishes; every host but localhost is unresolvable, so the page needs no network."""

import os
import re
import subprocess
import sys

import pytest

from tests import browser, live_sweep
from tests.trainer_utils import REPO

SCREENSHOT_DIR = os.environ.get("PROXIES_SCREENSHOT_DIR")  # where to keep the page's screenshot, else tmp_path


def _serve(root) -> tuple[subprocess.Popen, str]:
  server = subprocess.Popen([sys.executable, "-m", "analysis.serve", str(root), "--port=0"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  line = server.stdout.readline()
  match = re.search(r"http://127\.0\.0\.1:\d+/", line)
  if not match:
    server.kill()
    raise AssertionError(f"no URL in {line!r}: {server.stderr.read()}")
  return server, match.group(0)


TRACES = "Array.from(document.getElementById('{id}').data || [], t => [t.name, t.x, t.y, t.text])"
TABLE = "Array.from(document.querySelectorAll('#{id} tr'), r => Array.from(r.cells, c => c.textContent))"


@pytest.mark.skipif(browser.find() is None,
                    reason=f"no Chromium ({', '.join(browser.NAMES)}) on PATH; .ci/run installs it")
def test_page_shows_the_sweep_and_redraws_when_the_running_unit_finishes(tmp_path):
  root = tmp_path / "sweep"
  root.mkdir()
  live_sweep.write_sweep(str(root))
  server, url = _serve(root)
  chromium = browser.Browser(browser.find())
  try:
    chromium.open(url)
    chromium.wait_for(f"{TRACES.format(id='loss')}.length == 2")
    loss = {name: (x, y, text) for name, x, y, text in chromium.evaluate(TRACES.format(id="loss"))}
    assert loss["d_model=32"][:2] == ([1e-3, 1e-2, 1e-1], [5.0, 4.0, 8.0])
    assert loss["d_model=64"][:2] == ([1e-3, 1e-2], [4.5, 3.5])
    assert loss["d_model=32"][2][2] == f"{live_sweep.unit_name(32, 1e-1)} (diverged)"  # hover names the unit
    logits = {name: y for name, _, y, _ in chromium.evaluate(TRACES.format(id="logit"))}
    assert logits["d_model=32"] == pytest.approx([40.0, 400.0, 1600.0])
    running = chromium.evaluate(TABLE.format(id="running"))
    assert running[1][:2] == [live_sweep.unit_name(64, 1e-1), "5/10"] and running[1][4] == "0m30s"
    warnings = chromium.evaluate(TABLE.format(id="warnings"))
    assert len(warnings) == 2 and warnings[1][:3] == [live_sweep.unit_name(32, 1e-2), "6", "loss_spike"]
    assert warnings[1][5] == "3: loss_spike 1, attention_trend 2"
    sensitivity = {row[0]: row[1] for row in chromium.evaluate(TABLE.format(id="sensitivity"))[1:]}
    assert float(sensitivity["d_model=32"]) == pytest.approx((5 + 4 + 8) / 3 - 4, abs=1e-3)
    assert sensitivity["d_model=64"].startswith("incomplete: missing lr 1e-1")

    live_sweep.finish_running(str(root), 3.0)
    chromium.wait_for(f"{TRACES.format(id='loss')}.find(t => t[0] == 'd_model=64')[1].length == 3")
    assert chromium.evaluate(TABLE.format(id="running"))[1][0] == "none"
    sensitivity = {row[0]: row[1] for row in chromium.evaluate(TABLE.format(id="sensitivity"))[1:]}
    assert float(sensitivity["d_model=64"]) == pytest.approx((4.5 + 3.5 + 3.0) / 3 - 3.0, abs=1e-3)
    assert "eta done" in chromium.evaluate("document.getElementById('summary').textContent")
    screenshot = os.path.join(SCREENSHOT_DIR or str(tmp_path), "live_sweep.png")
    chromium.screenshot(screenshot)
    with open(screenshot, "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  finally:
    chromium.close()
    server.kill()
    server.wait()


@pytest.mark.parametrize("args, message", [
    (["/no/such/root"], "/no/such/root: not a directory"),
    ([], "expected one root"),
    ([".", "--port=70000"], "--port=70000: expected a port in 0-65535"),
    ([".", "--port=-1"], "--port=-1: expected a port in 0-65535"),
])
def test_bad_root_is_one_line_and_exit_2(args, message):
  result = subprocess.run([sys.executable, "-m", "analysis.serve", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 2
  assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr
  assert result.stdout == ""
