"""People's view of the platform, in real Chromium driven by Playwright: the platform started as `make run`
starts it (every service and the gateway's registry on SQLite files, the demo people and catalog, the session's
broker), once for this folder; one browser for this folder and a fresh context (cookies, storage) per test. Both
stop before the other layers' tests run (package scope: this folder is a package for that alone).

Each step a test names is photographed to `.data/screenshots/<test>-<step>.png`, checked with axe-core (serious and
critical violations fail the test) and for anything the page reported on its console (a CSP refusal, a script
error). Chromium is the machine's (`make browser` installs Debian's when missing); Playwright's own browser
downloads are never used.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
import yaml
from axe_playwright_python.base import AXE_SCRIPT
from govdata_local.broker import LOCAL_BROKER_GROUP_TIMING, free_port
from govdata_local.platform import DATABASES, DEMO_CLIENTS, SERVICES, ProcessPlatform
from govdata_shared.settings import REPO_ROOT
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

SCREENSHOTS = REPO_ROOT / ".data" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = ("serious", "critical")
AXE_TIMEOUT_SECONDS = 30
sys.path.insert(0, str(REPO_ROOT / "deploy" / "demo"))
from load import CATALOG_FILE, DemoLoader  # noqa: E402 - deploy/demo is scripts, not a package

DEMO_PASSWORDS = {u["username"]: u["password"] for u in yaml.safe_load(DEMO_CLIENTS.read_text("utf-8"))["users"]}


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"Chromium not found at {path}: `make browser` installs it (Debian's chromium)", pytrace=False)
    return path


# --------------------------------------------------------------------------------------------- the platform


@dataclass
class Platform(ProcessPlatform):
    """The running platform and what a browser test needs of it."""

    data_dir: Path = Path()
    passwords: dict[str, str] = field(default_factory=lambda: dict(DEMO_PASSWORDS))

    @property
    def gateway(self) -> str:
        return self.gateway_url

    @property
    def callback(self) -> str:
        """The portal's redirect URI as the browser sees it: the gateway serves the portal."""
        return f"{self.gateway}/signin/callback"


def clients_file(data_dir: Path, gateway: str) -> Path:
    """The demo clients file, the portal also allowed to come back to this run's gateway port (the demo file
    registers the fixed port of `make run`)."""
    clients = yaml.safe_load(DEMO_CLIENTS.read_text(encoding="utf-8"))
    portal = next(c for c in clients["clients"] if c["client_id"] == "portal")
    portal["redirect_uris"] = [*portal["redirect_uris"], f"{gateway}/signin/callback"]
    path = data_dir / "clients.yaml"
    path.write_text(yaml.safe_dump(clients, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_demo(gateway: str, data_dir: Path, per_department: int = 3) -> None:
    """The demo catalog and sharing requests, loaded through the gateway as `make run` loads them — cut to what a
    person's pages need: every resource the tests look for (人口) or the demo requests name, and the first few of
    each of their departments (the file lists first the ones others build on). The whole catalog takes half a
    minute on two cores, mostly in the gateway's budget for checking secrets: one token per department."""
    catalog = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    requested = {code for _, code, *_ in DemoLoader.DEMO_REQUESTS}
    wanted = [r for r in catalog["resources"] if "人口" in r["name"] or r["code"] in requested]
    departments = {r["provider_dept"] for r in wanted} | {dept for dept, *_ in DemoLoader.DEMO_REQUESTS}
    taken: dict[str, int] = {}
    resources = []
    for resource in catalog["resources"]:
        dept = resource["provider_dept"]
        if resource in wanted or (dept in departments and taken.get(dept, 0) < per_department):
            resources.append(resource)
            taken[dept] = taken.get(dept, 0) + 1
    # No provider runs here (a data call is refused 502): the interfaces point at an address nothing listens on,
    # not at the demo provider's port, where a `make run` beside the tests would answer.
    text = json.dumps({**catalog, "resources": resources}, ensure_ascii=False)
    catalog_file = data_dir / "demo-catalog.json"
    catalog_file.write_text(text.replace("http://127.0.0.1:8900/", "http://127.0.0.1:9/"), encoding="utf-8")
    clients = yaml.safe_load(DEMO_CLIENTS.read_text(encoding="utf-8"))
    clients["clients"] = [c for c in clients["clients"] if c.get("dept") in departments or c["client_id"] == "bureau"]
    loader_clients = data_dir / "demo-loader-clients.yaml"
    loader_clients.write_text(yaml.safe_dump(clients, allow_unicode=True), encoding="utf-8")

    loader = DemoLoader(gateway, loader_clients)
    counts = loader.load_catalog(catalog_file)
    assert counts == {"published": len(resources)}, f"the demo catalog did not load: {counts}"
    for line in loader.load_requests():
        assert "not filed" not in line, line


@pytest.fixture(scope="package")
def platform(broker_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("browser-platform")
    gateway_port, portal_port = free_port(), free_port()
    gateway = f"http://127.0.0.1:{gateway_port}"
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in SERVICES}
    env = {
        **os.environ,
        "GOVDATA_DATA_DIR": str(data_dir),
        "GOVDATA_CLIENTS_FILE": str(clients_file(data_dir, gateway)),
        "GOVDATA_JWKS_URL": f"{gateway}/.well-known/jwks.json",
        "KAFKA_BOOTSTRAP_SERVERS": broker_bootstrap,
        **{key.upper(): str(value) for key, value in LOCAL_BROKER_GROUP_TIMING.items()},
        "OUTBOX_SWEEP_INTERVAL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        **{f"{name.upper()}_URL": url for name, url in urls.items()},
    }
    running = Platform(gateway, log_dir=data_dir / "logs", data_dir=data_dir)
    running.add_services(env, urls, {name: f"sqlite+aiosqlite:///{data_dir / f'{name}.db'}" for name in DATABASES})
    running.add_gateway(env, gateway_port, f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}", portal_port=portal_port)
    try:
        running.start_all()
        running.wait_healthy(timeout=60)
        load_demo(gateway, data_dir)
    except BaseException:
        sys.stderr.write(running.log_tails())
        running.stop_all()
        raise
    try:
        yield running
    finally:
        running.stop_all()


# --------------------------------------------------------------------------------------------- the browser
# Playwright's async API: its sync API leaves its own event loop marked running between calls, which breaks every
# async test that runs after it in the same session.


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=chromium_path())
        yield chromium
        await chromium.close()


@dataclass
class Tab:
    """A page of a fresh browser context, with what it printed on its console."""

    page: Page
    console: list[str] = field(default_factory=list)
    scripts: bool = True  # False: JavaScript is off, axe cannot run here (the same pages are checked elsewhere)

    def record(self, message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # A page answered with its error status (401 for a wrong password) is the page, not a fault of it; nor is
        # the icon Chromium asks for by itself when a page names none.
        failed_load = message.text.startswith("Failed to load resource")
        if failed_load and (url == self.page.url or urlsplit(url).path == "/favicon.ico"):
            return
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text} ({url})")


async def open_tab(browser: Browser, viewport: dict[str, int], **options: Any) -> Tab:
    context = await browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    tab = Tab(await context.new_page(), scripts=options.get("java_script_enabled", True))
    tab.page.on("console", tab.record)
    tab.page.on("pageerror", lambda error: tab.console.append(f"script error: {error}"))
    return tab


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[Tab]:
    """A desktop browser (1366×768), cookies of its own."""
    opened = await open_tab(browser, DESKTOP)
    yield opened
    await opened.page.context.close()


@pytest.fixture
async def new_tab(browser: Browser) -> AsyncIterator[Callable[[], Awaitable[Tab]]]:
    """Factory: `await new_tab()` opens one more desktop browser with cookies of its own (one per person of a
    journey); all are closed after the test."""
    opened: list[Tab] = []

    async def make() -> Tab:
        opened.append(await open_tab(browser, DESKTOP))
        return opened[-1]

    yield make
    for each in opened:
        await each.page.context.close()


@pytest.fixture
async def phone_tab(browser: Browser) -> AsyncIterator[Tab]:
    """A phone (390×844, touch), cookies of its own."""
    opened = await open_tab(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    yield opened
    await opened.page.context.close()


@pytest.fixture
async def scriptless_phone_tab(browser: Browser) -> AsyncIterator[Tab]:
    """A phone with JavaScript switched off: every page must work without it."""
    opened = await open_tab(browser, PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    yield opened
    await opened.page.context.close()


# --------------------------------------------------------------------------------------------- checks


async def axe_violations(page: Page, *, contrast: bool = True) -> list[dict]:
    """axe-core's violations on the page as it stands (without its colour-contrast rule, three quarters of its
    time, when `contrast` is false). Evaluated through the DevTools protocol, which the page's
    Content-Security-Policy (no script but its own) does not govern."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT)
    options = {"resultTypes": ["violations"], "rules": {"color-contrast": {"enabled": contrast}}}
    run = page.evaluate("async (options) => (await axe.run(document, options)).violations", options)
    return await asyncio.wait_for(run, AXE_TIMEOUT_SECONDS)  # evaluate itself waits forever


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} — {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.extend(f"      {line}" for line in node.get("failureSummary", "").splitlines())
    return "\n".join(lines)


class Checkpoint(Protocol):
    def __call__(self, tab: Tab, step: str, *, contrast: bool = True) -> Awaitable[Path]: ...


@pytest.fixture
def checkpoint(request: pytest.FixtureRequest) -> Checkpoint:
    """`await checkpoint(tab, "step")`: photograph the page, then fail on serious or critical axe violations, on a
    page wider than the window (1366×768 and phones must not scroll sideways) and on anything reported to the
    console so far; `contrast=False` leaves out axe's colour-contrast rule. Returns the screenshot's path."""
    test = re.sub(r"[^\w-]+", "-", request.node.name.removeprefix("test_")).strip("-")

    async def check(tab: Tab, step: str, *, contrast: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test}-{step}.png"
        await tab.page.screenshot(path=path, full_page=True)
        violations = await axe_violations(tab.page, contrast=contrast) if tab.scripts else []
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        if minor := [v for v in violations if v not in blocking]:
            print(f"axe, {step} ({tab.page.url}), not blocking:\n{describe(minor)}")
        if blocking:
            pytest.fail(f"axe at step {step} ({tab.page.url}):\n{describe(blocking)}\nscreenshot: {path}")
        if tab.scripts and await tab.page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            pytest.fail(f"the page at step {step} ({tab.page.url}) scrolls sideways: it must fit its width")
        if tab.console:
            pytest.fail(f"the console at step {step} ({tab.page.url}):\n  " + "\n  ".join(tab.console))
        return path

    return check
