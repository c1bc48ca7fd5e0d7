"""The console's agent pages: the list, an agent's page, registration, mandates, offers and
the kill switch. Each form calls the registry or issuer function its API route calls.

An agent is named by ``?did=`` (query or form field), never in the path, so a DID needs no
percent-encoding rules of its own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import segno
from flask import Blueprint, Response, redirect, render_template, request, url_for

from ...agents import MANDATE_CREDENTIAL, Mandate
from ...errors import ValidationError
from ..issuable import is_subject_id
from ..oid4vci import make_offer
from . import Console
from .words import mandate_in_words, mandate_summary

REGISTER_FIELDS = (
    "did",
    "name",
    "builtBy",
    "buildName",
    "buildVersion",
    "liabilityName",
    "liabilityEmail",
    "escalationName",
    "escalationEmail",
    "validUntil",
)
MANDATE_FIELDS = (
    "actions",
    "purpose",
    "currency",
    "transactionLimit",
    "totalLimit",
    "escalationThreshold",
    "counterparties",
    "delegationDepth",
    "validUntil",
)
# The API's field (first segment of a ValidationError's field path) → the form's field.
_API_TO_FORM = {
    "build": "buildName",
    "liabilityContact": "liabilityName",
    "escalationContact": "escalationName",
    "governance": "escalationName",
    "validFrom": "validUntil",
    "expirationDate": "validUntil",
}


def form_field(error: ValidationError, fields: tuple[str, ...]) -> str | None:
    """The form field a ``ValidationError`` is about, or None (then it is shown at the top)."""
    path = str(error.details.get("field", "")).replace("credentialSubject.", "")
    head = path.split(".")[0].split("[")[0]
    name = _API_TO_FORM.get(head, head)
    return name if name in fields else None


def _contact(name: str, email: str) -> dict[str, str]:
    return {key: value for key, value in (("name", name), ("email", email)) if value}


def registration_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The POST /agents body a registration form stands for."""
    build = {
        key: form[f"build{key.title()}"] for key in ("name", "version") if form.get(f"build{key.title()}")
    }
    body: dict[str, Any] = {
        "did": form.get("did", ""),
        "builtBy": {"name": form.get("builtBy", "")},
        "build": build,
        "liabilityContact": _contact(form.get("liabilityName", ""), form.get("liabilityEmail", "")),
        "escalationContact": _contact(form.get("escalationName", ""), form.get("escalationEmail", "")),
    }
    if form.get("name"):
        body["name"] = form["name"]
    if form.get("validUntil"):
        body["validUntil"] = form["validUntil"]
    return body


def mandate_body(form: Mapping[str, str]) -> dict[str, Any]:
    """The POST /agents/{did}/mandates body a mandate form stands for. Raises
    ``ValidationError`` for a delegation depth that is not a whole number."""
    body: dict[str, Any] = {
        "actions": form.get("actions", "").replace(",", " ").split(),
        "purpose": form.get("purpose", ""),
    }
    currency = form.get("currency", "").strip()
    for name in ("transactionLimit", "totalLimit", "escalationThreshold"):
        if form.get(name, "").strip():
            body[name] = {"amount": form[name].strip(), "currency": currency}
    counterparties = form.get("counterparties", "").split()
    if counterparties:
        body["counterparties"] = [
            {"id": entry} if entry.startswith("did:") else {"domain": entry} for entry in counterparties
        ]
    depth = form.get("delegationDepth", "").strip()
    if depth:
        if not (depth.isascii() and depth.isdigit() and len(depth) < 3):
            raise ValidationError(
                "the delegation depth is a whole number such as 0 or 1", field="delegationDepth"
            )
        body["delegationDepth"] = int(depth)
    if form.get("validUntil", "").strip():
        body["validUntil"] = form["validUntil"].strip()
    return body


def qr_data_uri(text: str) -> str:
    return str(segno.make(text, error="m").svg_data_uri(scale=4, dark="#000", light="#fff"))


def _agent_did() -> str:
    did = request.values.get("did", "")
    if not is_subject_id(did):
        raise ValidationError("an agent is named by its DID", field="did")
    return did


def add_routes(blueprint: Blueprint, console: Console) -> None:
    issuer, registry = console.issuer, console.registry

    def agent_view(did: str, **extra: Any) -> str:
        agent = registry.agent(did)
        credentials = []
        for summary in agent["credentials"]:
            document = issuer.credential(summary["id"])
            mandate = None
            if MANDATE_CREDENTIAL in summary["type"]:
                try:
                    mandate = mandate_in_words(Mandate.from_credential(document))
                except ValidationError as error:
                    mandate = [f"This mandate cannot be read: {error.message}"]
            credentials.append({**summary, "validUntil": document.get("validUntil", "—"), "mandate": mandate})
        return render_template("agent.html", agent=agent, credentials=credentials, **extra)

    @blueprint.get("/agents")
    def agents() -> str:
        console.require("issue")
        query, state = request.args.get("q", "").strip().lower(), request.args.get("state", "")
        rows = []
        for summary in registry.agents():
            if (
                query
                and query not in summary["agent"].lower()
                and query not in (summary["name"] or "").lower()
            ):
                continue
            if state in ("active", "suspended") and summary["state"] != state:
                continue
            rows.append({**summary, **_credential_summary(console, summary["agent"])})
        return render_template("agents.html", agents=rows, q=request.args.get("q", ""), state=state)

    @blueprint.get("/agent")
    def agent() -> str:
        console.require("issue")
        return agent_view(_agent_did())

    @blueprint.route("/agents/register", methods=["GET", "POST"])
    def register_agent() -> Any:
        token = console.require("issue")
        form = {name: request.form.get(name, "").strip() for name in REGISTER_FIELDS}
        if request.method == "GET":
            return render_template("register.html", form=form, errors={}, error=None)
        try:
            registry.register(registration_body(form), token)
        except ValidationError as error:
            field = form_field(error, REGISTER_FIELDS)
            errors = {field: error.message} if field else {}
            return render_template(
                "register.html", form=form, errors=errors, error=None if field else error.message
            ), 422
        return redirect(url_for("console.agent", did=form["did"], done="registered"))

    @blueprint.route("/agent/mandate", methods=["GET", "POST"])
    def issue_mandate() -> Any:
        token = console.require("issue")
        did = _agent_did()
        form = {name: request.form.get(name, "").strip() for name in MANDATE_FIELDS}
        form.setdefault("currency", "USD")
        if request.method == "GET":
            form["currency"] = "USD"
            return render_template("mandate.html", did=did, form=form, errors={}, error=None)
        try:
            registry.issue_mandate(did, mandate_body(form), token)
        except ValidationError as error:
            field = form_field(error, MANDATE_FIELDS)
            if field is None and str(error.details.get("field", "")).endswith("currency"):
                field = "currency"
            errors = {field: error.message} if field else {}
            page = render_template(
                "mandate.html", did=did, form=form, errors=errors, error=None if field else error.message
            )
            return page, 422
        return redirect(url_for("console.agent", did=did, done="mandate"))

    @blueprint.post("/agent/offer")
    def offer() -> str:
        token = console.require("admin")
        did = _agent_did()
        answer = make_offer(
            issuer,
            registry,
            did,
            ["AgentCredential", "MandateCredential"],
            request.form.get("txCode") == "on",
            token,
        )
        return agent_view(did, offer=answer, qr=qr_data_uri(answer["uri"]))

    @blueprint.post("/agent/suspend")
    def kill_switch() -> Any:
        token = console.require("status")
        did = _agent_did()
        if request.form.get("confirm") != "yes":
            return agent_view(did, notice="Tick the confirmation box to pull the kill switch."), 422
        suspended = issuer.suspend_agent(did, token)
        return agent_view(
            did,
            notice=f"Kill switch pulled: the agent is suspended and {len(suspended)} credential(s) "
            "were suspended. Verifiers refuse them from now on.",
        )

    @blueprint.post("/agent/reinstate")
    def reinstate() -> str:
        token = console.require("admin")
        did = _agent_did()
        lifted = issuer.reinstate_agent(did, token)
        return agent_view(
            did, notice=f"Reinstated: the agent may act again; {len(lifted)} credential(s) are active again."
        )

    @blueprint.get("/credential.json")
    def credential_json() -> Response:
        console.require("issue")
        document = issuer.credential(request.args.get("id", "")[:128])
        return Response(json.dumps(document, indent=2), mimetype="application/json")


def _credential_summary(console: Console, did: str) -> dict[str, Any]:
    """The agent's current mandate in a line and when its AgentCredential expires."""
    agent_credential = console.registry.current(did, "AgentCredential")
    mandate = console.registry.current(did, MANDATE_CREDENTIAL)
    return {
        "expires": (agent_credential or {}).get("validUntil", "—"),
        "mandate": mandate_summary(mandate) if mandate else "no live mandate",
    }
