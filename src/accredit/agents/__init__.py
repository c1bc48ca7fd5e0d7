"""The agent vocabulary: AgentCredential, MandateCredential and delegation, ActionReceipt,
EventAttestation — on the JSON-LD context ``https://accredit.dev/contexts/agents/v1``.

Builders (``agent_credential``, ``mandate_credential``, ``action_receipt``,
``event_attestation``) return unsigned credentials for ``issue_credential``. Readers
(``AgentIdentity``, ``Mandate``, ``Receipt``, ``Event``: ``.from_credential``) turn credentials
into frozen values and raise ``ValidationError`` naming the field. ``check_delegation`` and
``check_attenuation`` judge one delegation link; ``verify_receipt_chain`` audits an agent's
hash-chained receipts. The shapes are documented, with signed examples, in ``docs/agents.md``.

Why the readers are strict: an eddsa-rdfc-2022 signature covers the RDF graph, not the JSON,
and one graph has many JSON spellings. A holder could move ``transactionLimit`` into an
``@included`` node, or split the subject into two objects with one id: the proof would still
verify while a JSON reader saw no limit. So the readers refuse JSON-LD keywords other than
``@context``, a list of subjects, and every property they do not know — what they read is
then the only reading of the signed graph. References between credentials carry the digest
of the referenced JSON itself (RFC 8785), which pins its exact spelling.

The package's modules: ``values`` (``Money``, ``Reference``, ``Counterparties``), ``identity``
(AgentCredential), ``mandates`` (MandateCredential and delegation), ``receipts``
(ActionReceipt and receipt chains), ``events`` (EventAttestation); ``_vocabulary`` holds the
context, the digests and the strict readers they share. Import from ``accredit.agents``.
"""

from __future__ import annotations

from ._vocabulary import (
    ACTION_RECEIPT,
    AGENT_CREDENTIAL,
    AGENTS_CONTEXT,
    EVENT_ATTESTATION,
    MANDATE_CREDENTIAL,
    VOCAB,
    credential_digest,
    digest_multibase,
)
from .events import Event, Evidence, Location, event_attestation, file_evidence
from .identity import AgentIdentity, Build, Contact, Party, agent_credential
from .mandates import MAX_DELEGATION_DEPTH as MAX_DELEGATION_DEPTH
from .mandates import Mandate, check_attenuation, check_delegation, mandate_credential
from .receipts import Receipt, action_receipt, receipt_digest, verify_receipt_chain
from .values import Counterparties, Money, Reference

__all__ = [
    "ACTION_RECEIPT",
    "AGENTS_CONTEXT",
    "AGENT_CREDENTIAL",
    "EVENT_ATTESTATION",
    "MANDATE_CREDENTIAL",
    "VOCAB",
    "AgentIdentity",
    "Build",
    "Contact",
    "Counterparties",
    "Event",
    "Evidence",
    "Location",
    "Mandate",
    "Money",
    "Party",
    "Receipt",
    "Reference",
    "action_receipt",
    "agent_credential",
    "check_attenuation",
    "check_delegation",
    "credential_digest",
    "digest_multibase",
    "event_attestation",
    "file_evidence",
    "mandate_credential",
    "receipt_digest",
    "verify_receipt_chain",
]
