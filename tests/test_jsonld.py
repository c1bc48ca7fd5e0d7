"""The offline loader, safe-mode expansion, inline-context refusal and bounded canonicalization."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest
from pyld.jsonld import JsonLdProcessor

from accredit import jsonld
from accredit.errors import (
    CanonicalizationLimitError,
    InlineContextError,
    UndefinedTermError,
    UnknownContextError,
)
from accredit.jsonld import DocumentLoader, canonicalize, check_contexts, default_document_loader, expand

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


def _credential(subject: dict[str, Any], *extra_contexts: Any) -> dict[str, Any]:
    return {
        "@context": [V2, *extra_contexts],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "credentialSubject": {"id": "did:example:subject", **subject},
    }


@pytest.mark.parametrize(
    "url",
    [
        V2,
        UNDEFINED_TERMS,
        "https://www.w3.org/2018/credentials/v1",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/multikey/v1",
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "https://www.w3.org/ns/did/v1",
    ],
)
def test_allowlisted_contexts_are_served_from_disk(url: str) -> None:
    document = default_document_loader()(url)["document"]
    assert "@context" in document


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/ctx.jsonld",
        "https://www.w3.org/ns/activitystreams",
        "http://www.w3.org/ns/credentials/v2",
    ],
)
def test_everything_else_is_unknown_and_never_fetched(url: str) -> None:
    with pytest.raises(UnknownContextError):
        default_document_loader()(url)
    with pytest.raises(UnknownContextError):
        expand(_credential({}, url), default_document_loader())


def test_undefined_terms_are_refused_not_dropped() -> None:
    with pytest.raises(UndefinedTermError) as raised:
        expand(_credential({"spendingLimit": "100"}), default_document_loader())
    assert raised.value.details["terms"] == ["spendingLimit"]
    # With the W3C undefined-terms vocabulary the term is kept (and so signed).
    nquads = canonicalize(_credential({"spendingLimit": "100"}, UNDEFINED_TERMS), default_document_loader())
    assert "undefined-term#spendingLimit" in nquads


def test_undefined_types_are_refused() -> None:
    document = _credential({})
    document["type"] = ["VerifiableCredential", "MandateCredential"]
    with pytest.raises(UndefinedTermError, match="MandateCredential"):
        expand(document, default_document_loader())


def test_inline_contexts_are_refused_unless_allowed() -> None:
    document = _credential({"limit": "100"}, {"limit": "https://example.org/limit"})
    with pytest.raises(InlineContextError):
        check_contexts(document, default_document_loader())
    check_contexts(document, default_document_loader(), allow_inline=True)
    nested = _credential({"limit": {"@context": {"x": "https://example.org/x"}, "x": 1}}, UNDEFINED_TERMS)
    with pytest.raises(InlineContextError):
        check_contexts(nested, default_document_loader())


def test_loaders_do_not_share_resolved_contexts(tmp_path: Any) -> None:
    url = "https://vocab.example/v1"
    first, second = tmp_path / "a.jsonld", tmp_path / "b.jsonld"
    first.write_text(json.dumps({"@context": {"claim": "https://vocab.example/a#claim"}}))
    second.write_text(json.dumps({"@context": {"claim": "https://vocab.example/b#claim"}}))
    document = _credential({"claim": "x"}, url)
    assert "a#claim" in canonicalize(document, DocumentLoader(extra={url: first}))
    assert "b#claim" in canonicalize(document, DocumentLoader(extra={url: second}))
    with pytest.raises(UnknownContextError):
        canonicalize(document, default_document_loader())


def _clique(size: int) -> dict[str, Any]:
    # Blank nodes that all link to each other look identical to RDFC-1.0, whose Hash N-Degree
    # Quads then tries every permutation: a few hundred bytes that run for minutes unbounded.
    nodes = [
        {"id": f"_:n{i}", "link": [{"id": f"_:n{j}"} for j in range(size) if j != i]} for i in range(size)
    ]
    return _credential({"graph": nodes}, UNDEFINED_TERMS)


def test_canonicalization_work_is_bounded() -> None:
    # Unbounded, this input runs for many minutes: the work budget stops it, not the clock.
    with pytest.raises(CanonicalizationLimitError, match="work limit") as stopped:
        canonicalize(_clique(9), default_document_loader(), time_limit=30)
    assert stopped.value.code == "CANONICALIZATION_LIMIT"
    canonicalize(_clique(4), default_document_loader())


def test_canonicalization_time_is_bounded() -> None:
    with pytest.raises(CanonicalizationLimitError, match="time limit"):
        canonicalize(_clique(4), default_document_loader(), time_limit=-1)


def test_many_alike_but_unlinked_blank_nodes_are_fine() -> None:
    limits = [{"amount": "100", "currency": "USD"} for _ in range(200)]
    nquads = canonicalize(_credential({"limits": limits}, UNDEFINED_TERMS), default_document_loader())
    assert nquads.count("undefined-term#currency") == 200


def test_quad_count_is_bounded() -> None:
    document = _credential({"items": [{"n": str(i)} for i in range(300)]}, UNDEFINED_TERMS)
    with pytest.raises(CanonicalizationLimitError, match="quads"):
        canonicalize(document, default_document_loader(), max_quads=500)


def test_one_loader_serves_many_threads_at_once() -> None:
    # Service threads share one loader. pyld's resolved contexts are not thread-safe: without
    # the loader's lock this failed with KeyError, RuntimeError or "invalid scoped context".
    document = _credential({"limit": "100"}, UNDEFINED_TERMS)
    expected = canonicalize(document, DocumentLoader())
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to expose races
    try:
        for _ in range(20):
            assert _canonicalize_together(document, DocumentLoader(), threads=12) == [expected] * 12
    finally:
        sys.setswitchinterval(interval)


def _canonicalize_together(document: dict[str, Any], loader: DocumentLoader, threads: int) -> list[str]:
    barrier, outcomes = threading.Barrier(threads), []

    def work() -> None:
        barrier.wait()
        try:
            outcomes.append(canonicalize(document, loader))
        except Exception as error:  # the failure this test is about
            outcomes.append(repr(error))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


# --- cost bounded before work (issue 13) -------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "limit"),
    [
        ({"items": [{"id": f"urn:x:{i}", "v": str(i)} for i in range(2_100)]}, "objects"),
        ({"items": [{"v": str(i)} for i in range(1_100)]}, "blank nodes"),
        ({"id": "urn:x:s", "items": [str(i) for i in range(20_100)]}, "values"),
    ],
)
def test_documents_over_the_size_limits_are_refused_before_json_ld(
    subject: dict[str, Any], limit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expansions: list[Any] = []
    monkeypatch.setattr(JsonLdProcessor, "expand", lambda *args: expansions.append(args))
    with pytest.raises(CanonicalizationLimitError) as raised:
        canonicalize(_credential(subject, UNDEFINED_TERMS), default_document_loader())
    assert raised.value.details["limit"] == limit
    with pytest.raises(CanonicalizationLimitError):
        expand(_credential(subject, UNDEFINED_TERMS), default_document_loader())
    assert expansions == []


class _Clock:
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_deadline_interrupts_expansion_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    document = _credential({"items": [{"v": str(i)} for i in range(500)]}, UNDEFINED_TERMS)
    monkeypatch.setattr(jsonld.time, "monotonic", _Clock())
    nodes_expanded: list[Any] = []
    original = JsonLdProcessor._expand
    monkeypatch.setattr(
        JsonLdProcessor, "_expand", lambda self, *a, **k: nodes_expanded.append(1) or original(self, *a, **k)
    )
    with pytest.raises(CanonicalizationLimitError) as raised:
        canonicalize(document, default_document_loader(), time_limit=50)
    assert raised.value.details["limit"] == "time"
    assert 0 < len(nodes_expanded) < 100  # stopped inside expansion, long before its end
