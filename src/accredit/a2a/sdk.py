"""Glue for the Python ``a2a-sdk`` (``pip install 'accredit[a2a]'``), so neither side writes
the extension's flow by hand.

Vendor (server)::

    executor = MandateExecutor(Negotiation(verifier, domain=..., counterparty=...), on_allowed)
    handler = DefaultRequestHandler(executor, InMemoryTaskStore(), card)
    app = RequireExtension(Starlette(routes=...))   # enforces `required`, echoes A2A-Extensions

Buyer (client)::

    client = await create_client(url, interceptors=[WalletInterceptor(wallet, domain=...)],
                                 signature_verifier=card_verifier(vendor_did))
    propose(step) ... AUTH_REQUIRED ... answer in the same task: the interceptor attaches the
    presentation (``negotiate`` does both sends).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from a2a.client import Client, ClientCallContext, ClientCallInterceptor
from a2a.client.interceptors import AfterArgs, BeforeArgs
from a2a.extensions.common import HTTP_EXTENSION_HEADER, get_requested_extensions
from a2a.helpers.proto_helpers import new_task_from_user_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import AgentCard, Message, Part, Role, SendMessageRequest, Task, TaskState
from google.protobuf.json_format import MessageToDict

from ..dids import Resolver
from ..errors import AccreditError
from ..wallet import Wallet
from . import EXTENSION_URI, Negotiation, Step, answer_request
from .cards import verify_card

__all__ = [
    "MandateExecutor",
    "RequireExtension",
    "WalletInterceptor",
    "card_verifier",
    "extension_data",
    "negotiate",
]

_JSONRPC_EXTENSION_REQUIRED = -32008  # A2A ExtensionSupportRequiredError
_MAX_RPC_BODY = 1_000_000

OnAllowed = Callable[[Step, Mapping[str, Any]], str]


def extension_data(message: Message | None) -> dict[str, Any]:
    """This extension's data in a message's metadata (empty when there is none)."""
    if message is None or not message.HasField("metadata"):
        return {}
    data = MessageToDict(message.metadata).get(EXTENSION_URI)
    return data if isinstance(data, dict) else {}


def _agent_message(task: Task, text: str, data: Mapping[str, Any]) -> Message:
    message = Message(
        role=Role.ROLE_AGENT, task_id=task.id, context_id=task.context_id, message_id=str(uuid.uuid4())
    )
    message.parts.append(Part(text=text))
    message.metadata.update({EXTENSION_URI: dict(data)})
    return message


def card_verifier(did: str, resolver: Resolver | None = None) -> Callable[[AgentCard], None]:
    """A ``signature_verifier`` for the SDK's ``create_client``/``A2ACardResolver``: the card
    must carry a valid EdDSA signature by ``did`` (``accredit.a2a.cards.verify_card``), else
    ``AgentCardUnsignedError``/``AgentCardSignatureError`` stops the client being made."""

    def verify(card: AgentCard) -> None:
        verify_card(MessageToDict(card), did=did, resolver=resolver)

    return verify


class MandateExecutor(AgentExecutor):
    """A vendor agent's executor running the extension: a proposed step gets
    ``AUTH_REQUIRED`` with a challenge for it, the answer the decision. ``on_allowed(step,
    decision)`` does the vendor's business for an allowed step and returns the completion text."""

    def __init__(self, negotiation: Negotiation, on_allowed: OnAllowed) -> None:
        self.negotiation, self.on_allowed = negotiation, on_allowed

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is None:
            if context.message is None:
                return
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        answer = extension_data(context.message)
        pending = extension_data(task.status.message)
        if task.status.state == TaskState.TASK_STATE_AUTH_REQUIRED and pending:
            await self._decide(task, updater, pending, answer)
            return
        try:
            data = self.negotiation.challenge(task.id, Step.from_json(answer.get("step")))
        except AccreditError as error:
            refusal = {"decision": {"decision": "deny", "codes": [error.code], "reasons": [error.to_dict()]}}
            await updater.reject(_agent_message(task, f"no step to authorize: {error.message}", refusal))
            return
        await updater.requires_auth(_agent_message(task, "present a mandate for this step", data))

    async def _decide(
        self, task: Task, updater: TaskUpdater, pending: dict[str, Any], answer: dict[str, Any]
    ) -> None:
        decision = self.negotiation.decide(task.id, pending, answer)
        outcome = decision["decision"]
        if outcome == "allow":
            text = self.on_allowed(Step.from_json(pending["step"]), decision)
            await updater.complete(_agent_message(task, text, {"decision": decision}))
        elif outcome == "escalate":
            # Waits for a human co-signature; the consumed challenge stays so a replay is refused.
            data = {**pending, "decision": decision}
            await updater.requires_auth(_agent_message(task, "escalated: awaiting a human", data))
        else:
            await updater.reject(_agent_message(task, "refused", {"decision": decision}))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        if context.current_task is not None:
            await TaskUpdater(event_queue, context.current_task.id, context.current_task.context_id).cancel()


class RequireExtension:
    """ASGI middleware for a vendor's A2A app: a JSON-RPC call (``POST rpc_path``) that does not
    activate ``uri`` in its ``A2A-Extensions`` header is refused with the A2A
    ``ExtensionSupportRequiredError`` (-32008); an activated call's response echoes the header
    (A2A v1.0 §4.6 — the SDK does neither). The card and other routes pass untouched."""

    def __init__(self, app: Any, *, uri: str = EXTENSION_URI, rpc_path: str = "/") -> None:
        self.app, self.uri, self.rpc_path = app, uri, rpc_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.rpc_path:
            await self.app(scope, receive, send)
            return
        values = [
            v.decode("latin-1")
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() == "a2a-extensions"
        ]
        if self.uri not in get_requested_extensions(values):
            await self._refuse(receive, send)
            return

        async def echo(event: dict[str, Any]) -> None:
            if event["type"] == "http.response.start":
                headers = [h for h in event.get("headers", []) if h[0].lower() != b"a2a-extensions"]
                event = {**event, "headers": [*headers, (b"a2a-extensions", self.uri.encode("latin-1"))]}
            await send(event)

        await self.app(scope, receive, echo)

    async def _refuse(self, receive: Any, send: Any) -> None:
        body, more = b"", True
        while more and len(body) <= _MAX_RPC_BODY:
            event = await receive()
            body += event.get("body", b"")
            more = event.get("more_body", False)
        try:
            request_id = json.loads(body).get("id")
        except (ValueError, AttributeError):
            request_id = None
        error = {
            "code": _JSONRPC_EXTENSION_REQUIRED,
            "message": f"this agent requires the extension {self.uri}",
        }
        payload = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class WalletInterceptor(ClientCallInterceptor):
    """A buyer agent's client interceptor backed by ``wallet``: activates the extension on every
    call, remembers each step it proposes, and when the vendor (``domain``) answers
    ``AUTH_REQUIRED`` for that step in a task, attaches a presentation bound to the challenge
    and the step to the next message the buyer sends in that task."""

    def __init__(self, wallet: Wallet, *, domain: str) -> None:
        self.wallet, self.domain = wallet, domain
        self._answers: dict[str, dict[str, Any]] = {}

    async def before(self, args: BeforeArgs) -> None:
        context = args.context if args.context is not None else ClientCallContext()
        parameters = dict(context.service_parameters or {})
        activated = get_requested_extensions([parameters.get(HTTP_EXTENSION_HEADER, "")]) | {EXTENSION_URI}
        parameters[HTTP_EXTENSION_HEADER] = ",".join(sorted(activated))
        context.service_parameters = parameters
        args.context = context
        if not isinstance(args.input, SendMessageRequest):
            return
        message = args.input.message
        data = extension_data(message)
        if "step" in data:
            context.state[EXTENSION_URI] = Step.from_json(data["step"])
        elif message.task_id in self._answers and not data:
            message.metadata.update({EXTENSION_URI: self._answers.pop(message.task_id)})

    async def after(self, args: AfterArgs) -> None:
        step = args.context.state.get(EXTENSION_URI) if args.context is not None else None
        task = getattr(args.result, "task", None)
        if (
            not isinstance(step, Step)
            or task is None
            or task.status.state != TaskState.TASK_STATE_AUTH_REQUIRED
        ):
            return
        data = extension_data(task.status.message)
        if "verifiablePresentationRequest" in data and "decision" not in data:
            # Raises StepMismatchError when the vendor asks for another step than the one proposed.
            self._answers[task.id] = answer_request(self.wallet, task.id, step, data, domain=self.domain)


async def negotiate(client: Client, step: Step, *, text: str = "") -> Task:
    """Propose ``step`` to a vendor agent and, when it asks, answer with the mandate (the
    client's ``WalletInterceptor`` attaches it); returns the task as it then stands."""
    proposal = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()))
    proposal.parts.append(Part(text=text or f"propose {step.action}"))
    proposal.metadata.update({EXTENSION_URI: {"step": step.to_json()}})
    task = await _send(client, proposal)
    if task.status.state != TaskState.TASK_STATE_AUTH_REQUIRED:
        return task
    reply = Message(
        role=Role.ROLE_USER, message_id=str(uuid.uuid4()), task_id=task.id, context_id=task.context_id
    )
    reply.parts.append(Part(text="my mandate for this step"))
    return await _send(client, reply)


async def _send(client: Client, message: Message) -> Task:
    async for response in client.send_message(SendMessageRequest(message=message)):
        if response.HasField("task"):
            return response.task
    raise AccreditError("the agent answered without a task")
