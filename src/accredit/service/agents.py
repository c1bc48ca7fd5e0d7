"""Agents as service objects: registration, mandates, re-issue, and the kill switch as agent
state (the credentials themselves are built in ``registry``).

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

from flask import Flask, Response, jsonify, request

from .http import Guard, json_body
from .issuable import InvalidSubjectIdError, is_subject_id
from .issuer import Issuer
from .registry import AgentRegistry


def _agent_did(value: Any) -> str:
    if not is_subject_id(value):
        raise InvalidSubjectIdError("an agent is named by its DID (or URL)", field="agent")
    return str(value)


def register(app: Flask, issuer: Issuer, guard: Guard, registry: AgentRegistry) -> None:
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

    @app.post("/agents")
    def register_agent() -> tuple[Response, int]:
        token = guard.require("issue")
        return jsonify(registry.register(json_body(), token)), 201

    @app.get("/agents")
    def list_agents() -> Response:
        guard.require("issue")
        return jsonify({"agents": registry.agents()})

    @app.get("/agents/<path:agent_did>")
    def show_agent(agent_did: str) -> Response:
        guard.require("issue")
        return jsonify(registry.agent(_agent_did(agent_did)))

    @app.post("/agents/<path:agent_did>/mandates")
    def issue_mandate(agent_did: str) -> tuple[Response, int]:
        token = guard.require("issue")
        mandate = registry.issue_mandate(_agent_did(agent_did), json_body(), token)
        return jsonify({"agent": agent_did, "mandate": mandate}), 201

    @app.post("/agents/<path:agent_did>/reissue")
    def reissue(agent_did: str) -> tuple[Response, int]:
        token = guard.require("issue")
        body = json_body() if request.content_length else {}
        return jsonify(registry.reissue(_agent_did(agent_did), body, token)), 201


__all__ = ["register"]
