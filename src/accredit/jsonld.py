"""JSON-LD, offline, safe and bounded: an allowlist document loader, safe-mode expansion, and
RDFC-1.0 canonicalization over pyld.

pyld alone is not safe for signatures: its default loader fetches any URL, it silently drops
terms that do not expand (so JSON that looks signed is not), it shares one process-wide
context cache keyed by URL, its node map is quadratic in the values of one property, and its
canonicalization has no work limit. This module closes each of those gaps:

- ``DocumentLoader`` serves only the W3C contexts pyld bundles plus ``contexts/`` shipped
  with accredit; any other URL raises ``UnknownContextError``. Nothing is ever fetched. Each
  loader keeps its own processed contexts, so a context is processed once per process and
  two loaders that map one URL differently never share entries.
- ``check_size`` bounds objects, blank nodes and values on the JSON itself, before any
  JSON-LD processing: ``CanonicalizationLimitError``.
- ``expand`` refuses a document in which any property or type is dropped, a property is a
  blank node id, or a string has a ``@direction`` (Data Integrity "safe mode", VC Data
  Integrity §4.2; the RDF would not carry them): ``UndefinedTermError``.
- ``check_contexts`` refuses unknown context URLs and, unless allowed, inline (object)
  contexts, which a holder could rewrite to change the JSON without changing the signed graph.
- ``canonicalize`` expands once and builds the RDF dataset from that expansion in linear
  time; it bounds the quads, the RDFC-1.0 work and the wall time (one deadline that
  interrupts expansion, conversion and canonicalization alike).

RDFC-1.0 itself stays pyld's Python algorithm under that budget: a native canonicalizer
(pyoxigraph) could be neither interrupted by the deadline nor charged against the work budget,
and it differs from the reference implementation on some literals.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from pyld import canon
from pyld.context_resolver import ContextResolver
from pyld.documentloader.frozen import BUNDLED_CONTEXTS
from pyld.jsonld import RDF_FIRST, RDF_NIL, RDF_REST, RDF_TYPE, JsonLdProcessor
from pyld.jsonld import JsonLdError as PyLdError

from .errors import (
    AccreditError,
    CanonicalizationLimitError,
    InlineContextError,
    JsonLdError,
    UndefinedTermError,
    UnknownContextError,
)

__all__ = [
    "DocumentLoader",
    "canonicalize",
    "check_contexts",
    "check_size",
    "default_document_loader",
    "expand",
]

# The W3C contexts pyld ships that accredit serves (not ActivityStreams: no use here).
_PYLD_CONTEXTS = (
    "https://www.w3.org/2018/credentials/v1",
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/v1",
    "https://w3id.org/security/v2",
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "https://w3id.org/security/suites/jws-2020/v1",
)

# Limits measured on the JSON before any JSON-LD processing (issue 13): every later stage is
# linear in them except RDFC-1.0, which has its own work budget.
MAX_OBJECTS = 2_000  # JSON objects (nodes and value objects)
MAX_BLANK_NODES = 1_000  # JSON objects without an id: each becomes a blank node
MAX_VALUES = 10_000  # JSON values of every kind: members, array items, scalars
MAX_QUADS = 20_000
MAX_WORK = 20_000  # Hash N-Degree Quads calls, permutations tried and related quads hashed
TIME_LIMIT_SECONDS = 5.0
CONTEXT_CACHE_SIZE = 512  # processed (active context, local context) pairs per loader

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# What N-Quads can carry unescaped in an IRI; anything else would be dropped or escaped.
_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>"{}|^`\\]*$')
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def _contexts_dir() -> Path:
    """``contexts/`` inside the installed wheel, or at the source tree's root when editable."""
    packaged = importlib.resources.files("accredit") / "contexts"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "contexts"


def _shipped_contexts() -> dict[str, Path]:
    directory = _contexts_dir()
    index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    return {url: directory / relative for url, relative in index.items()}


class _ProcessedContexts:
    """Active contexts pyld derived, memoized by (parent active context, local context).

    pyld clones the active context with a fresh id at every node with a scoped context,
    which defeats its own cache; here the parent is keyed by identity and kept alive in the
    entry, so one chain of contexts is processed once per loader. Bounded; the lock guards
    only the dictionary, never the processing.
    """

    def __init__(self, maxsize: int) -> None:
        self._entries: LRUCache[Any, tuple[Any, Any, Any]] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, key: Any, parent: Any, local: Any) -> Any:
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] is parent and entry[1] is local:
            return entry[2]
        return None

    def put(self, key: Any, parent: Any, local: Any, processed: Any) -> None:
        with self._lock:
            self._entries[key] = (parent, local, processed)


class DocumentLoader:
    """A pyld document loader that serves an allowlist of contexts from disk, never the network.

    ``extra`` adds URLs (to a file path or an already parsed document), for tests and for
    deployments that accept further vocabularies. Each loader has its own processed-context
    cache, so two loaders that map one URL differently never see each other's contexts.
    Documents are parsed once and shared, never modified; the loader answers with pyld's
    ``"tag": "static"``.
    """

    def __init__(
        self,
        extra: Mapping[str, Path | Mapping[str, Any]] | None = None,
        *,
        context_cache_size: int = CONTEXT_CACHE_SIZE,
    ) -> None:
        sources: dict[str, Path | Mapping[str, Any]] = {url: BUNDLED_CONTEXTS[url] for url in _PYLD_CONTEXTS}
        sources.update(_shipped_contexts())
        sources.update(extra or {})
        self._sources = sources
        self._documents: dict[str, dict[str, Any]] = {}
        self._parts: set[int] = set()  # ids of the objects and arrays inside those documents
        self._loading = threading.Lock()  # each document is parsed once, even under threads
        self.contexts = _ProcessedContexts(context_cache_size)

    @property
    def urls(self) -> frozenset[str]:
        """Every context URL this loader serves."""
        return frozenset(self._sources)

    def document(self, url: str) -> dict[str, Any]:
        """The parsed context at ``url`` (shared: do not modify). Raises ``UnknownContextError``
        outside the allowlist."""
        document = self._documents.get(url) if isinstance(url, str) else None
        if document is not None:
            return document
        source = self._sources.get(url) if isinstance(url, str) else None
        if source is None:
            raise UnknownContextError(
                f"context {url!r} is not one this verifier knows; contexts are never fetched",
                url=str(url),
            )
        with self._loading:
            if url not in self._documents:
                if isinstance(source, Path):
                    parsed = json.loads(source.read_text(encoding="utf-8"))
                else:
                    parsed = json.loads(json.dumps(source))  # a private copy of a caller's mapping
                self._parts.update(id(part) for part in _containers(parsed))
                self._documents[url] = parsed
            return self._documents[url]

    def owns(self, value: Any) -> bool:
        """True if ``value`` is an object or array inside one of this loader's documents."""
        return id(value) in self._parts

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": self.document(url), "tag": "static"}


def _containers(document: Any) -> list[Any]:
    found, stack = [], [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


@functools.cache
def default_document_loader() -> DocumentLoader:
    """The shared loader with the built-in allowlist."""
    return DocumentLoader()


# --- size and time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentSize:
    """What ``check_size`` measures on the JSON."""

    objects: int
    blank_nodes: int
    values: int


def measure(document: Any) -> DocumentSize:
    """Count the JSON objects, the objects without an id (blank nodes) and all values."""
    objects = blank_nodes = values = 0
    stack = [document]
    while stack:
        item = stack.pop()
        values += 1
        if isinstance(item, dict):
            objects += 1
            if not ("id" in item or "@id" in item or "@value" in item):
                blank_nodes += 1
            stack.extend(value for key, value in item.items() if key != "@context")
        elif isinstance(item, list):
            stack.extend(item)
    return DocumentSize(objects, blank_nodes, values)


def check_size(document: Any) -> DocumentSize:
    """Refuse a document too large to process in bounded time: more than ``MAX_OBJECTS``
    objects, ``MAX_BLANK_NODES`` objects without an id or ``MAX_VALUES`` values.
    Raises ``CanonicalizationLimitError``; linear in the document, done before any JSON-LD."""
    size = measure(document)
    for name, found, limit in (
        ("objects", size.objects, MAX_OBJECTS),
        ("blank nodes", size.blank_nodes, MAX_BLANK_NODES),
        ("values", size.values, MAX_VALUES),
    ):
        if found > limit:
            raise CanonicalizationLimitError(
                f"the document has {found} {name}; the limit is {limit}", limit=name, found=found
            )
    return size


class _Deadline:
    """A wall-clock deadline checked inside every stage's loop, so it interrupts the work."""

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._at:
            raise CanonicalizationLimitError("canonicalization time limit exceeded", limit="time")


# --- pyld ------------------------------------------------------------------------------------


def _accredit_cause(error: BaseException) -> AccreditError | None:
    """The AccreditError pyld wrapped (it re-raises loader errors as its own)."""
    seen: BaseException | None = error
    for _ in range(32):
        if seen is None:
            return None
        if isinstance(seen, AccreditError):
            return seen
        seen = seen.__cause__ or getattr(seen, "cause", None) or seen.__context__
    return None


def _pyld_call(operation: str, function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except AccreditError:
        raise
    except PyLdError as error:
        cause = _accredit_cause(error)
        if cause is not None:
            raise cause from None
        details = getattr(error, "details", None) or {}
        raise JsonLdError(
            f"JSON-LD {operation} failed: {error}",
            jsonld_code=str(getattr(error, "code", "") or ""),
            **{k: str(v) for k, v in details.items() if k == "url"},
        ) from None
    except RecursionError:
        raise JsonLdError(f"JSON-LD {operation} failed: the document nests too deeply") from None
    except Exception as error:  # pyld trips over some malformed input with plain Python errors
        raise JsonLdError(f"JSON-LD {operation} failed: {type(error).__name__}") from None


def _local_context_key(local: Any, loader: DocumentLoader) -> tuple[Any, Any]:
    """A cache key for a local context and the object the entry must hold to stay valid.

    URLs are their own key. A scoped context inside one of the loader's documents (never
    modified) is keyed by identity, held by its entry; any other object, such as an inline
    context of the document being expanded, by its content, which its owner may change.
    """
    if isinstance(local, str):
        return local, None
    if isinstance(local, list) and all(isinstance(entry, str) for entry in local):
        return tuple(local), None
    if loader.owns(local):
        return id(local), local
    return json.dumps(local, sort_keys=True, default=repr), None


class _Expander(JsonLdProcessor):  # type: ignore[misc]
    """pyld's expansion with memoized context processing and a deadline at every node."""

    def __init__(self, loader: DocumentLoader, deadline: _Deadline) -> None:
        self.dropped: list[str] = []
        super().__init__(on_property_dropped=lambda term: self.dropped.append(str(term)))
        self._loader = loader
        self._deadline = deadline

    def _expand(self, *args: Any, **kwargs: Any) -> Any:
        self._deadline.check()
        return super()._expand(*args, **kwargs)

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        arguments = (override_protected, propagate, validate_scoped)
        if cycles is not None:  # pyld validating a scoped context from inside a definition
            return super()._process_context(active_ctx, local_ctx, options, *arguments, cycles)
        local_key, local = _local_context_key(local_ctx, self._loader)
        key = (id(active_ctx), local_key, arguments)
        processed = self._loader.contexts.get(key, active_ctx, local)
        if processed is None:
            processed = super()._process_context(active_ctx, local_ctx, options, *arguments)
            self._loader.contexts.put(key, active_ctx, local, processed)
        return processed


def _pyld_options(loader: DocumentLoader) -> dict[str, Any]:
    # A resolver per call: pyld's resolved-context objects carry unlocked caches, so none is
    # shared between threads; what is shared is the loader's memo of processed contexts.
    return {
        "documentLoader": loader,
        "contextResolver": ContextResolver({}, loader),
        "base": None,  # not "": pyld would resolve relative IRIs against http://example.org/base/
    }


def _context_values(node: Any) -> list[Any]:
    """Every ``@context`` value anywhere in a JSON document."""
    found: list[Any] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "@context":
                    found.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def check_contexts(
    document: Mapping[str, Any], loader: DocumentLoader, *, allow_inline: bool = False
) -> None:
    """Refuse ``@context`` entries outside the loader's allowlist and, unless ``allow_inline``,
    any inline (object or null) context. Raises ``UnknownContextError``/``InlineContextError``."""
    if "@context" not in document:
        raise UnknownContextError("the document has no @context")
    for value in _context_values(document):
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, str):
                loader.document(entry)
            elif not allow_inline:
                raise InlineContextError(
                    "inline @context definitions are refused: a holder could rewrite them to change "
                    "what the JSON says without changing the signed graph; use published context URLs"
                )


def _unsafe_terms(expanded: Any) -> list[str]:
    """What safe mode refuses in an expanded document, which RDF would drop or alter:
    ``@type``/``@id`` values that are not absolute IRIs or blank nodes (terms the context did
    not define), properties that are not absolute IRIs (blank node ids included), ``@direction``
    on strings, and malformed language tags or datatypes."""
    bad: list[str] = []
    stack = [expanded]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict) and "@value" in item:
            if "@direction" in item:
                bad.append("@direction")
            if "@language" in item and not _LANGUAGE.match(str(item["@language"])):
                bad.append(f"@language {str(item['@language'])[:40]!r}")
            datatype = item.get("@type", "@json")
            if datatype != "@json" and not (isinstance(datatype, str) and _IRI.match(datatype)):
                bad.append(str(datatype)[:200])
        elif isinstance(item, dict):
            for key, value in item.items():
                if key in ("@type", "@id"):
                    for iri in value if isinstance(value, list) else [value]:
                        if isinstance(iri, str) and not (_IRI.match(iri) or iri.startswith("_:")):
                            bad.append(iri[:200])
                elif not (key.startswith("@") or _IRI.match(key)):
                    bad.append(key[:200])  # "_:x": RDF has no blank-node predicates
                else:
                    stack.append(value)
    return bad


def expand(
    document: Mapping[str, Any], loader: DocumentLoader, *, time_limit: float = TIME_LIMIT_SECONDS
) -> list[Any]:
    """Expand in safe mode: raise ``UndefinedTermError`` if any property or type does not
    expand to an absolute IRI (pyld would drop it silently), a property is a blank node id,
    or a string has ``@direction``. Raises ``CanonicalizationLimitError`` for documents over
    the size limits or the time limit."""
    check_size(document)
    return _safe_expand(document, loader, _Deadline(time_limit))


def _safe_expand(document: Mapping[str, Any], loader: DocumentLoader, deadline: _Deadline) -> list[Any]:
    expander = _Expander(loader, deadline)
    expanded: list[Any] = _pyld_call("expansion", expander.expand, dict(document), _pyld_options(loader))
    if expander.dropped:
        terms = sorted(set(expander.dropped))
        raise UndefinedTermError(f"terms not defined by the document's contexts: {terms}", terms=terms)
    unsafe = sorted(set(_unsafe_terms(expanded)))
    if unsafe:
        raise UndefinedTermError(
            f"types, ids or properties the signed graph would not carry: {unsafe[:10]}", terms=unsafe[:10]
        )
    return expanded


# --- RDF dataset -----------------------------------------------------------------------------

_Term = tuple[str, str]  # ("IRI" | "blank node", value)


class _Dataset:
    """The RDF dataset of a safe-mode expanded document (JSON-LD 1.1 API §8.1 Deserialize
    JSON-LD to RDF), built in one pass; duplicate quads collapse, as in any RDF dataset."""

    def __init__(self, deadline: _Deadline) -> None:
        self._graphs: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {"@default": {}}
        self._labels: dict[str, str] = {}
        self._counter = count()
        self._deadline = deadline
        self._literals = JsonLdProcessor()
        self._literal_options = {"processingMode": "json-ld-1.1"}

    def triples(self) -> dict[str, list[dict[str, Any]]]:
        """pyld's dataset shape: graph name → triples."""
        return {name: list(triples.values()) for name, triples in self._graphs.items()}

    def _blank(self, label: str | None = None) -> _Term:
        if label is None:
            return ("blank node", f"_:b{next(self._counter)}")
        if label not in self._labels:
            self._labels[label] = f"_:b{next(self._counter)}"
        return ("blank node", self._labels[label])

    def _term(self, iri: str) -> _Term:
        return self._blank(iri) if iri.startswith("_:") else ("IRI", iri)

    def _add(self, graph: str, subject: _Term, predicate: str, obj: dict[str, Any]) -> None:
        key = (subject, predicate, obj["type"], obj["value"], obj.get("datatype"), obj.get("language"))
        triples = self._graphs.setdefault(graph, {})
        if key not in triples:
            triples[key] = {
                "subject": {"type": subject[0], "value": subject[1]},
                "predicate": {"type": "IRI", "value": predicate},
                "object": obj,
            }

    def node(self, node: Mapping[str, Any], graph: str) -> _Term:
        """Add a node object's triples to ``graph``; return its subject."""
        self._deadline.check()
        subject = self._term(node["@id"]) if "@id" in node else self._blank()
        for key, values in node.items():
            if key == "@type":
                for value in values:
                    kind, iri = self._term(value)
                    self._add(graph, subject, RDF_TYPE, {"type": kind, "value": iri})
            elif key == "@graph":
                for member in values:
                    self.node(member, subject[1])
            elif key == "@included":
                for member in values:
                    self.node(member, graph)
            elif key == "@reverse":
                for predicate, members in values.items():
                    for member in members:
                        other = self.node(member, graph)
                        self._add(graph, other, predicate, {"type": subject[0], "value": subject[1]})
            elif not key.startswith("@"):
                for value in values:
                    self._add(graph, subject, key, self._object(value, graph))
        return subject

    def _object(self, item: Mapping[str, Any], graph: str) -> dict[str, Any]:
        if "@value" in item:
            literal: dict[str, Any] = self._literals._object_to_rdf(item, None, [], self._literal_options)
            return literal
        if "@list" in item:
            return self._list(item["@list"], graph)
        kind, value = self.node(item, graph)
        return {"type": kind, "value": value}

    def _list(self, items: list[Any], graph: str) -> dict[str, Any]:
        if not items:
            return {"type": "IRI", "value": RDF_NIL}
        head = node = self._blank()
        for index, item in enumerate(items):
            self._add(graph, node, RDF_FIRST, self._object(item, graph))
            rest = self._blank() if index + 1 < len(items) else ("IRI", RDF_NIL)
            self._add(graph, node, RDF_REST, {"type": rest[0], "value": rest[1]})
            node = rest
        return {"type": head[0], "value": head[1]}


def _dataset(expanded: list[Any], deadline: _Deadline) -> dict[str, list[dict[str, Any]]]:
    dataset = _Dataset(deadline)
    for node in expanded:
        dataset.node(node, "@default")
    return dataset.triples()


# --- RDFC-1.0 --------------------------------------------------------------------------------

# RDFC-1.0 §4.4 / RDF 1.2 N-Quads canonical form: control characters in literals are escaped
# (\b \f as ECHAR, the rest as uppercase UCHAR), as the reference JS stack (rdf-canonize)
# does; pyld escapes only \t \n \r " \\ and leaves the others raw. IRIs holding any of them
# are refused before this point, so every raw control character is inside a literal.
_CONTROL_ESCAPES = {
    code: "\\b" if code == 0x08 else "\\f" if code == 0x0C else f"\\u{code:04X}"
    for code in [*range(0x00, 0x20), 0x7F]
    if code not in (0x09, 0x0A, 0x0D)
}


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _escape_controls(nquads: list[str]) -> list[str]:
    return sorted(nquad.translate(_CONTROL_ESCAPES) if _CONTROL.search(nquad) else nquad for nquad in nquads)


class _BoundedURDNA2015(canon.URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 (URDNA2015) with a work budget, a deadline and canonical escaping.

    Hash N-Degree Quads is exponential on graphs of many indistinguishable blank nodes; every
    call, every permutation it is about to try and every related quad it hashes is charged
    against the budget first.
    """

    def __init__(self, max_work: int, deadline: _Deadline) -> None:
        super().__init__()
        self._work_left = max_work
        self._deadline = deadline

    def _charge(self, work: int) -> None:
        self._work_left -= work
        if self._work_left < 0:
            raise CanonicalizationLimitError(
                "canonicalization work limit exceeded (too many similar blank nodes)", limit="work"
            )
        self._deadline.check()

    def hash_nquads(self, nquads: list[str]) -> str:
        digest: str = super().hash_nquads(_escape_controls(nquads))
        return digest

    def modify_first_degree_component(self, id_: str, component: Any, key: str) -> Any:
        # pyld deep-copies the component; a shallow copy is all the relabelling needs.
        if component["type"] != "blank node":
            return component
        return {"type": "blank node", "value": "_:a" if component["value"] == id_ else "_:z"}

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        # Each call copies its issuer for every permutation: its cost grows with the issuer.
        self._charge(1 + len(issuer.existing))
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        self._charge(len(self.blank_node_info[id_]["quads"]) // 8)
        related: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        for nodes in related.values():
            self._charge(math.factorial(min(len(nodes), 20)))
        return related

    def canonical_nquads(self, dataset: dict[str, list[dict[str, Any]]]) -> str:
        # Each line ends in "\n", which pyld escapes inside literals (splitlines would also
        # split at the control characters being escaped).
        lines = self.main(dataset, {"format": "application/n-quads"}).split("\n")[:-1]
        return "".join(_escape_controls([line + "\n" for line in lines]))


def canonicalize(
    document: Mapping[str, Any],
    loader: DocumentLoader,
    *,
    max_quads: int = MAX_QUADS,
    max_work: int = MAX_WORK,
    time_limit: float = TIME_LIMIT_SECONDS,
) -> str:
    """RDFC-1.0 canonical N-Quads of ``document``, after one safe-mode expansion.

    Raises ``UnknownContextError``, ``UndefinedTermError``, ``JsonLdError`` and
    ``CanonicalizationLimitError`` (too large, too many quads, too much work, too long).
    """
    check_size(document)
    deadline = _Deadline(time_limit)
    expanded = _safe_expand(document, loader, deadline)
    dataset = _pyld_call("RDF conversion", _dataset, expanded, deadline)
    quads = sum(len(triples) for triples in dataset.values())
    if quads > max_quads:
        raise CanonicalizationLimitError(
            f"the document has {quads} RDF quads; the limit is {max_quads}", limit="quads"
        )
    algorithm = _BoundedURDNA2015(max_work, deadline)
    result: str = _pyld_call("canonicalization", algorithm.canonical_nquads, dataset)
    return result
