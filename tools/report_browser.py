#!/usr/bin/env python3
"""Open a `snakemake --report` page in headless Chromium and check what a person would see.

    python tools/report_browser.py results/demo/report.html --screenshot docs/report.png

Drives Debian's chromium through its chromedriver (selenium; `tools/browser.sh` installs both):
loads the page, waits for the report app, then shows every image result (it must load with a
size), every HTML result (a listening page must hold three audio players whose WAVs the browser
decodes to a duration; a table page must hold a table), and leaves a figure on screen for the
screenshot (and a listening example for a second one, `<stem>_listening.png`). Prints a JSON summary (categories, results per kind, players, problems); exit 1 when
a problem was found, 2 when the browser could not be started.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)


def find_browser() -> tuple[str | None, str | None]:
    browser = next((p for b in BROWSERS if (p := shutil.which(b))), None)
    driver = next((p for d in DRIVERS if (p := shutil.which(d))), None)
    return browser, driver


def start(width: int = 1400, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_browser()
    if browser is None or driver is None:
        raise RuntimeError("chromium and chromedriver are not installed (tools/browser.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-file-access-from-files",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)  # no driver download


# the content pane's picture of one result (the navigation has other pictures: the logo)
SHOWN_IMAGE = (
    "const i = Array.from(document.images).find(i => i.getAttribute('src') === results[arguments[0]].data_uri);"
    "return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null"
)


def _wait(check, timeout: float = 30.0, step: float = 0.1):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


def _decoded(driver) -> list[float] | None:
    """The players' durations once the browser has decoded every WAV's header, else None."""
    durations = driver.execute_script(
        "return Array.from(document.querySelectorAll('audio')).map(a => a.readyState >= 1 ? a.duration : 0)"
    )
    return durations if all(d and d > 0 for d in durations) else None


def inspect_report(report: Path, screenshot: Path | None = None, timeout: float = 60.0) -> dict:
    driver = start()
    problems: list[str] = []
    summary: dict = {"report": str(report), "problems": problems}
    try:
        driver.get(report.resolve().as_uri())
        ready = _wait(
            lambda: driver.execute_script(
                "return typeof app !== 'undefined' && typeof results !== 'undefined' "
                "&& document.querySelector('#loading-screen').style.display === 'none'"
            ),
            timeout,
        )
        if not ready:
            problems.append("the report app did not start")
            return summary
        results = driver.execute_script(
            "return Object.entries(results).map(([p, r]) => ({path: p, mime: r.mime_type, name: r.name}))"
        )
        summary["categories"] = sorted(driver.execute_script("return Object.keys(categories)"))
        summary["results"] = len(results)
        kinds: dict[str, int] = {}
        for r in results:
            kinds[r["mime"]] = kinds.get(r["mime"], 0) + 1
        summary["mime_types"] = kinds
        images, players, tables = [], [], 0
        for r in results:
            view = "img" if r["mime"].startswith("image/") else "html" if r["mime"] == "text/html" else None
            if view is None:
                continue
            driver.switch_to.default_content()
            driver.execute_script(
                "app.setView({content: arguments[1], contentPath: results[arguments[0]].data_uri, "
                "resultPath: arguments[0]})",
                r["path"],
                view,
            )
            if view == "img":
                size = _wait(lambda: driver.execute_script(SHOWN_IMAGE, r["path"]), 20)  # noqa: B023
                if not size:
                    problems.append(f"image {r['name']} did not load")
                images.append({"name": r["name"], "size": size})
                continue
            frame = _wait(lambda: driver.execute_script("return document.querySelector('#app iframe')"), 20)
            if not frame:
                problems.append(f"page {r['name']} is not shown")
                continue
            driver.switch_to.frame(frame)
            _wait(lambda: driver.execute_script("return document.readyState === 'complete'"), 20)
            audios = driver.execute_script("return document.querySelectorAll('audio').length")
            if audios:
                durations = _wait(lambda: _decoded(driver), 30) or driver.execute_script(
                    "return Array.from(document.querySelectorAll('audio')).map(a => a.duration)"
                )
                kinds_ = driver.execute_script(
                    "return Array.from(document.querySelectorAll('audio')).map(a => a.dataset.kind)"
                )
                picture = driver.execute_script(
                    "const i = document.querySelector('img'); return i && i.complete ? i.naturalWidth : 0"
                )
                players.append({"name": r["name"], "players": kinds_, "durations_s": durations, "picture": picture})
                if sorted(kinds_) != ["mono", "prediction", "truth"]:
                    problems.append(f"{r['name']}: players {kinds_}, not mono, prediction and truth")
                if not all(isinstance(d, (int, float)) and d > 0 for d in durations):
                    problems.append(f"{r['name']}: the browser did not decode every WAV ({durations})")
                if not picture:
                    problems.append(f"{r['name']}: the scene picture did not load")
            elif driver.execute_script("return document.querySelectorAll('table tr').length") > 1:
                tables += 1
            else:
                problems.append(f"page {r['name']} holds neither audio players nor a table")
        driver.switch_to.default_content()
        summary.update(images=images, listening_pages=players, table_pages=tables)
        if screenshot is not None:
            figure = next((r for r in results if r["name"].startswith("figure4")), None) or next(
                (r for r in results if r["mime"] == "image/png"), None
            )
            driver.execute_script("app.showCategory('scores')")
            if figure is not None:
                driver.execute_script(
                    "app.setView({content: 'img', contentPath: results[arguments[0]].data_uri, resultPath: arguments[0]})",
                    figure["path"],
                )
                _wait(lambda: driver.execute_script(SHOWN_IMAGE, figure["path"]), 20)
            time.sleep(0.5)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
            summary["screenshot"] = str(screenshot)
            page = next((r for r in results if r["name"] in {p["name"] for p in players}), None)
            if page is not None:  # and a listening example, as the report shows it: <stem>_listening.png
                driver.execute_script("app.showCategory('listening')")
                driver.execute_script(
                    "app.setView({content: 'html', contentPath: results[arguments[0]].data_uri, resultPath: arguments[0]})",
                    page["path"],
                )
                time.sleep(1.0)
                listening = screenshot.with_name(f"{screenshot.stem}_listening{screenshot.suffix}")
                driver.save_screenshot(str(listening))
                summary["listening_screenshot"] = str(listening)
        return summary
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        summary = inspect_report(args.report, args.screenshot)
    except Exception as exc:  # the browser or its driver did not start
        print(f"report_browser: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 1 if summary["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
