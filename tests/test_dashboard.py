"""The dashboard in headless Chromium against a corpus with known content."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from goalconvo.sinks.dashboard.server import Dashboard
from goalconvo.sinks.metrics import snapshot_metrics

from cdp import CHROMIUM, Browser
from polling import until
from test_corpus import _hand_store

ARTIFACTS = Path(os.environ.get("GOALCONVO_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")


def test_dashboard_shows_the_known_figures_without_console_errors(tmp_path: Path):
    store = _hand_store(tmp_path)  # set a: 2 dialogues, acceptance 0.5; set b: 1 dialogue, rejected
    snapshot_metrics(store)
    store.write_similarity([["a1", "R1", "ref", 0.8125, 0.8, 0.825, "all-MiniLM-L6-v2", 4, False, 3, time.time()]])
    store.close()

    async def scenario():
        dash = Dashboard(tmp_path / "c.duckdb", port=0)
        await dash.start()
        try:
            async with Browser() as b:
                await b.goto(dash.url, "document.body.dataset.loaded === '1'")
                table = await b.evaluate(
                    "[...document.querySelectorAll('#sets tr')].map(r => [...r.cells].map(c => c.textContent))")
                reasons = await b.evaluate("document.getElementById('reasons-chart').textContent")
                bars = await b.evaluate("document.querySelectorAll('#sets-chart rect').length")
                rows = await b.evaluate("document.querySelectorAll('#dlg-list tbody tr').length")
                await b.evaluate("document.querySelector('#dlg-list tbody tr').click()")
                view_js = "document.getElementById('dlg-view').textContent"
                # The dialogue is fetched and drawn after the click: wait until its turns are on the page.
                await until(lambda: b.evaluate(f"{view_js}.includes('User:')"), 15, 0.1)
                view = await b.evaluate(view_js)
                await b.screenshot(ARTIFACTS / "dashboard.png")
                return table, reasons, bars, rows, view, list(b.errors)
        finally:
            await dash.stop()

    table, reasons, bars, rows, view, errors = asyncio.run(scenario())
    assert errors == [], errors
    figures = {r[0]: r[1:] for r in table}
    assert figures["figure"] == ["a", "b"]
    assert figures["dialogues"] == ["2", "1"]
    assert figures["acceptance"] == ["0.500", "0"]
    assert figures["goal completion"] == ["0.500", "1"]
    assert figures["BERTScore F1"] == ["0.812", "–"] or figures["BERTScore F1"] == ["0.813", "–"]
    assert "a · goal_completion" in reasons and "b · exchanges" in reasons
    assert bars == 5 + 4, "one bar per set and figure that has a value (b has no BERTScore)"
    assert rows == 3
    assert "SupportBot:" in view and "User:" in view
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_dashboard_api_reports_a_missing_corpus_plainly(tmp_path: Path):
    import aiohttp

    async def scenario():
        dash = Dashboard(tmp_path / "none.duckdb", port=0)
        await dash.start()
        try:
            async with aiohttp.ClientSession() as s:
                r = await s.get(dash.url + "api/summary")
                missing = await s.get(dash.url + "static/../../cli.py")
                return r.status, await r.json(), missing.status
        finally:
            await dash.stop()

    status, body, missing = asyncio.run(scenario())
    assert status == 503 and "no corpus at" in body["error"]
    assert missing == 404
