"""The console's records: credentials and their status, status lists, the audit log, API
tokens and the signing key. Each action calls the issuer function its API route calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context

from ...errors import ValidationError
from ..errors import ConflictError, NotFoundError, UnknownAgentError
from . import Console
from .words import check_in_words

AUDIT_PAGE = 50
SCOPE_CHOICES = ("issue", "status", "admin")
LIFETIMES = {"1 day": 1, "30 days": 30, "90 days": 90, "1 year": 365}


def add_routes(blueprint: Blueprint, console: Console) -> None:
    issuer = console.issuer

    def found(query: str) -> list[dict[str, Any]]:
        if not query:
            return []
        if query.startswith("did:"):
            try:
                return list(console.registry.agent(query)["credentials"])
            except UnknownAgentError:
                return []
        if not issuer.has_credential(query):
            return []
        document = issuer.credential(query)
        with issuer.store.read() as connection:
            issuer.ledger.catch_up(issuer.store, connection)
        revoked, suspended = issuer.ledger.credential_state(query)
        status = "revoked" if revoked else "suspended" if suspended else "active"
        return [{"id": query, "type": document.get("type", []), "status": status}]

    def credentials_page(notice: str | None = None, status: int = 200) -> tuple[str, int]:
        query = request.values.get("q", "").strip()[:256]
        with issuer.store.read() as connection:
            lists = issuer.store.status_list_fill(connection)
        page = render_template("credentials.html", q=query, results=found(query), lists=lists, notice=notice)
        return page, status

    @blueprint.get("/credentials")
    def credentials() -> tuple[str, int]:
        console.require("status")
        return credentials_page()

    @blueprint.post("/credentials/status")
    def set_status() -> tuple[str, int]:
        token = console.require("status")
        credential_id, status = request.form.get("id", "")[:128], request.form.get("status", "")
        if status not in ("revoked", "suspended", "active"):
            raise ValidationError("status is revoked, suspended or active", field="status")
        if status == "revoked" and request.form.get("confirm") != "yes":
            return credentials_page("Revocation is final: tick the confirmation box to revoke.", 422)
        try:
            issuer.set_status(credential_id, status, token)
        except (ConflictError, NotFoundError) as error:
            return credentials_page(error.message, error.status)
        words = {"revoked": "revoked (final)", "suspended": "suspended", "active": "active again"}
        return credentials_page(f"{credential_id} is {words[status]}.")

    # --- audit ----------------------------------------------------------------------------

    def token_names() -> dict[str, str]:
        with issuer.store.read() as connection:
            return {"system": "system", **{row["id"]: row["name"] for row in issuer.store.tokens(connection)}}

    @blueprint.get("/audit")
    def audit() -> str:
        console.require("admin")
        page = request.args.get("page", "0")
        number = int(page) if page.isascii() and page.isdigit() and len(page) < 9 else 0
        with issuer.store.read() as connection:
            head, _ = issuer.store.audit_head(connection)
        newest = head - number * AUDIT_PAGE
        after = max(0, newest - AUDIT_PAGE)
        entries = issuer.audit_entries(after, max(0, newest - after)) if newest > 0 else []
        names = token_names()
        for entry in entries:
            entry["actorName"] = names.get(entry["actor"], entry["actor"])
            entry["when"] = datetime.fromtimestamp(entry["at"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            entry["detailsText"] = json.dumps(entry["details"], sort_keys=True)
        return render_template(
            "audit.html",
            entries=list(reversed(entries)),
            page=number,
            older=after > 0,
            result=None,
        )

    @blueprint.post("/audit/verify")
    def verify_audit() -> str:
        console.require("admin")
        result = issuer.verify_audit()
        checks = [check_in_words(check) for check in result.checks]
        return render_template("audit.html", entries=[], page=0, older=False, result=result, checks=checks)

    @blueprint.get("/audit.jsonl")
    def export_audit() -> Response:
        console.require("admin")

        def lines() -> Iterator[str]:
            after = 0
            while True:
                entries = issuer.audit_entries(after, 500)
                for entry in entries:
                    yield json.dumps(entry, sort_keys=True) + "\n"
                if len(entries) < 500:
                    return
                after = entries[-1]["seq"]

        response = Response(stream_with_context(lines()), mimetype="application/jsonl")
        response.headers["Content-Disposition"] = 'attachment; filename="accredit-audit.jsonl"'
        return response

    # --- tokens and keys --------------------------------------------------------------------

    def tokens_page(
        created: dict[str, Any] | None = None, notice: str | None = None, status: int = 200
    ) -> tuple[str, int]:
        with issuer.store.read() as connection:
            rows = issuer.store.tokens(connection)
        now = int(datetime.now(UTC).timestamp())
        tokens = [
            {
                "id": row["id"],
                "name": row["name"],
                "scopes": row["scopes"],
                "expires": "never"
                if row["expires_at"] is None
                else datetime.fromtimestamp(row["expires_at"], UTC).strftime("%Y-%m-%d"),
                "active": row["revoked_at"] is None
                and (row["expires_at"] is None or row["expires_at"] > now),
            }
            for row in rows
        ]
        page = render_template(
            "tokens.html",
            tokens=tokens,
            created=created,
            notice=notice,
            scopes=SCOPE_CHOICES,
            lifetimes=LIFETIMES,
        )
        return page, status

    @blueprint.get("/tokens")
    def tokens() -> tuple[str, int]:
        console.require("admin")
        return tokens_page()

    @blueprint.post("/tokens")
    def create_token() -> tuple[str, int]:
        token = console.require("admin")
        name = request.form.get("name", "").strip()
        scopes = {scope for scope in request.form.getlist("scopes") if scope in SCOPE_CHOICES}
        days = LIFETIMES.get(request.form.get("lifetime", ""), 90)
        if not name or len(name) > 200 or not name.isprintable():
            return tokens_page(
                notice="Give the token a name (printable, at most 200 characters).", status=422
            )
        try:
            created = issuer.create_token(name, scopes, token, lifetime=timedelta(days=days))
        except ValidationError as error:
            return tokens_page(notice=error.message, status=422)
        return tokens_page(created=created)

    @blueprint.post("/tokens/revoke")
    def revoke_token() -> tuple[str, int]:
        token = console.require("admin")
        token_id = request.form.get("id", "")
        if not (token_id.isascii() and token_id.isalnum() and len(token_id) <= 32):
            raise NotFoundError("no such token")
        issuer.revoke_token(token_id, token)
        return tokens_page(
            notice="The token is revoked: it and every console session signed in with it stop working now."
        )

    @blueprint.post("/keys/rotate")
    def rotate_key() -> tuple[str, int]:
        token = console.require("admin")
        if request.form.get("confirm") != "yes":
            return tokens_page(notice="Tick the confirmation box to rotate the signing key.", status=422)
        key_id = issuer.rotate_key(token)
        return tokens_page(
            notice=f"New signing key {key_id}: new credentials are signed with it; "
            "credentials signed before stay valid."
        )
