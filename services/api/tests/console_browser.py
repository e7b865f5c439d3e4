"""Helpers of the console's browser tests: headless Chromium from Debian, a local receiver."""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .conftest import JsonHandler

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "console"
# The committed screenshots change only on request (UPDATE_CONSOLE_SCREENSHOTS=1), so a test run
# leaves the work tree clean; otherwise they are still taken, into a temporary directory.
UPDATE_VARIABLE = "UPDATE_CONSOLE_SCREENSHOTS"
HOW_TO_INSTALL = "apt-get install -y chromium chromium-driver (make test does it as root)"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401, PLC0415
    except ImportError:
        return "selenium is not installed (uv sync --all-packages)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists() and shutil.which(path.name) is None:
            return f"{path} is missing: {HOW_TO_INSTALL}"
    return None


def chromium() -> Any:
    """A headless Chromium driven by the Debian chromedriver (never downloads a browser)."""
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root, in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver_path = CHROMEDRIVER if CHROMEDRIVER.exists() else shutil.which("chromedriver")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(driver_path)))
    driver.set_page_load_timeout(60)
    return driver


def screenshot_folder() -> Path:
    """Where screenshots go: docs/console/ with UPDATE_CONSOLE_SCREENSHOTS=1, else a temp dir."""
    if os.environ.get(UPDATE_VARIABLE) == "1":
        return DOCS_SCREENSHOTS
    return Path(tempfile.gettempdir()) / "console-screenshots"


def screenshot(driver: Any, name: str) -> None:
    """Save the whole page (beyond the window) as <name>.png (docs/console/ when updating)."""
    folder = screenshot_folder()
    folder.mkdir(parents=True, exist_ok=True)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def wait_for(check: Callable[[], bool], *, timeout: float, every: float = 0.5) -> bool:
    """Poll `check` until it holds or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


@contextmanager
def receiver(answer: dict[str, Any]) -> Iterator[tuple[str, list[bytes]]]:
    """An HTTP receiver on 127.0.0.1 answering 200 with `answer`; yields its URL and bodies."""
    bodies: list[bytes] = []
    payload = json.dumps(answer).encode()

    class Handler(JsonHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server names it)
            length = int(self.headers.get("content-length", "0"))
            bodies.append(self.rfile.read(length))
            self.answer_json(200, payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="console-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()
