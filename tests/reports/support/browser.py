"""Headless Chromium (Debian's chromium + chromium-driver) through selenium, with the network log on."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("OFFHOST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("OFFHOST_CHROMEDRIVER", "/usr/bin/chromedriver")


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def require() -> None:
    if not available():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} / {CHROMEDRIVER} missing: scripts/test-deps installs chromium chromium-driver")
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/test-deps installs them)")


def driver(width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-extensions",
        "--disable-sync",
    ):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def requests_made(drv) -> list[str]:
    """URLs the page asked for (from the DevTools network log), the page itself included."""
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def console_errors(drv) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]


def which() -> str | None:
    return shutil.which("chromium")
