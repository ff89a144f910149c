"""The chat UI in a real browser: the app served by `streamlit run`, headless Chromium from the
distribution (`make browser`), driven by Playwright's Python package. Never `playwright
install` (it downloads); under CI a missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from reliability.support import FakeLLM, settings_file
from test_answerers import INVENTED_CLAIM, first_entity, streamed_reply

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "streamlit_app.py"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "What does multi-head attention do?"
SERVE_TIMEOUT_S = 120
ANSWER_TIMEOUT_MS = 240_000  # the server loads the index and the embedding model on the first page


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install it with `make browser` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not serve {url} within {SERVE_TIMEOUT_S} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def server(fixture_index, tmp_path):
    """The app on a free localhost port, started from another working directory."""
    yield from _serve(fixture_index, tmp_path, {})


@pytest.fixture
def streaming_llm():
    """An OpenAI-compatible endpoint that streams its reply, a word every 0.15 s."""
    with FakeLLM(reply=streamed_reply, token_delay_s=0.15) as llm:
        yield llm


@pytest.fixture
def llm_server(fixture_index, tmp_path, streaming_llm):
    """The app answering with the streaming LLM (settings in $QA_ENGINE_SETTINGS)."""
    folder = tmp_path / "settings"
    folder.mkdir()
    path = settings_file(folder, folder / "corpus", fixture_index, answerer="llm", llm_timeout_s=60)
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    values["completion_models"]["default_completion_model"]["api_base"] = streaming_llm.api_base
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    yield from _serve(fixture_index, tmp_path, {"QA_ENGINE_SETTINGS": str(path)})


def _serve(fixture_index, tmp_path, env_extra: dict):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]
    env = {**os.environ, "QA_ENGINE_INDEX": str(fixture_index), **env_extra}
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: only what we started
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


def _browser(playwright, chromium, tmp_path):
    return playwright.chromium.launch_persistent_context(
        user_data_dir=str(tmp_path / "chromium-profile"),  # fresh profile, thrown away with tmp_path
        executable_path=str(chromium),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1440, "height": 1500},
    )


def test_chat_in_a_real_browser(chromium, server, tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = _browser(playwright, chromium, tmp_path)
        try:
            page = browser.new_page()
            page.set_default_timeout(ANSWER_TIMEOUT_MS)
            page.goto(server)
            page.get_by_role("heading", name="Attention QA").wait_for()
            chat_input = page.get_by_test_id("stChatInputTextArea")
            chat_input.wait_for()
            chat_input.fill(QUESTION)
            chat_input.press("Enter")

            answer = page.get_by_test_id("stChatMessage").filter(has_text="[Data:")
            answer.first.wait_for()
            page.get_by_test_id("stDataFrame").first.wait_for()  # the Sources tab of Evidence
            page.get_by_test_id("stStatusWidget").wait_for(state="hidden")  # the script run has ended
            page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

            page.get_by_role("tab", name="Graph").first.click()
            graph = page.get_by_test_id("stImage").locator("img").first
            graph.wait_for()
            assert graph.evaluate("img => img.naturalWidth") > 400
            graph.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "chat-graph.png"), full_page=True)

            assert page.get_by_test_id("stException").count() == 0
            assert page.get_by_test_id("stAlertContentError").count() == 0
            assert "Extractive" in page.get_by_test_id("stSidebar").inner_text()
        finally:
            browser.close()
    assert (ARTIFACTS / "chat.png").stat().st_size > 10_000


def test_chat_streams_an_llm_answer_then_marks_its_claims(chromium, llm_server, streaming_llm, tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = _browser(playwright, chromium, tmp_path)
        try:
            page = browser.new_page()
            page.set_default_timeout(ANSWER_TIMEOUT_MS)
            page.goto(llm_server)
            chat_input = page.get_by_test_id("stChatInputTextArea")
            chat_input.wait_for()
            chat_input.fill(QUESTION)
            chat_input.press("Enter")

            messages = page.get_by_test_id("stChatMessage")
            deadline = time.monotonic() + ANSWER_TIMEOUT_MS / 1000
            while not streaming_llm.requests and time.monotonic() < deadline:
                time.sleep(0.1)
            _, sentence = first_entity(streaming_llm.requests[0][2]["messages"])
            first_words = " ".join(sentence.split()[:3])
            messages.filter(has_text=first_words).last.wait_for()
            partial = messages.last.inner_text()
            assert INVENTED_CLAIM not in partial  # written as it comes: the end is not there yet
            page.screenshot(path=str(ARTIFACTS / "chat-streaming.png"), full_page=True)

            messages.filter(has_text="[unsupported]").last.wait_for()  # then the checked answer
            page.get_by_test_id("stDataFrame").first.wait_for()
            page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
            final = messages.last.inner_text()
            assert INVENTED_CLAIM in final and "[Data:" in final
            assert "1 of 2 claims stated in the evidence" in final
            assert page.get_by_test_id("stAlertContentWarning").filter(has_text=INVENTED_CLAIM).count() == 1
            page.get_by_role("tab", name="Claims (2)").click()
            page.screenshot(path=str(ARTIFACTS / "chat-claims.png"), full_page=True)
            assert streaming_llm.requests[0][2]["stream"] is True
            assert page.get_by_test_id("stException").count() == 0
            assert "LLM" in page.get_by_test_id("stSidebar").inner_text()
        finally:
            browser.close()
