"""The offline loader, safe-mode expansion, inline-context refusal and bounded canonicalization."""

from __future__ import annotations

import copy
import json
import random
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cachetools import LRUCache
from pyld import canon
from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdProcessor

from accredit import KeyPair, issue_credential, jsonld, verify_credential
from accredit._dates import parse_datetime
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
        ({"id": "urn:x:s", "items": [str(i) for i in range(10_100)]}, "values"),
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


def _ring(size: int) -> dict[str, Any]:
    # Blank nodes alike but for their place in one cycle: Hash N-Degree Quads walks the whole
    # ring from every node, each step copying a growing identifier issuer.
    ring = [{"id": f"_:n{i}", "v": "0", "link": {"id": f"_:n{(i + 1) % size}"}} for i in range(size)]
    return _credential({"ring": ring}, UNDEFINED_TERMS)


def test_a_ring_of_alike_blank_nodes_under_the_size_limits_exhausts_the_work_budget() -> None:
    canonicalize(_ring(20), default_document_loader())
    with pytest.raises(CanonicalizationLimitError) as raised:
        canonicalize(_ring(300), default_document_loader())  # ~5 s of CPU when charged per call
    assert raised.value.details["limit"] == "work"


class _Clock:
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_time_limit_interrupts_expansion_itself(monkeypatch: pytest.MonkeyPatch) -> None:
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


# --- one pass, byte for byte (issue 10) --------------------------------------------------------

VECTORS = Path(__file__).parent / "vectors"
REFERENCE = json.loads((VECTORS / "reference-canonical.json").read_text())["vectors"]
SPEC_KEY = KeyPair.from_secret_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")


@pytest.mark.parametrize("vector", REFERENCE, ids=[v["name"] for v in REFERENCE])
def test_canonical_form_is_the_reference_stacks_byte_for_byte(vector: dict[str, Any]) -> None:
    # Control characters in literals are escaped as rdf-canonize escapes them (\b \f ECHAR,
    # others UCHAR); pyld alone left them raw, so such credentials signed elsewhere failed.
    assert canonicalize(vector["unsigned"], default_document_loader()) == vector["canonical"]
    signed = issue_credential(
        vector["unsigned"], SPEC_KEY, created=parse_datetime(vector["created"], "created")
    )
    assert signed["proof"]["proofValue"] == vector["proofValue"]
    assert verify_credential(vector["signed"]).verified


def _unissued(subject: dict[str, Any]) -> dict[str, Any]:
    """A credential for ``issue_credential``, which names the signing key's DID as issuer."""
    return {k: v for k, v in _credential(subject, UNDEFINED_TERMS).items() if k != "issuer"}


def _previous_canonicalize(document: dict[str, Any], loader: DocumentLoader) -> str:
    """The implementation before issue 10: pyld's to_rdf on the compact form, then RDFC-1.0."""
    options = {
        "documentLoader": loader,
        "base": None,
        "contextResolver": ContextResolver(LRUCache(64), loader),
    }
    dataset = JsonLdProcessor().to_rdf(copy.deepcopy(document), options)
    return str(canon.URDNA2015().main(dataset, {"format": "application/n-quads"}))


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.choice(["str", "int", "float", "bool", "list", "node", "ref"] if depth < 3 else ["str", "int"])
    if kind == "str":
        return rng.choice(["", "a", "same", "ünï", 'q"uote', "back\\slash", "line\nbreak"]) + str(
            rng.randrange(3)
        )
    if kind == "int":
        return rng.randrange(-(10**6), 10**6)
    if kind == "float":
        return rng.choice([0.5, -2.25, 1e-7, 3.0e10, 0.1])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == "ref":
        return {"id": f"urn:example:{rng.randrange(5)}"}
    node: dict[str, Any] = {
        f"p{rng.randrange(6)}": _random_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))
    }
    if rng.random() < 0.3:
        node["id"] = f"_:n{rng.randrange(4)}" if rng.random() < 0.5 else f"urn:example:{rng.randrange(100)}"
    if rng.random() < 0.3:
        node["type"] = f"T{rng.randrange(3)}"
    return node


def _corpus() -> list[dict[str, Any]]:
    rng = random.Random(10)
    documents = [v["unsigned"] for v in REFERENCE if v["name"] != "control-characters"]
    documents += [v["unsigned"] for v in json.loads((VECTORS / "reference-signed.json").read_text())]
    for _ in range(300):
        subject = {f"claim{i}": _random_value(rng, 0) for i in range(rng.randrange(1, 5))}
        documents.append(_credential(subject, UNDEFINED_TERMS))
    credential = issue_credential(_unissued({"role": "buyer"}), SPEC_KEY)
    documents.append(
        {
            "@context": [V2],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [credential, credential],
        }
    )
    documents.append(credential)  # the proof is a named graph
    documents.append({k: v for k, v in credential["proof"].items() if k != "proofValue"} | {"@context": [V2]})
    return documents


def test_canonical_form_equals_the_previous_implementation_byte_for_byte() -> None:
    # No control characters here: there the previous implementation disagreed with the reference.
    loader = DocumentLoader()
    for document in _corpus():
        assert canonicalize(document, loader) == _previous_canonicalize(document, DocumentLoader()), document


@pytest.mark.parametrize(
    ("subject", "refused"),
    [
        ({"_:claim": "hidden from the graph"}, "_:claim"),
        ({"motto": {"@value": "שלום", "@language": "he", "@direction": "rtl"}}, "@direction"),
    ],
)
def test_safe_mode_refuses_what_the_signed_graph_would_drop(subject: dict[str, Any], refused: str) -> None:
    document = _credential(subject, UNDEFINED_TERMS)
    with pytest.raises(UndefinedTermError) as raised:
        expand(document, default_document_loader())
    assert refused in raised.value.details["terms"]
    with pytest.raises(UndefinedTermError):
        issue_credential(_unissued(subject), SPEC_KEY)


class _Work:
    """Counts what one verification costs: loader fetches, contexts processed, expansions."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fetches: list[str] = []
        self.contexts_processed: list[Any] = []
        self.expansions: list[Any] = []
        process, expand_ = JsonLdProcessor._process_context, jsonld._Expander.expand
        load = DocumentLoader.__call__
        monkeypatch.setattr(
            DocumentLoader, "__call__", lambda s, url, *a: self.fetches.append(url) or load(s, url, *a)
        )
        monkeypatch.setattr(
            JsonLdProcessor,
            "_process_context",
            lambda s, *a, **k: self.contexts_processed.append(a[1]) or process(s, *a, **k),
        )
        monkeypatch.setattr(
            jsonld._Expander, "expand", lambda s, d, o: self.expansions.append(d) or expand_(s, d, o)
        )

    def reset(self) -> None:
        self.fetches.clear()
        self.contexts_processed.clear()
        self.expansions.clear()


def test_a_warm_verification_fetches_and_processes_no_context(monkeypatch: pytest.MonkeyPatch) -> None:
    loader = DocumentLoader()
    key = KeyPair.generate()
    subject = {
        "id": "did:example:agent",
        "mandate": {"actions": ["quote", "order"], "limit": {"amount": "5"}},
    }
    first, second = (issue_credential(_unissued(dict(subject, n=i)), key) for i in range(2))
    assert verify_credential(first, document_loader=loader).verified  # cold: contexts processed once
    work = _Work(monkeypatch)
    assert verify_credential(second, document_loader=loader).verified
    assert work.fetches == []
    assert work.contexts_processed == []
    assert len(work.expansions) == 2  # the document and its proof configuration, once each


def test_an_inline_context_is_cached_by_its_content_not_its_identity() -> None:
    # The loader's own contexts never change, so they are cached by identity; a document's
    # inline context belongs to its caller, who may change it between two calls.
    loader = DocumentLoader()
    document = _credential({"claim": "x"}, {"claim": "https://a.example#claim"})
    assert "a.example#claim" in canonicalize(document, loader)
    document["@context"][1]["claim"] = "https://b.example#claim"
    nquads = canonicalize(document, loader)
    assert "b.example#claim" in nquads and "a.example#claim" not in nquads
