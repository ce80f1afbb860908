"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium, no browser
download). Skipped with a clear message where Chromium or Playwright is missing."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between
# page steps are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LABEL_CHECK = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium) to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def e2e_settings(settings, tmp_path):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = ["*"]
    # Files uploaded through the browser (licences, certificates, deliverables) go to a temporary
    # directory, never to the project's private_media.
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None}}}
    return settings


# A small valid PDF for the upload fields (the server checks the content, not the name).
PDF_FILE = {"name": "scan.pdf", "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"}


def pdf_file(name: str) -> dict:
    return {**PDF_FILE, "name": name}


class Pages:
    """A browser session for one journey: collects console errors and checks form labels on every page."""

    def __init__(self, browser, base_url: str, name: str):
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.name = name
        self.console_errors: list[str] = []
        self.unlabelled: list[str] = []
        # Console errors, except the browser's note on an error page we navigated to on purpose (a refused
        # form answers 403 with its reason); failed sub-resources (scripts, styles, images) are caught below.
        self.page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
                     and self.console_errors.append(f"{self.page.url}: {msg.text}"))
        self.page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document"
                     and self.console_errors.append(f"{r.url}: HTTP {r.status}"))
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"{self.page.url}: {exc}"))
        self.page.on("load", lambda page: self._check_labels())

    def _check_labels(self) -> None:
        try:
            for html in self.page.evaluate(LABEL_CHECK):
                self.unlabelled.append(f"{self.page.url}: {html}")
        except Exception:  # the page navigated away meanwhile
            pass

    def goto(self, path: str):
        self.page.goto(self.base_url + path)
        return self.page

    def login(self, username: str, password: str):
        self.goto("/accounts/logout/") if False else None
        self.context.clear_cookies()
        page = self.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()
        return page

    def finish(self):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{re.sub(r'[^a-z0-9_]+', '_', self.name.lower())}.png"), full_page=True)
        self.context.close()
        assert not self.console_errors, self.console_errors
        assert not self.unlabelled, self.unlabelled


@pytest.fixture
def pages(browser, live_server, e2e_settings, request):
    session = Pages(browser, live_server.url, request.node.name)
    yield session
    session.finish()
