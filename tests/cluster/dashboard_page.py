"""The Ray dashboard's Actors page as a person sees it: headless Chromium, the token typed into
the dashboard's "Authentication Token Required" prompt, the table's rows read back.

    rows = actor_rows_on_page("http://127.0.0.1:8265", token)
    # {("collector-0", "0a000000", "ALIVE"), ...}: (Name, Job ID, State) of every actor
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Flags for a machine without display or outside network (see Chromium's headless docs).
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-quic")


def missing_browser() -> str | None:
    """Why the page cannot be checked here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make install adds it with the test extras)"
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return "needs Debian's chromium and chromium-driver"
    return None


def actor_rows_on_page(address: str, token: str, scratch: Path, screenshot: Path | None = None,
                       timeout_s: float = 60) -> set[tuple[str, str, str]]:
    """`scratch`: a folder for the browser's profile and temporary files (removed by the
    caller), so nothing is left in /tmp."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={scratch / 'profile'}")
    service = Service(shutil.which("chromedriver") or CHROMEDRIVER,
                      env={**os.environ, "TMPDIR": str(scratch)})
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_window_size(1600, 1000)
        driver.get(f"{address}/#/actors?pageSize=100")
        prompt = _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "input[type=password]"),
                       timeout_s, "the dashboard's token prompt")
        prompt[0].send_keys(token)
        submit = [b for b in driver.find_elements(By.TAG_NAME, "button")
                  if b.text.strip().upper() == "SUBMIT"]
        submit[0].click()
        _wait(lambda: not driver.find_elements(By.CSS_SELECTOR, "input[type=password]"),
              timeout_s, "the prompt to accept the token")
        # Every actor on one page: the table shows 10 per page by default.
        size = _wait(lambda: [i for i in driver.find_elements(By.TAG_NAME, "input")
                              if i.get_attribute("value") == "10"], timeout_s, "the page size")
        size[0].send_keys("\b\b100")
        rows = _wait(lambda: _rows(driver), timeout_s, "the actors table")
        if screenshot is not None:
            driver.save_screenshot(str(screenshot))
        return rows
    finally:
        driver.quit()


def _rows(driver) -> set[tuple[str, str, str]]:
    """(Name, Job ID, State) of each row of the actors table, as text without the layout's
    line breaks."""
    rows = driver.execute_script(
        "const heads = [...document.querySelectorAll('thead th')].map(h => h.textContent.trim());"
        "const at = ['Name', 'Job ID', 'State'].map(h => heads.indexOf(h));"
        "if (at.includes(-1)) return [];"
        "return [...document.querySelectorAll('tbody tr')].map(r => at.map("
        "  i => r.children[i] ? r.children[i].textContent.trim() : ''));")
    return {tuple(row) for row in rows if row[0] and row[0] != "-"}


def _wait(probe, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not show within {timeout_s:.0f} s")
        time.sleep(0.5)
