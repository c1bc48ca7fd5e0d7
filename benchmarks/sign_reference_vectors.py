"""Write tests/vectors/reference-canonical.json: credentials whose canonical N-Quads are hard to
get right (control characters, numbers, language strings, alike blank nodes, non-ASCII), each
canonicalized and signed by the reference JS stack, never by accredit.

    (cd benchmarks/js && npm install) && python benchmarks/sign_reference_vectors.py

The key is the W3C vc-di-eddsa spec vectors' key, so accredit signing the same input with the
same ``created`` must reproduce each proofValue byte for byte.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import js_reference

from accredit import KeyPair

OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "reference-canonical.json"
KEY = KeyPair.from_secret_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
CREATED = "2026-02-02T12:00:00Z"
CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"]

SUBJECTS: dict[str, dict[str, Any]] = {
    "control-characters": {"note": "".join(map(chr, [*range(0x20), 0x7F])) + '"\\ end'},
    "numbers-and-booleans": {
        "count": 42,
        "delta": -7,
        "ratio": 1.5,
        "tenth": 0.1,
        "big": 1e21,
        "active": True,
    },
    "language-strings": {
        "greeting": [{"@value": "Bonjour", "@language": "fr"}, {"@value": "Hi", "@language": "en-GB"}]
    },
    "alike-blank-nodes": {
        "spendingLimits": [
            {"amount": "500.00", "currency": "EUR"},
            {"amount": "500.00", "currency": "EUR"},
            {"amount": "2500.00", "currency": "EUR", "per": {"unit": "month"}},
        ]
    },
    "non-ascii": {"name": "Zoë – 代理 🤖", "separator": "a\u2028b\u0085c", "combining": "e\u0301"},
}


def main() -> int:
    if not js_reference.available():
        print("the reference JS stack is not installed: (cd benchmarks/js && npm install)")
        return 1
    unsigned = [
        {
            "@context": CONTEXT,
            "id": f"urn:example:{name}",
            "type": ["VerifiableCredential"],
            "issuer": KEY.did,
            "validFrom": "2026-02-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject", **subject},
        }
        for name, subject in SUBJECTS.items()
    ]
    result = js_reference.run("sign", KEY, unsigned, created=CREATED)
    vectors = [
        {
            "name": name,
            "unsigned": document,
            "canonical": canonical,
            "created": CREATED,
            "proofValue": signed["proof"]["proofValue"],
            "signed": signed,
        }
        for name, document, canonical, signed in zip(
            SUBJECTS, unsigned, result["canonical"], result["signed"], strict=True
        )
    ]
    provenance = {
        "generator": "benchmarks/sign_reference_vectors.py via benchmarks/js/reference.mjs",
        "packages": js_reference.versions(),
        "date": datetime.now(UTC).date().isoformat(),
    }
    OUT.write_text(
        json.dumps({"provenance": provenance, "vectors": vectors}, indent=1, ensure_ascii=True) + "\n"
    )
    print(f"wrote {len(vectors)} vectors to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
