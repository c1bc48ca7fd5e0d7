"""Logistics: an inspection device attests an inspection in Pune; the insurer verifies it.

Deccan Inspection Services accredits its inspection device with an AgentCredential. On
2026-03-03 the device inspects shipment SH-2026-0042 at Acme's Pune warehouse and signs an
EventAttestation with the digests of its photos. Acme's logistics agent presents the
attestation and the device's credential to an insurer, who checks both, the photos it was sent,
and that the device is accredited by an inspection firm it trusts. An attestation by a device
nobody accredited is refused.

Run: ``python examples/logistics.py``. Exits 1 if any outcome is not the expected one.
"""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from accredit import KeyPair, VerifyOptions, issue_credential, sign_presentation
from accredit.agents import Event, agent_credential, digest_multibase, event_attestation, file_evidence
from accredit.policy import verify_attestations
from accredit.status import (
    StaticStatusListFetcher,
    StatusListChecker,
    new_list,
    status_entry,
    status_list_credential,
)
from accredit.trust import TrustedIssuer, TrustRegistry

IST = timezone(timedelta(hours=5, minutes=30))
INSPECTED_AT = datetime(2026, 3, 3, 10, 30, tzinfo=IST)
NOW = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
PHOTOS = {
    "dock-3-pallets.jpg": b"\xff\xd8 photo of 24 pallets \xff\xd9",
    "seal-4471.jpg": b"\xff\xd8 seal 4471 \xff\xd9",
}
LIST_URL = "https://deccan-inspections.example/status/suspension"


def suspension_list(key: KeyPair) -> StaticStatusListFetcher:
    """The inspection firm's (all clear) suspension list, served from memory."""
    unsigned = status_list_credential(
        LIST_URL,
        key.did,
        "suspension",
        new_list(),
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(hours=1),
    )
    return StaticStatusListFetcher({LIST_URL: issue_credential(unsigned, key, created=NOW)})


def attest(device: KeyPair) -> dict[str, Any]:
    unsigned = event_attestation(
        device=device.did,
        event_type="shipment.inspected",
        occurred_at=INSPECTED_AT,
        location={"name": "Acme Pune warehouse, dock 3", "address": "Chakan MIDC, Pune 410501, India"},
        object_ref="urn:acme:shipment:SH-2026-0042",
        outcome="24 pallets counted, seal 4471 intact, no visible damage",
        evidence=[file_evidence(name, "image/jpeg", data) for name, data in PHOTOS.items()],
    )
    return issue_credential(unsigned, device, created=NOW)


def main() -> int:
    firm, device, logistics_agent, rogue = (KeyPair.generate() for _ in range(4))
    device_credential = issue_credential(
        agent_credential(
            agent=device.did,
            organization={"id": firm.did, "name": "Deccan Inspection Services"},
            built_by={"name": "Example Sensors Pvt Ltd"},
            build={
                "name": "InspectCam",
                "version": "firmware 5.2.0",
                "digestMultibase": digest_multibase(b"fw-5.2.0"),
            },
            liability_contact={"role": "Chief Inspector", "email": "inspections@deccan-inspections.example"},
            escalation_contact={"url": "tel:+912000000000"},
            kill_switch=status_entry(LIST_URL, 12, "suspension"),
            valid_from=NOW - timedelta(days=200),
            valid_until=NOW + timedelta(days=165),
        ),
        firm,
        created=NOW,
    )
    attestation = attest(device)
    print("the device attested: shipment.inspected at Acme Pune warehouse, dock 3 on 2026-03-03")

    # The insurer: trusts Deccan Inspection Services to accredit inspection devices.
    trust = TrustRegistry(
        [TrustedIssuer(firm.did, "Deccan Inspection Services", frozenset({"AgentCredential"}))]
    )
    status = StatusListChecker(suspension_list(firm), VerifyOptions(now=NOW))
    options = VerifyOptions(now=NOW, status_checker=status)
    challenge, domain = secrets.token_urlsafe(16), "insurer.example"
    presentation = sign_presentation(
        [attestation, device_credential], logistics_agent, challenge=challenge, domain=domain, created=NOW
    )
    result = verify_attestations(
        presentation, trust=trust, options=options, challenge=challenge, domain=domain
    )
    print(f"insurer verified the attestation: {result.verified}")

    event = Event.from_credential(attestation)
    photos_match = sorted(e["digestMultibase"] for e in event.evidence) == sorted(
        map(digest_multibase, PHOTOS.values())
    )
    local = event.occurred_at.astimezone(IST)
    place = event.location["name"]
    print(f"event: {event.event_type} of {event.object} at {place} on {local:%Y-%m-%d %H:%M} IST")
    print(f"photos received match the attested digests: {photos_match}")

    forged = sign_presentation(
        [attest(rogue)], logistics_agent, challenge=challenge, domain=domain, created=NOW
    )
    refused = verify_attestations(forged, trust=trust, options=options, challenge=challenge, domain=domain)
    print(f"attestation by an unaccredited device: verified={refused.verified} ({', '.join(refused.codes)})")

    if not (
        result.verified
        and photos_match
        and not refused.verified
        and "ATTESTER_NOT_ACCREDITED" in refused.codes
    ):
        print("UNEXPECTED outcome")
        return 1
    print("All outcomes as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
