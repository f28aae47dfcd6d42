"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3,
replies on fd 4, each a JSON message ended by a NUL byte), so a test needs no websocket package."""

import base64
import json
import os
import shutil
import subprocess
import time
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome")


def find() -> str | None:
  return next(filter(None, map(shutil.which, NAMES)), None)


class Browser:
  """One headless Chromium with one page; every host but 127.0.0.1 unresolvable (no network)."""

  def __init__(self, binary: str, width: int = 1280, height: int = 1500):
    self._to_browser_r, self._to_browser_w = os.pipe()
    self._from_browser_r, self._from_browser_w = os.pipe()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             f"--window-size={width},{height}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "about:blank"]
    # The shell moves the pipes onto fds 3 and 4, where Chromium expects them.
    self._process = subprocess.Popen(
        ["bash", "-c", f'exec "$0" "$@" 3<&{self._to_browser_r} 4>&{self._from_browser_w}', binary, *flags],
        pass_fds=(self._to_browser_r, self._from_browser_w), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(self._to_browser_r)
    os.close(self._from_browser_w)
    self._buffer, self._next_id, self._session = b"", 0, None
    target = self.send("Target.createTarget", url="about:blank")["targetId"]
    self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

  def send(self, method: str, **params) -> dict[str, Any]:
    """One command's result (to the page once attached); RuntimeError on a protocol error."""
    self._next_id += 1
    message = {"id": self._next_id, "method": method, "params": params}
    if self._session:
      message["sessionId"] = self._session
    os.write(self._to_browser_w, json.dumps(message).encode() + b"\0")
    while True:
      reply = self._read()
      if reply.get("id") == self._next_id:
        if "error" in reply:
          raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

  def _read(self) -> dict[str, Any]:
    while b"\0" not in self._buffer:
      chunk = os.read(self._from_browser_r, 1 << 16)
      if not chunk:
        raise RuntimeError("chromium closed the DevTools pipe")
      self._buffer += chunk
    message, self._buffer = self._buffer.split(b"\0", 1)
    return json.loads(message)

  def open(self, url: str) -> None:
    self.send("Page.navigate", url=url)

  def evaluate(self, expression: str) -> Any:
    """The value of a JavaScript expression in the page (awaited if a promise)."""
    result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
    if "exceptionDetails" in result:
      raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
    return result["result"].get("value")

  def wait_for(self, expression: str, timeout_s: float = 60.0) -> Any:
    """Polls a JavaScript expression until it is truthy (one that throws, e.g. before the page loaded, is
    not); its value. TimeoutError with the last value."""
    deadline, value = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
      try:
        value = self.evaluate(expression)
      except RuntimeError as e:
        value = e
      if value and not isinstance(value, RuntimeError):
        return value
      time.sleep(0.25)
    raise TimeoutError(f"{expression} still {value!r} after {timeout_s} s")

  def screenshot(self, path: str) -> None:
    data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    with open(path, "wb") as f:
      f.write(base64.b64decode(data))

  def close(self) -> None:
    try:
      self._session = None
      self.send("Browser.close")
    except RuntimeError:
      pass
    self._process.wait(timeout=30)
    os.close(self._to_browser_w)
    os.close(self._from_browser_r)
