"""Agents as service objects: the kill switch as agent state.

``POST /agents/{did}/suspend`` suspends an agent: every live credential of it is suspended and
it is issued nothing (``AGENT_SUSPENDED``, 409) until ``POST /agents/{did}/reinstate``. An
unknown DID is ``AGENT_NOT_FOUND`` (404), never a silent empty answer.

A DID in a path is percent-encoded as one path segment (RFC 3986), ``%`` included:
``did:web:agent.example%3A8443:bots:b1`` is sent as
``/agents/did:web:agent.example%253A8443:bots:b1/suspend``; sent as-is, the router decodes
``%3A`` and the request names another DID (which is then not found). To avoid encoding, post
the DID in a body instead: ``POST /agents/suspend`` with ``{"agent": "<did>"}``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify

from .http import Guard, json_body
from .issuable import InvalidSubjectIdError, is_subject_id
from .issuer import Issuer


def _agent_did(value: Any) -> str:
    if not is_subject_id(value):
        raise InvalidSubjectIdError("an agent is named by its DID (or URL)", field="agent")
    return str(value)


def register(app: Flask, issuer: Issuer, guard: Guard) -> None:
    def suspend(agent_did: str | None = None) -> Response:
        token = guard.require("status")
        did = _agent_did(json_body().get("agent") if agent_did is None else agent_did)
        return jsonify({"agent": did, "state": "suspended", "suspended": issuer.suspend_agent(did, token)})

    def reinstate(agent_did: str | None = None) -> Response:
        token = guard.require("admin")
        did = _agent_did(json_body().get("agent") if agent_did is None else agent_did)
        return jsonify({"agent": did, "state": "active", "reinstated": issuer.reinstate_agent(did, token)})

    app.add_url_rule("/agents/<path:agent_did>/suspend", "suspend_agent", suspend, methods=["POST"])
    app.add_url_rule("/agents/<path:agent_did>/reinstate", "reinstate_agent", reinstate, methods=["POST"])
    app.add_url_rule("/agents/suspend", "suspend_agent_by_body", suspend, methods=["POST"])
    app.add_url_rule("/agents/reinstate", "reinstate_agent_by_body", reinstate, methods=["POST"])


__all__ = ["register"]
