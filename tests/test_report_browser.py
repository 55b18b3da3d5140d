"""The leaderboard page as a person sees it: rendered by headless Chromium, no console errors,
every image decoded, a screenshot taken.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands
on fd 3, replies on fd 4, NUL-separated JSON), so no websocket library is needed. Set
REPORT_SCREENSHOT_DIR to keep the screenshots for a look.

Opt-in: these tests run only with REPORT_BROWSER=1 and a chromium on PATH (the test installs nothing),
so the default suite neither needs a browser nor spends a minute starting one.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from physics_evals.report import write_report
from toolkit.provenance import PROJECT_ROOT
from test_report import make_results

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--hide-scrollbars", "about:blank"]
TIMEOUT = 60  # seconds for any one DevTools reply
OPT_IN = "REPORT_BROWSER"
pytestmark = pytest.mark.skipif(not os.environ.get(OPT_IN), reason=f"browser test: opt in with {OPT_IN}=1 "
                                "(needs chromium on PATH)")


def chromium_path() -> str:
    """Chromium on PATH; a skip that says so when it is not there."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip(f"{OPT_IN} is set but no chromium or chromium-browser is on PATH (install one, "
                    "e.g. apt-get install chromium)")
    return found


class Browser:
    """A headless Chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self, exe: str, profile: Path):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # move the child's ends above 10 so dup2 onto 3 and 4 cannot clobber one another
        hi_r, hi_w = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
        os.close(to_chrome_r), os.close(from_chrome_w)

        def wire():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen([exe, *FLAGS[:-1], f"--user-data-dir={profile}", FLAGS[-1]],
                                     preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(hi_r), os.close(hi_w)
        self.out, self.inp = os.fdopen(to_chrome_w, "wb"), os.fdopen(from_chrome_r, "rb")
        self.replies: dict[int, queue.Queue] = {}
        self.events: list[dict] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read(self):
        buf = b""
        while chunk := self.inp.read1(65536):
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    self.replies.setdefault(msg["id"], queue.Queue()).put(msg)
                else:
                    self.events.append(msg)

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session:
            msg["sessionId"] = self.session
        q = self.replies.setdefault(self.next_id, queue.Queue())
        self.out.write(json.dumps(msg).encode() + b"\0")
        self.out.flush()
        reply = q.get(timeout=TIMEOUT)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result", {})

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            for e in list(self.events):
                if e.get("method") == method:
                    return e
            time.sleep(0.05)
        raise TimeoutError(f"no {method} within {TIMEOUT} s")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def render(exe: str, page: Path, profile: Path, shot: Path) -> dict:
    """Load the page; return its console errors and image states, and write a full-page screenshot."""
    b = Browser(exe, profile)
    try:
        for domain in ("Page", "Runtime", "Log"):
            b.send(f"{domain}.enable")
        b.send("Emulation.setDeviceMetricsOverride", width=1440, height=900, deviceScaleFactor=1, mobile=False)
        b.send("Page.navigate", url=page.resolve().as_uri())
        b.wait_event("Page.loadEventFired")
        images = b.send("Runtime.evaluate", returnByValue=True, expression=
                        "[...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))")
        images = images["result"]["value"]
        size = b.send("Page.getLayoutMetrics")["cssContentSize"]
        height = min(int(size["height"]), 30000)
        png = b.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                     clip={"x": 0, "y": 0, "width": 1440, "height": height, "scale": 1})["data"]
        shot.write_bytes(base64.b64decode(png))
        errors = [e for e in b.events if
                  (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert")) or
                  e.get("method") == "Runtime.exceptionThrown" or
                  (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        return {"images": images, "errors": errors, "height": height}
    finally:
        b.close()


def _shot_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("REPORT_SCREENSHOT_DIR", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_synthetic_report_renders_in_chromium(tmp_path):
    exe = chromium_path()
    index = write_report([make_results(tmp_path)], tmp_path / "reports")
    shot = _shot_dir(tmp_path) / "synthetic-report.png"
    seen = render(exe, index, tmp_path / "profile", shot)
    assert seen["errors"] == []
    assert len(seen["images"]) >= 2 + 4 * 2 * 2  # two figures, four models x two families x (gif + strip)
    assert all(i["ok"] for i in seen["images"]), [i["alt"] for i in seen["images"] if not i["ok"]]
    assert shot.stat().st_size > 10_000 and seen["height"] > 900


def test_project_report_renders_in_chromium(tmp_path):
    index = PROJECT_ROOT / "reports" / "index.html"
    if not index.is_file():
        pytest.skip("reports/index.html does not exist yet (run `python -m physics_evals report`)")
    seen = render(chromium_path(), index, tmp_path / "profile", _shot_dir(tmp_path) / "project-report.png")
    assert seen["errors"] == []
    assert seen["images"] and all(i["ok"] for i in seen["images"]), [i["alt"] for i in seen["images"] if not i["ok"]]
