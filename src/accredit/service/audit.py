"""The audit log: append-only, hash-chained, every entry signed by the issuer key.

Each entry's digest is sha256 over the RFC 8785 canonical form of (seq, at, actor, action,
details, previousDigest), and the issuer's signing key signs that digest. Removing, reordering
or altering any entry breaks the chain or a signature; ``verify_entries`` finds where. (Cutting
entries off the end is caught only against the recorded head or a copy of it kept elsewhere.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._jcs import canonicalize
from ..errors import InvalidKeyError
from ..keys import KeyPair, PublicKey, multibase_decode, multibase_encode
from ..results import Check, VerificationResult

GENESIS = "sha256:" + "0" * 64


def entry_digest(
    seq: int, at: int, actor: str, action: str, details: Mapping[str, Any], previous: str
) -> str:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "details": details,
        "previousDigest": previous,
    }
    return "sha256:" + hashlib.sha256(canonicalize(body)).hexdigest()


def new_entry(
    seq: int, at: int, actor: str, action: str, details: Mapping[str, Any], previous: str, key: KeyPair
) -> dict[str, Any]:
    digest = entry_digest(seq, at, actor, action, details, previous)
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "details": json.dumps(details, sort_keys=True, separators=(",", ":")),
        "previous_digest": previous,
        "digest": digest,
        "key_id": key.id,
        "signature": multibase_encode(key.sign(digest.encode("ascii"))),
    }


def entry_to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "at": row["at"],
        "actor": row["actor"],
        "action": row["action"],
        "details": json.loads(row["details"]),
        "previousDigest": row["previous_digest"],
        "digest": row["digest"],
        "keyId": row["key_id"],
        "signature": row["signature"],
    }


def _entry_problems(
    row: Mapping[str, Any], expected_seq: int, previous: str, keys: Mapping[str, PublicKey]
) -> list[str]:
    problems = []
    if row["seq"] != expected_seq:
        problems.append(f"expected entry {expected_seq}, found {row['seq']}: entries are missing")
    if row["previous_digest"] != previous:
        problems.append("previousDigest does not match the entry before it")
    details = json.loads(row["details"])
    if (
        entry_digest(row["seq"], row["at"], row["actor"], row["action"], details, row["previous_digest"])
        != row["digest"]
    ):
        problems.append("the entry was altered: its digest does not match its content")
    key = keys.get(row["key_id"])
    try:
        signature = multibase_decode(row["signature"])
    except InvalidKeyError:
        signature = b""
    if key is None or not key.verify(signature, row["digest"].encode("ascii")):
        problems.append("the signature is not the issuer's")
    return problems


def verify_entries(
    rows: Sequence[Mapping[str, Any]], keys: Mapping[str, PublicKey], head: tuple[int, str]
) -> VerificationResult:
    """Check the whole chain: one check per entry, then the head. ``keys`` maps key ids to
    the issuer's public keys, retired ones included."""
    checks = []
    previous, expected = GENESIS, 1
    for row in rows:
        problems = _entry_problems(row, expected, previous, keys)
        name = f"audit[{row['seq']}]"
        checks.append(
            Check.failed(name, "AUDIT_CHAIN_BROKEN", "; ".join(problems), action=row["action"])
            if problems
            else Check.passed(name)
        )
        previous, expected = row["digest"], row["seq"] + 1
    if head != (expected - 1, previous):
        checks.append(
            Check.failed(
                "audit.head",
                "AUDIT_CHAIN_BROKEN",
                "the log does not end at the recorded head: entries were cut off",
                head=head[0],
                last=expected - 1,
            )
        )
    else:
        checks.append(Check.passed("audit.head", entries=expected - 1))
    return VerificationResult.of("auditLog", checks)
