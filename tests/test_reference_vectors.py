"""Credentials signed by an independent implementation (Digital Bazaar's @digitalbazaar/vc with
the eddsa-rdfc-2022 and eddsa-jcs-2022 cryptosuites): accredit verifies them and, signing the
same input with the same key and ``created``, reproduces their proofValue byte for byte.
Source: tests/vectors/reference-signed.json (see tests/vectors/README.md)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from accredit import KeyPair, issue_credential, verify_credential
from accredit._dates import parse_datetime

VECTORS_FILE = Path(__file__).parent / "vectors" / "reference-signed.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text())
KEY = KeyPair.from_secret_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
NOW = datetime(2026, 11, 1, tzinfo=UTC)  # inside every vector's validity window


def _ids() -> list[str]:
    return [f"{v['cryptosuite']}-{v['index']}" for v in VECTORS]


@pytest.mark.parametrize("vector", VECTORS, ids=_ids())
def test_independent_credential_verifies(vector: dict[str, Any]) -> None:
    result = verify_credential(vector["signed"], now=NOW)
    assert result.verified, result.to_dict()


@pytest.mark.parametrize("vector", VECTORS, ids=_ids())
def test_signing_reproduces_independent_proof(vector: dict[str, Any]) -> None:
    signed = issue_credential(
        vector["unsigned"],
        KEY,
        suite=vector["cryptosuite"],
        created=parse_datetime(vector["created"], "created"),
    )
    assert signed["proof"]["proofValue"] == vector["proofValue"]
    assert signed == vector["signed"]


@pytest.mark.parametrize("vector", VECTORS, ids=_ids())
def test_independent_credential_tampered_fails(vector: dict[str, Any]) -> None:
    tampered = copy.deepcopy(vector["signed"])
    tampered["validUntil"] = "2030-02-01T00:00:00Z"
    result = verify_credential(tampered, now=NOW)
    assert not result.verified
    assert "PROOF_INVALID" in result.codes


def test_independent_credential_outside_its_window() -> None:
    result = verify_credential(VECTORS[0]["signed"], now=datetime(2028, 3, 1, tzinfo=UTC))
    assert result.codes == ("EXPIRED",)
