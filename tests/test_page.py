"""The signup page (issue 19) in a real headless Chromium, against real apps, workers, sink
and RabbitMQ: a signup followed to "sent" (broker), a worker killed mid-scan that loses
nothing, a thread-mode app killed mid-scan whose user never hears, the Korean page with a
hostile name shown as text, a 400 and a 503 told, and a retry that keeps its job id.

Chromium is Debian's (`make chromium` installs it as root), driven by Playwright; never a
browser Playwright downloads. Set MQLAB_CHROMIUM to use another binary. A missing browser
fails these tests with the reason, never skips them. Every wait has a timeout; screenshots
go to the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, expect, sync_playwright

from mqlab.job.scan import EICAR
from mqlab.processes import page as served
from mqlab.processes import rabbit
from mqlab.processes.procs import Child, http_ok, mqlab_argv

from .helpers import HOST, App, Queues, Sink, Workers, get

pytestmark = pytest.mark.one_sink  # the file's tests share one sink (conftest.py)


CHROMIUM = os.environ.get("MQLAB_CHROMIUM", "/usr/bin/chromium")
WAIT_MS = 15_000  # the longest any one thing on the page is waited for
HOSTILE = "<img src=x onerror=alert(1)>"


def fontconfig(tmp: Path) -> dict[str, str]:
    """Chromium's environment, with the Korean font mqlab's charts use (koreanize-matplotlib
    ships NanumGothic) added to the system's: a machine with no Korean font still takes
    readable Korean screenshots."""
    spec = importlib.util.find_spec("koreanize_matplotlib")  # found, not imported: no side effects
    if spec is None or spec.origin is None:
        return dict(os.environ)
    fonts = Path(spec.origin).parent / "fonts"
    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<include ignore_missing='yes'>/etc/fonts/fonts.conf</include><dir>{fonts}</dir>"
        f"<cachedir>{tmp / 'cache'}</cachedir></fontconfig>"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM} for the page tests: `make chromium` installs Debian's "
            "(as root; or apt-get install chromium), or set MQLAB_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    env = fontconfig(tmp_path_factory.mktemp("chromium"))
    with sync_playwright() as p:
        # --no-sandbox is Playwright's default; /dev/shm is small in containers
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--disable-dev-shm-usage"], env=env
        )
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page in a fresh browser context, and what went wrong in it."""

    page: Page
    shots: Path
    errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors
    dialogs: list[str] = field(default_factory=list)  # alert(), confirm()...

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=path)
        return path

    def state(self) -> str:
        return self.page.locator("#state").get_attribute("data-state") or ""

    def history(self) -> str:
        return self.page.locator("#history").inner_text()

    def sign_up(self, email: str = "ana@example.test", name: str = "Ana") -> str:
        """Fill the form, send it; the job id the page made."""
        self.page.fill("#email", email)
        self.page.fill("#name", name)
        self.page.click("#send")
        job = self.page.locator("#job-id")
        expect(job).to_have_text(re.compile(r"^web-[0-9a-f]{32}$"))
        return job.inner_text()


@pytest.fixture
def open_tab(browser: Browser, tmp_path: Path) -> Iterator[Callable[..., Tab]]:
    contexts = []
    tabs: list[Tab] = []

    def open_(url: str, locale: str = "en-US") -> Tab:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
        contexts.append(context)
        tab = Tab(context.new_page(), tmp_path)
        tab.page.set_default_timeout(WAIT_MS)
        tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))

        def on_dialog(dialog: Dialog) -> None:
            tab.dialogs.append(dialog.message)
            dialog.dismiss()

        tab.page.on("dialog", on_dialog)
        tab.page.goto(url)
        tabs.append(tab)
        return tab

    expect.set_options(timeout=WAIT_MS)
    yield open_
    for context in contexts:
        context.close()
    for tab in tabs:
        assert tab.errors == [], f"JavaScript errors on the page: {tab.errors}"


def test_the_broker_page_follows_a_signup_to_sent(
    open_tab: Callable[..., Tab],
    workers: Workers,  # before the app: its queues are deleted once the app has stopped
    start_app: Callable[..., App],
    sink: Sink,
) -> None:
    app = start_app("broker", None, *workers.queues.args(), "--server-threads", "2")
    workers.start(sink.port, "--scan-ms", "400")
    tab = open_tab(app.url + "/")
    expect(tab.page.locator("#mode-name")).to_have_text("message broker (RabbitMQ)")
    expect(tab.page.locator("#mode-expect")).to_contain_text("a worker scans and sends it")
    job = tab.sign_up()
    expect(tab.page.locator("#answer")).to_have_attribute("data-code", "202")
    expect(tab.page.locator("#answer")).to_have_text(re.compile(r"^202 accepted, in \d+ ms$"))
    expect(tab.page.locator("#state")).to_have_attribute("data-state", "sent")
    expect(tab.page.locator("#note")).to_have_text(
        "Final state: sent. The app server ended the stream."
    )
    rows = tab.page.locator("#history li.event strong").all_inner_texts()
    assert rows == ["queued", "scanning", "sent"]
    tab.shot("broker-sent")
    (mail,) = sink.wait_for(1)
    assert mail.job_id == job


def test_a_worker_killed_mid_scan_still_reaches_sent(
    open_tab: Callable[..., Tab],
    workers: Workers,  # before the app: its queues are deleted once the app has stopped
    start_app: Callable[..., App],
    sink: Sink,
) -> None:
    app = start_app("broker", None, *workers.queues.args(), "--server-threads", "2")
    first = workers.start(sink.port, "--scan-ms", "3000")
    tab = open_tab(app.url + "/")
    job = tab.sign_up()
    expect(tab.page.locator("#state")).to_have_attribute("data-state", "scanning")
    first.kill()  # SIGKILL mid-scan: its job was never acked, the broker still holds it
    tab.shot("broker-worker-killed")
    assert tab.state() == "scanning" and sink.arrivals() == []
    workers.start(sink.port, "--scan-ms", "200")  # the lesson is done: a quick one
    expect(tab.page.locator("#state")).to_have_attribute("data-state", "sent", timeout=20_000)
    details = tab.page.locator("#history li.event").all_inner_texts()
    assert [d for d in details if "scanning" in d][-1].endswith("try 2"), details
    assert "connection lost" not in tab.history()  # the app never went away
    tab.shot("broker-sent-after-worker-kill")
    (mail,) = sink.wait_for(1)
    assert mail.job_id == job


def test_thread_mode_never_tells_a_user_whose_app_died(
    open_tab: Callable[..., Tab], start_app: Callable[..., App], sink: Sink, tmp_path: Path
) -> None:
    args = ("--smtp-port", str(sink.port), "--scan-ms", "3000")
    app = start_app("thread", None, *args)
    tab = open_tab(app.url + "/")
    expect(tab.page.locator("#mode-expect")).to_contain_text("this page will never hear")
    tab.sign_up()
    expect(tab.page.locator("#answer")).to_have_attribute("data-code", "202")
    expect(tab.page.locator("#state")).to_have_attribute("data-state", "scanning")
    app.child.kill()  # SIGKILL mid-scan: the pool, its job and every state die with it
    expect(tab.page.locator("#history")).to_contain_text("connection lost")
    expect(tab.page.locator("#note")).to_contain_text("reconnecting")
    tab.shot("thread-app-killed")

    argv = mqlab_argv("serve", "thread", "--port", str(app.port), *args)
    again = Child("app thread, restarted", argv, tmp_path / "app-restarted.log").start()
    try:
        again.wait_listening(
            app.port, lambda: http_ok(f"http://{HOST}:{app.port}/health"), timeout=15
        )
        # the page's EventSource reconnects (3 s), hears 404, asks GET why
        expect(tab.page.locator("#state")).to_have_attribute("data-state", "unknown")
        expect(tab.page.locator("#note")).to_contain_text("that memory died with it")
        expect(tab.page.locator("#said-text")).to_contain_text("unknown job")
        tab.shot("thread-never-hears")
        assert "sent" not in tab.page.locator("#history li.event strong").all_inner_texts()
        assert sink.arrivals() == []  # and indeed: the mail was never sent
    finally:
        again.stop()


def test_the_page_says_when_the_app_lost_its_status_log_and_when_it_hears_it_again(
    open_tab: Callable[..., Tab], start_app: Callable[..., App], node: rabbit.PrivateNode
) -> None:
    """The app's broker (a private node) killed under a queued job, then back. The page hears
    it on the job's stream (event: stale, event: live), GET says it too, and a job the app
    has not heard of is 503 meanwhile, not a 404 that may be false. In Korean, the page's
    other language, so that its new lines are looked at in both."""
    queues = Queues(node.url)
    try:
        app = start_app("broker", None, *queues.args(), "--reconnect-max", "0.5")
        tab = open_tab(app.url + "/", locale="ko-KR")
        job = tab.sign_up()  # no worker: it stays queued
        expect(tab.page.locator("#state")).to_have_attribute("data-state", "queued")
        assert get(app, job)[1]["live"] is True
        assert get(app, "never-posted")[0] == 404  # the log is heard: unknown is unknown
        node.kill()
        killed = time.time()
        expect(tab.page.locator("#note")).to_contain_text("앱 서버가 상태 로그를 놓쳤습니다")
        expect(tab.page.locator("#history")).to_contain_text("앱 서버가 상태 로그를 놓침")
        assert tab.state() == "queued"  # the last state it heard, said to be so
        code, body = get(app, job)
        assert (code, body["state"], body["live"]) == (200, "queued", False)
        assert killed - 1 < body["log_lost_at"] < time.time()
        assert "the last state it heard" in body["note"]
        code, body = get(app, "never-posted")
        assert code == 503 and "not been heard of yet" in body["error"]
        tab.shot("broker-status-log-lost")
        node.restart()
        expect(tab.page.locator("#note")).to_contain_text("상태 로그를 다시 듣습니다")
        expect(tab.page.locator("#history")).to_contain_text("앱 서버가 상태 로그를 다시 들음")
        assert tab.history().count("상태 로그를 놓침") == 1  # told once, not at each look
        assert get(app, job)[1]["live"] is True
        assert get(app, "never-posted")[0] == 404
        tab.shot("broker-status-log-back")
    finally:
        if not node.running:
            node.restart()
        queues.delete()


def test_the_page_speaks_korean_and_shows_a_hostile_name_as_text(
    open_tab: Callable[..., Tab], start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--scan-ms", "0")
    tab = open_tab(app.url + "/", locale="ko-KR")  # navigator.language: Korean
    page = tab.page
    expect(page.locator("h1")).to_have_text("회원가입: 환영 메일 데모")
    assert page.evaluate("document.documentElement.lang") == "ko"
    expect(page.locator("#mode-name")).to_have_text("동기 처리")
    expect(page.locator("#send")).to_have_text("가입하기")
    page.fill("#name", HOSTILE)
    page.click("#eicar")
    expect(page.locator("#answer")).to_have_attribute("data-code", "422")
    expect(page.locator("#state")).to_have_text("격리")
    expect(page.locator("#note")).to_have_text("응답이 곧 결과입니다. 더 지켜볼 것은 없습니다.")
    who = f"{HOSTILE} <ana@example.test> (EICAR 테스트 바이러스 첨부)"
    expect(page.locator("#job-who")).to_have_text(who)  # the name as text: no element made
    tab.shot("sync-korean-hostile-name")
    assert page.locator("img").count() == 0 and tab.dialogs == []
    (notice,) = sink.wait_for(1)
    assert notice.kind == "quarantine"  # to the admin; no welcome mail
    shown = page.locator("#mode, form, #job dt, #answer, #state, #note, h1, h2, h3").all()
    words = {w for el in shown for w in re.findall(r"[A-Za-z]{2,}", el.inner_text())}
    assert words <= {"EICAR", "ms", "ID", "KiB"}, words  # the rest is Korean
    # ?lang= wins over the browser's language, either way
    page.goto(app.url + "/?lang=en")
    expect(page.locator("h1")).to_have_text("Sign up: the welcome mail demo")
    english = open_tab(app.url + "/?lang=ko")
    expect(english.page.locator("#send")).to_have_text("가입하기")
    expect(english.page.locator("#mode-expect")).to_contain_text("응답이 곧 결과이고")


def test_a_refusal_and_a_503_are_told_and_a_retry_keeps_its_job_id(
    open_tab: Callable[..., Tab], start_app: Callable[..., App]
) -> None:
    """A broker app whose broker is not there: it starts, and answers 503 (not taken)."""
    app = start_app("broker", None, "--amqp-url", "amqp://guest:guest@127.0.0.1:1/%2F")
    tab = open_tab(app.url + "/")
    bad = tab.sign_up(email="not an address")
    expect(tab.page.locator("#answer")).to_have_attribute("data-code", "400")
    expect(tab.page.locator("#state")).to_have_attribute("data-state", "refused")
    expect(tab.page.locator("#said-text")).to_contain_text("'email' is not a valid address")

    def a_post(request: Request) -> bool:
        return request.method == "POST" and request.url.endswith("/signup")

    with tab.page.expect_request(a_post) as first:
        job = tab.sign_up()
    expect(tab.page.locator("#answer")).to_have_attribute("data-code", "503")
    expect(tab.page.locator("#state")).to_have_text("not taken")  # "outcome": "not_taken"
    retry_after = re.compile(r"Try again in \d+ s")  # the 503's Retry-After
    expect(tab.page.locator("#note")).to_contain_text(retry_after)
    tab.shot("broker-503")
    with tab.page.expect_request(a_post) as again:
        tab.page.click("#retry")
    sent = [first.value.headers["x-job-id"], again.value.headers["x-job-id"]]
    assert sent == [job, job] and job != bad  # a retry is the same signup, a new one is not
    assert again.value.post_data == first.value.post_data
    expect(tab.page.locator("#answer")).to_have_attribute("data-code", "503")


def test_the_page_is_filled_in_escaped_and_answers_only_get() -> None:
    """No browser: what page.py serves, for a mode that would break out of its attribute."""
    html = served.page_files('x" onload="alert(1)').get("/")
    assert html is not None
    assert b'data-mode="x&quot; onload=&quot;alert(1)"' in html[0]
    assert b"__" not in html[0].split(b"<head>")[0]  # every marker filled in
    files = b"".join(body for body, _ in served.page_files("sync").values())
    assert EICAR not in files  # in base64 only: no virus scanner flags the package

    def answer(method: str, path: str) -> list[dict[str, object]]:
        respond = served.Page("sync")(method, path)
        assert respond is not None
        sent: list[dict[str, object]] = []

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        with ThreadPoolExecutor(1) as thread:  # this one's loop may hold Playwright's
            thread.submit(asyncio.run, respond(None, send)).result(timeout=5)
        return sent

    head = answer("HEAD", "/")
    assert head[0]["status"] == 200 and head[1]["body"] == b""
    assert answer("POST", "/page.js")[0]["status"] == 405
    assert served.Page("sync")("GET", "/signup/x") is None  # not the page's: on to the app
