r"""Serves one page on localhost that follows a sweep while it runs, redrawing itself as units finish:

  python -m analysis.serve ROOT [--port=8026]

Per setting, final eval loss vs LR (Fig 1's view) and peak max attention logit vs LR, the LR sensitivity
once a setting is complete, the units running with their step and ETA, and the instability warnings
(analysis/live.py). The page polls /data.json every few seconds. Plotly draws it (zoom, hover names the
unit); its script is served from the installed plotly package, so the page needs no network. Exit code 2
on a ROOT that is not a directory or a port that cannot be bound.
"""

import functools
import http.server
import json
import os
import sys

from absl import app, flags
from plotly.offline import get_plotlyjs

from analysis import cli, live
from rundir.flag_parser import parse_flags

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live.html")
POLL_MS = 3000  # how often the page asks for new data


class Handler(http.server.BaseHTTPRequestHandler):
  """GET / (the page), /plotly.min.js, /data.json (live.snapshot of the root, read on every request)."""

  def __init__(self, *args, root: str, page: bytes, script: bytes, **kwargs):
    self.root, self.page, self.script = root, page, script
    super().__init__(*args, **kwargs)

  def do_GET(self) -> None:  # pylint: disable=invalid-name
    path = self.path.split("?")[0]
    if path == "/":
      self._send(self.page, "text/html; charset=utf-8")
    elif path == "/plotly.min.js":
      self._send(self.script, "application/javascript")
    elif path == "/data.json":
      self._send(json.dumps(live.snapshot(self.root)).encode(), "application/json")
    else:
      self.send_error(404)

  def _send(self, body: bytes, content_type: str) -> None:
    self.send_response(200)
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(body)))
    self.send_header("Cache-Control", "no-store")
    self.end_headers()
    self.wfile.write(body)

  def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
    """Quiet: a page polling every few seconds would fill the terminal."""


def make_server(root: str, port: int) -> http.server.ThreadingHTTPServer:
  """A server on 127.0.0.1:port (0: any free port) for the sweep in `root`."""
  with open(PAGE) as f:
    page = f.read().replace("{{POLL_MS}}", str(POLL_MS)).encode()
  handler = functools.partial(Handler, root=root, page=page, script=get_plotlyjs().encode())
  return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def define_flags() -> None:
  flags.DEFINE_integer("port", 8026, "Port on 127.0.0.1 (0: any free port; the URL is printed).")


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    cli.exit_usage("expected one root: python -m analysis.serve ROOT [--port=8026]")
  root = argv[1]
  if not os.path.isdir(root):
    cli.exit_usage(f"{root}: not a directory; expected a sweep's root (launch.sweep --root) or a folder of runs")
  if not 0 <= flags.FLAGS.port <= 65535:
    cli.exit_usage(f"--port={flags.FLAGS.port}: expected a port in 0-65535 (0: any free port)")
  try:
    server = make_server(root, flags.FLAGS.port)
  except OSError as e:
    cli.exit_usage(f"--port={flags.FLAGS.port}: cannot listen on it ({e.strerror}); expected a free port")
  print(f"serving {root} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
  try:
    server.serve_forever()
  except KeyboardInterrupt:
    sys.exit(130)
  finally:
    server.server_close()


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
