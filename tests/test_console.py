"""The web console and the verdict page, end to end in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright for Python) against a real service on 127.0.0.1.

One browser for the module; each test saves a screenshot of every page it visits (under
``$ACCREDIT_SCREENSHOT_DIR`` when set, else a temporary folder)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from service_harness import RunningService

from accredit import KeyPair, sign_presentation

sync_api = pytest.importorskip("playwright.sync_api", reason="the console tests need playwright (test extra)")
CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "the console tests need Debian's chromium (apt-get install chromium)", allow_module_level=True
    )

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = RunningService(tmp_path_factory.mktemp("console"), None)
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("ACCREDIT_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(browser: Any, service: RunningService, token: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(15_000)
    page.goto(service.base + "/console/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    return page


def agent_record(service: RunningService, did: str) -> Any:
    answer = requests.get(
        f"{service.base}/agents/{did}", headers={"Authorization": f"Bearer {service.admin_token}"}, timeout=10
    )
    return answer.json()


def register_agent(page: Any, service: RunningService, name: str) -> str:
    did = KeyPair.generate().did
    page.goto(service.base + "/console/agents/register")
    page.fill("#did", did)
    page.fill("#name", name)
    page.fill("#builtBy", "Acme Labs")
    page.fill("#buildName", "procurement-bot")
    page.fill("#liabilityName", "Head of Procurement")
    page.fill("#escalationName", "CFO office")
    page.get_by_role("button", name="Register").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("Registered")
    return did


def test_an_administrator_registers_an_agent_issues_a_mandate_and_pulls_the_kill_switch(
    browser: Any, service: RunningService, shots: Path
) -> None:
    page = signed_in(browser, service, service.admin_token)
    sync_api.expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    did = register_agent(page, service, "Procurement agent")

    # A bad limit is refused next to its field, with what was expected; nothing is issued.
    page.get_by_role("link", name="Issue a mandate").click()
    page.fill("#actions", "procurement.negotiate contract.sign")
    page.fill("#purpose", "Buy office supplies from approved suppliers")
    page.fill("#transactionLimit", "-250000")
    page.fill("#escalationThreshold", "200000.00")
    page.fill("#counterparties", "suppliers.example")
    page.get_by_role("button", name="Issue the mandate").click()
    limit = page.locator("#transactionLimit")
    sync_api.expect(limit).to_have_attribute("aria-invalid", "true")
    sync_api.expect(page.locator("#transactionLimit-error")).to_contain_text("decimal string")
    page.screenshot(path=str(shots / "mandate-field-error.png"), full_page=True)
    assert len(agent_record(service, did)["credentials"]) == 1  # the AgentCredential alone
    limit.fill("250000.00")
    page.get_by_role("button", name="Issue the mandate").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("Mandate issued")
    sync_api.expect(page.locator(".mandate").first).to_contain_text("At most 250,000.00 USD per transaction.")

    page.get_by_role("button", name="Create a credential offer").click()
    qr = page.get_by_alt_text("QR code of the credential offer URI")
    sync_api.expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 100")  # it rendered
    assert page.locator("#offer-uri").input_value().startswith("openid-credential-offer://?credential_offer=")
    page.screenshot(path=str(shots / "agent-offer.png"), full_page=True)

    page.goto(service.base + "/console/agents")
    row = page.get_by_role("row", name=re.compile("Procurement agent"))
    sync_api.expect(row).to_contain_text("procurement.negotiate")
    sync_api.expect(row).to_contain_text("active")
    page.screenshot(path=str(shots / "agents.png"), full_page=True)

    # The kill switch needs its confirmation, then suspends everything at once.
    row.get_by_role("link", name="Procurement agent").click()
    page.get_by_role("button", name="Pull the kill switch").click()  # the checkbox is required
    assert "suspend" not in page.url and page.locator(".state.suspended").count() == 0
    page.get_by_label("I want to stop this agent now").check()
    page.get_by_role("button", name="Pull the kill switch").click()
    sync_api.expect(page.locator("#notice")).to_contain_text("2 credential(s) were suspended")
    sync_api.expect(page.get_by_role("heading", name="Stopped by the kill switch")).to_be_visible()
    page.screenshot(path=str(shots / "agent-after-kill-switch.png"), full_page=True)
    assert agent_record(service, did)["state"] == "suspended"

    # The agent's credential, pasted into the public verdict page, is refused.
    credential_id = page.locator(".credential code").first.inner_text()
    credential = service.issuer.credential(credential_id)
    verdict = browser.new_context().new_page()  # nobody signed in
    verdict.goto(service.base + "/console/verdict")
    verdict.get_by_label("Credential or presentation (JSON)").fill(json.dumps(credential))
    verdict.get_by_role("button", name="Check").click()
    sync_api.expect(verdict.get_by_role("status")).to_contain_text("NOT verified")
    sync_api.expect(verdict.get_by_role("status")).to_contain_text("SUSPENDED")
    sync_api.expect(verdict.locator(".facts")).to_contain_text(did)
    verdict.screenshot(path=str(shots / "verdict.png"), full_page=True)

    # Revoke it (final, confirmed), then verify the audit chain and read who did what.
    page.goto(service.base + "/console/credentials?q=" + requests.utils.quote(credential_id))
    page.get_by_label("revocation is final").check()
    page.get_by_role("button", name="Revoke").click()
    sync_api.expect(page.locator("#notice")).to_contain_text("revoked (final)")
    sync_api.expect(page.locator(".state.revoked")).to_be_visible()
    sync_api.expect(page.locator("meter").first).to_be_visible()
    page.screenshot(path=str(shots / "credentials.png"), full_page=True)

    page.get_by_role("link", name="Audit log").click()
    suspend_row = page.get_by_role("row", name=re.compile("agent.suspend"))
    sync_api.expect(suspend_row).to_contain_text("admin")  # the signed-in token's name
    page.screenshot(path=str(shots / "audit.png"), full_page=True)
    page.get_by_role("button", name="Verify the chain").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("The audit chain is intact")
    page.screenshot(path=str(shots / "audit-verified.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as JSON Lines").click()
    lines = Path(download.value.path()).read_text().splitlines()
    actions = [json.loads(line)["action"] for line in lines]
    assert {"agent.register", "agent.offer", "agent.suspend", "credential.status"} <= set(actions)
    page.context.close()
    verdict.context.close()


def test_a_form_post_without_the_csrf_token_is_refused(browser: Any, service: RunningService) -> None:
    page = signed_in(browser, service, service.admin_token)
    did = register_agent(page, service, "CSRF target")
    # The session cookie goes along (same origin), the form's token does not.
    answer = page.request.post(
        service.base + "/console/agent/suspend", form={"did": did, "confirm": "yes"}, max_redirects=0
    )
    assert answer.status == 403, "CSRF: a form post without the form's token must be refused"
    assert "did not come from this console" in answer.text()
    with_wrong_token = page.request.post(
        service.base + "/console/agent/suspend", form={"did": did, "confirm": "yes", "csrf": "x" * 43}
    )
    assert with_wrong_token.status == 403, "CSRF: a form post with another token must be refused"
    page.reload()
    sync_api.expect(page.locator("h1 .state")).to_have_text("active")
    page.context.close()


def test_a_token_without_admin_scope_sees_no_admin_page(
    browser: Any, service: RunningService, shots: Path
) -> None:
    admin = signed_in(browser, service, service.admin_token)
    admin.get_by_role("link", name="Tokens & keys").click()
    admin.get_by_label("Name").fill("registrar")
    admin.get_by_label("issue").check()
    admin.get_by_role("button", name="Create", exact=True).click()
    token = admin.locator("#new-token").input_value()
    admin.screenshot(path=str(shots / "tokens.png"), full_page=True)
    admin.context.close()

    page = signed_in(browser, service, token)
    sync_api.expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Console")
    sync_api.expect(navigation.get_by_role("link", name="Audit log")).to_have_count(0)
    sync_api.expect(navigation.get_by_role("link", name="Tokens & keys")).to_have_count(0)
    for path in ("/console/audit", "/console/tokens", "/console/audit.jsonl", "/console/credentials"):
        answer = page.goto(service.base + path)
        assert answer is not None and answer.status == 403, path
        sync_api.expect(page.get_by_role("alert")).to_contain_text("scope")
    page.screenshot(path=str(shots / "forbidden.png"), full_page=True)
    page.context.close()


def test_pages_are_locked_down_and_the_landing_page_answers_browsers(
    browser: Any, service: RunningService, shots: Path
) -> None:
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
    landing = page.goto(service.base + "/")
    assert landing is not None and landing.headers["content-type"].startswith("text/html")
    sync_api.expect(page.get_by_role("link", name="Check a credential or presentation")).to_be_visible()
    page.screenshot(path=str(shots / "landing-narrow.png"), full_page=True)
    assert requests.get(service.base + "/", timeout=10).json()["did"] == service.issuer.did

    answer = page.goto(service.base + "/console/sign-in")
    assert answer is not None
    headers = answer.headers
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.screenshot(path=str(shots / "sign-in-refused.png"), full_page=True)

    page.get_by_label("API token").fill(service.admin_token)
    page.keyboard.press("Enter")  # the form works from the keyboard
    sync_api.expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "accredit_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert service.admin_token not in cookie["value"]
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.goto(service.base + "/console/agents")
    sync_api.expect(page.get_by_label("API token")).to_be_visible()
    page.context.close()


def test_an_idle_session_or_a_revoked_token_ends_the_session(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = service.app.test_client()
    created = service.issuer.create_token("short-lived", {"issue"}, _admin(service))
    client.get("/console/sign-in")
    with client.session_transaction("/console/") as session:
        csrf = session["csrf"]
    assert client.post("/console/sign-in", data={"csrf": csrf, "token": created["token"]}).status_code == 302
    assert client.get("/console/agents").status_code == 200
    later = time.time() + 16 * 60
    monkeypatch.setattr("accredit.service.console.time.time", lambda: later)
    idle = client.get("/console/agents")
    assert idle.status_code == 302, "IDLE_TIMEOUT: a session idle for 16 minutes must end"
    assert idle.headers["Location"].startswith("/console/sign-in")
    monkeypatch.undo()

    client.get("/console/sign-in")
    with client.session_transaction("/console/") as session:
        csrf = session["csrf"]
    client.post("/console/sign-in", data={"csrf": csrf, "token": created["token"]})
    assert client.get("/console/agents").status_code == 200
    service.issuer.revoke_token(created["id"], _admin(service))
    assert client.get("/console/agents").status_code == 302, "UNAUTHORIZED: a revoked token's session ends"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console/", "/\\evil.example"])
def test_sign_in_redirects_only_within_the_console(service: RunningService, target: str) -> None:
    client = service.app.test_client()
    page = client.get("/console/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/console/sign-in", data={"csrf": csrf, "token": service.admin_token, "next": target}
    )
    assert answer.headers["Location"] == "/console/", "OPEN_REDIRECT: sign-in must not send the browser away"


def _admin(service: RunningService) -> Any:
    return service.issuer.authenticate(f"Bearer {service.admin_token}")


@pytest.mark.parametrize(
    ("amount", "decision"),
    [("180000.00", "Allowed"), ("220000.00", "Needs a person"), ("300000.00", "Denied")],
)
def test_the_verdict_page_authorizes_an_agent_presentation_under_its_mandate(
    service: RunningService, amount: str, decision: str
) -> None:
    agent = KeyPair.generate()
    admin = {"Authorization": f"Bearer {service.admin_token}"}
    registered = requests.post(
        f"{service.base}/agents",
        json={
            "did": agent.did,
            "builtBy": {"name": "Acme Labs"},
            "build": {"name": "buyer"},
            "liabilityContact": {"name": "Ops"},
            "escalationContact": {"name": "CFO"},
        },
        headers=admin,
        timeout=10,
    ).json()
    mandate = requests.post(
        f"{service.base}/agents/{agent.did}/mandates",
        json={
            "actions": ["contract.sign"],
            "purpose": "sign supply contracts",
            "transactionLimit": {"amount": "250000.00", "currency": "USD"},
            "escalationThreshold": {"amount": "200000.00", "currency": "USD"},
            "counterparties": [{"domain": "suppliers.example"}],
        },
        headers=admin,
        timeout=10,
    ).json()["mandate"]
    presentation = sign_presentation(
        [registered["agentCredential"], mandate], agent, challenge="c-123", domain="vendor.example"
    )
    client = service.app.test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/verdict").text).group(1)  # type: ignore[union-attr]
    form = {
        "csrf": csrf,
        "document": json.dumps(presentation),
        "challenge": "c-123",
        "domain": "vendor.example",
        "action": "contract.sign",
        "amount": amount,
        "currency": "USD",
        "counterparty": "did:web:acme.suppliers.example",
    }
    page = client.post("/console/verdict", data=form).text
    assert "This presentation is verified" in page
    assert re.search(rf'id="decision">{decision}', page)
    assert "At most 250,000.00 USD per transaction." in page  # the mandate in plain words
    wrong_domain = client.post("/console/verdict", data={**form, "domain": "attacker.example"}).text
    assert "This presentation is NOT verified" in wrong_domain
    assert 'id="decision">Denied' in wrong_domain


def test_the_session_cookie_is_secure_under_https(service: RunningService) -> None:
    client = service.app.test_client()
    page = client.get("/console/sign-in", base_url="https://127.0.0.1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/console/sign-in", data={"csrf": csrf, "token": service.admin_token}, base_url="https://127.0.0.1"
    )
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    plain = service.app.test_client().get("/console/sign-in").headers["Set-Cookie"]
    assert "Secure" not in plain  # http on 127.0.0.1 (tests, development) keeps working


def test_the_kill_switch_needs_its_confirmation_and_reinstate_lifts_it(service: RunningService) -> None:
    client = service.app.test_client()
    page = client.get("/console/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/console/sign-in", data={"csrf": csrf, "token": service.admin_token})
    with client.session_transaction("/console/") as session:
        csrf = session["csrf"]  # a new one with the sign-in
    did = KeyPair.generate().did
    form = {"csrf": csrf, "did": did, "builtBy": "Acme", "buildName": "bot", "liabilityName": "Ops"}
    assert client.post("/console/agents/register", data={**form, "escalationName": "CFO"}).status_code == 302

    unconfirmed = client.post("/console/agent/suspend", data={"csrf": csrf, "did": did})
    assert unconfirmed.status_code == 422 and agent_record(service, did)["state"] == "active"
    client.post("/console/agent/suspend", data={"csrf": csrf, "did": did, "confirm": "yes"})
    assert agent_record(service, did)["state"] == "suspended"
    lifted = client.post("/console/agent/reinstate", data={"csrf": csrf, "did": did})
    assert "1 credential(s) are active again" in lifted.text
    assert agent_record(service, did)["state"] == "active"
    entries = service.issuer.audit_entries(0, 1000)
    admin_id = _admin(service).id
    assert [e["action"] for e in entries if e["details"].get("agent") == did][-2:] == [
        "agent.suspend",
        "agent.reinstate",
    ]
    assert {e["actor"] for e in entries if e["details"].get("agent") == did} == {admin_id}
