"""The console in a real browser (headless Chromium + chromedriver from Debian, Selenium).

The whole platform runs as processes (tests/e2e/harness.py, as `make up` runs it): the API that
serves the console, the router, the webhook sender and the log writer. A user signs in, creates
a webhook integration (first refused by the API's validation), disables and enables it, sends a
test event that a real local receiver answers, reads the delivery stats and the job with its
attempt, and deletes it. Another test does sign-in and a form with the keyboard only.
Each page is saved as a screenshot under docs/console/.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Platform, RunConfig
from tests.e2e.tokens import mint_token

from .console_browser import browser_missing, chromium, receiver, screenshot, wait_for

pytestmark = pytest.mark.e2e

STORE_ID = f"store-{uuid.uuid4().hex[:8]}"
ORG_ID = f"org-{uuid.uuid4().hex[:8]}"
SECRET = "console_signing_secret_4711"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module; skipped, saying why, when it cannot be installed."""
    reason = browser_missing()
    if reason is not None:
        pytest.skip(f"browser tests skipped: {reason}")
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def platform(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    sqs_endpoint_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """API, log writer, router and webhook sender, on this module's topics and database."""
    if browser_missing() is not None:
        pytest.skip(f"browser tests skipped: {browser_missing()}")
    run = RunConfig(
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        mongodb_uri=mongodb_uri,
        sqs_endpoint_url=sqs_endpoint_url,
    )
    running = Platform(run, Path(tmp_path_factory.mktemp("console-platform")))
    try:
        running.start("api", "log-writer", "router", "webhook-sender")
        yield running
    finally:
        running.stop()


def _by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return driver.find_element(By.ID, element_id)


def _css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _button(driver: Any, text: str) -> Any:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return driver.find_element(By.XPATH, f"//button[normalize-space()='{text}']")


def _open_signed_out(driver: Any, platform: Platform, page: str) -> str:
    """Open the console's `page` with no cookies; answer a valid token to sign in with."""
    driver.delete_all_cookies()
    driver.get(f"{platform.api_url}/console/{page}")
    return mint_token(platform.run, store_id=STORE_ID, org_id=ORG_ID)


def _sign_in(driver: Any, base: str, token: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/console/sign-in")
    _by_id(driver, "token").send_keys(token)
    _button(driver, "Sign in").click()
    assert wait_for(lambda: driver.current_url.endswith("/console/integrations"), timeout=10)


def _see(driver: Any, text: str) -> bool:
    """The page the last click opened shows `text` (a click does not wait for the next page)."""
    return wait_for(lambda: text in driver.page_source, timeout=10, every=0.2)


def test_console_manages_an_integration_and_shows_a_real_delivery(  # noqa: PLR0915
    browser: Any, platform: Platform
) -> None:
    base = platform.api_url
    token = _open_signed_out(browser, platform, "")
    assert "Sign in" in browser.title
    screenshot(browser, "sign-in")
    _by_id(browser, "token").send_keys("not-a-token")
    _button(browser, "Sign in").click()
    assert _see(browser, "The token is not valid.")
    _sign_in(browser, base, token)
    name = f"Orders to the console receiver {uuid.uuid4().hex[:6]}"

    with receiver({"received": True, "echo": SECRET}) as (url, bodies):
        # An invalid URL: the API's 422 message appears next to the field; the secret is gone.
        browser.get(f"{base}/console/integrations/new?type=webhook")
        _by_id(browser, "name").send_keys(name)
        _by_id(browser, "description").send_keys("Created in the browser test")
        _by_id(browser, "observes").send_keys("order.paid\norder.fulfilled")
        _by_id(browser, "url").send_keys("ftp://not-a-webhook")
        _by_id(browser, "secret_key").send_keys(SECRET)
        _button(browser, "Create integration").click()
        assert _see(browser, 'id="url-error"')
        error = _by_id(browser, "url-error").text
        assert "configuration.url" in error
        assert _by_id(browser, "url").get_attribute("aria-invalid") == "true"
        assert SECRET not in browser.page_source
        assert _by_id(browser, "secret_key").get_attribute("value") == ""
        screenshot(browser, "form-validation")

        # Fixed: created, and the page of the integration opens.
        _by_id(browser, "url").clear()
        _by_id(browser, "url").send_keys(url)
        _by_id(browser, "secret_key").send_keys(SECRET)
        _button(browser, "Create integration").click()
        assert _see(browser, "The integration was created.")
        assert SECRET not in browser.page_source
        page = browser.current_url.split("?", 1)[0]

        # Listed; disabled and enabled again from the list.
        browser.get(f"{base}/console/integrations")
        assert name in browser.page_source
        _css(browser, f"button[aria-label='Disable {name}']")[0].click()
        assert _see(browser, "The integration is disabled.")
        assert _see(browser, f'aria-label="Enable {name}"')
        screenshot(browser, "integrations")
        _css(browser, f"button[aria-label='Enable {name}']")[0].click()
        assert _see(browser, "The integration is enabled.")

        # A test event through the events topic, delivered to the receiver, then on the page.
        def delivered() -> bool:
            browser.get(page)
            return "HTTP 200" in browser.page_source

        for _ in range(4):  # the router may not have indexed the new integration yet
            browser.get(page)
            _button(browser, "Send test event").click()
            assert _see(browser, "A test event was sent")
            if wait_for(delivered, timeout=20, every=1.0):
                break
        assert bodies, "the receiver got nothing"
        assert wait_for(delivered, timeout=30, every=1.0)
        assert "order.paid" in browser.page_source
        stats = _css(browser, "section.stat")
        assert "100.0 %" in stats[0].text
        assert "ms" in stats[0].text
        # The receiver's answer is stored masked: it echoed the secret, the page never shows it.
        assert "received" in browser.page_source
        assert SECRET not in browser.page_source
        screenshot(browser, "integration")

        # Replay the newest job: the receiver gets it again, the same event, the next attempt.
        seen = len(bodies)
        first_attempt = json.loads(bodies[-1])
        browser.get(page)
        _button(browser, "Replay").click()  # the first one: the newest job
        assert _see(browser, "The job was sent again")
        assert wait_for(lambda: len(bodies) > seen, timeout=30, every=0.5)
        again = json.loads(bodies[-1])
        assert again["attempt"] == 2
        assert again["id"] in {json.loads(b)["id"] for b in bodies[:seen]}
        assert first_attempt["attempt"] == 1
        _button(browser, "Recover").click()
        assert _see(browser, "No job of that window had failed for good")

        # Edit shows secrets only as masks, in placeholders.
        browser.get(f"{page}/edit")
        assert _by_id(browser, "secret_key").get_attribute("value") == ""
        assert "unchanged (" in (_by_id(browser, "secret_key").get_attribute("placeholder") or "")
        screenshot(browser, "edit")

        # Delete, after a confirmation page.
        browser.get(f"{page}/delete")
        screenshot(browser, "delete")
        _by_id(browser, "confirm-delete").click()
        assert _see(browser, "The integration was deleted.")
        assert name not in browser.page_source


def test_console_sign_in_and_a_form_with_the_keyboard_only(
    browser: Any, platform: Platform
) -> None:
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415

    token = _open_signed_out(browser, platform, "sign-in")

    def active() -> Any:
        return browser.switch_to.active_element

    def tab_to(check: Any, limit: int = 30) -> Any:
        for _ in range(limit):
            element = active()
            if check(element):
                return element
            element.send_keys(Keys.TAB)
        raise AssertionError("not reachable with Tab")

    # The token field has the focus; type, then Enter submits.
    assert active().get_attribute("id") == "token"
    active().send_keys(token, Keys.ENTER)
    assert wait_for(lambda: browser.current_url.endswith("/console/integrations"), timeout=10)

    link = tab_to(lambda e: e.text == "New Webhook integration")
    link.send_keys(Keys.ENTER)
    assert wait_for(lambda: "New Webhook integration" in browser.title, timeout=10)
    name = f"Typed with keys {uuid.uuid4().hex[:6]}"
    tab_to(lambda e: e.get_attribute("id") == "name").send_keys(name, Keys.TAB)
    assert active().get_attribute("id") == "description"
    active().send_keys("Keyboard only", Keys.TAB)
    assert active().get_attribute("id") == "observes"
    active().send_keys("order.paid", Keys.TAB)
    assert active().get_attribute("id") == "enabled"
    active().send_keys(Keys.TAB)
    assert active().get_attribute("id") == "url"
    active().send_keys("https://example.com/keyboard", Keys.TAB)
    assert active().get_attribute("id") == "secret_key"
    active().send_keys(Keys.TAB)
    # Past the secret's hint: the submit button, pressed with Enter.
    button = tab_to(lambda e: e.text == "Create integration")
    button.send_keys(Keys.ENTER)
    assert wait_for(lambda: "The integration was created." in browser.page_source, timeout=10)
    assert name in browser.title
