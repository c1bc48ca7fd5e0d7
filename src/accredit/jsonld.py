"""JSON-LD, offline and safe: an allowlist document loader, safe-mode expansion, and bounded
RDFC-1.0 canonicalization over pyld.

pyld alone is not safe for signatures: its default loader fetches any URL, it silently drops
terms that do not expand (so JSON that looks signed is not), it shares one process-wide
context cache keyed by URL, and its canonicalization has no work limit. This module closes
each of those gaps:

- ``DocumentLoader`` serves only the W3C contexts pyld bundles plus ``contexts/`` shipped
  with accredit; any other URL raises ``UnknownContextError``. Nothing is ever fetched.
- ``expand`` refuses a document in which any property or type is dropped (Data Integrity
  "safe mode", VC Data Integrity §4.2): ``UndefinedTermError``.
- ``check_contexts`` refuses unknown context URLs and, unless allowed, inline (object)
  contexts, which a holder could rewrite to change the JSON without changing the signed graph.
- ``canonicalize`` bounds the number of quads, the RDFC-1.0 work (Hash N-Degree Quads calls
  and permutations) and wall time: ``CanonicalizationLimitError``.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import math
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from pyld import canon
from pyld.context_resolver import ContextResolver
from pyld.documentloader.frozen import BUNDLED_CONTEXTS
from pyld.jsonld import JsonLdError as PyLdError
from pyld.jsonld import JsonLdProcessor

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

MAX_QUADS = 20_000
MAX_WORK = 20_000  # Hash N-Degree Quads calls plus permutations tried
TIME_LIMIT_SECONDS = 5.0

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


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


class DocumentLoader:
    """A pyld document loader that serves an allowlist of contexts from disk, never the network.

    ``extra`` adds URLs (to a file path or an already parsed document), for tests and for
    deployments that accept further vocabularies. Each loader has its own resolved-context
    cache, so two loaders that map one URL differently never see each other's contexts.
    """

    def __init__(self, extra: Mapping[str, Path | Mapping[str, Any]] | None = None) -> None:
        sources: dict[str, Path | Mapping[str, Any]] = {url: BUNDLED_CONTEXTS[url] for url in _PYLD_CONTEXTS}
        sources.update(_shipped_contexts())
        sources.update(extra or {})
        self._sources = sources
        self._documents: dict[str, dict[str, Any]] = {}
        self._resolved_cache: LRUCache[Any, Any] = LRUCache(maxsize=256)
        # pyld is not thread-safe: resolved contexts (shared through this cache) carry their
        # own unlocked caches, and concurrent use failed with KeyError, RuntimeError or
        # "invalid scoped context". Processing is CPU-bound under the GIL anyway, so one lock
        # per loader costs no parallelism.
        self.lock = threading.RLock()

    @property
    def urls(self) -> frozenset[str]:
        """Every context URL this loader serves."""
        return frozenset(self._sources)

    def document(self, url: str) -> dict[str, Any]:
        """The parsed context at ``url``. Raises ``UnknownContextError`` outside the allowlist."""
        if url not in self._documents:
            source = self._sources.get(url) if isinstance(url, str) else None
            if source is None:
                raise UnknownContextError(
                    f"context {url!r} is not one this verifier knows; contexts are never fetched",
                    url=str(url),
                )
            if isinstance(source, Path):
                self._documents[url] = json.loads(source.read_text(encoding="utf-8"))
            else:
                self._documents[url] = dict(source)
        return self._documents[url]

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        # pyld's RemoteDocument shape; a copy, so pyld can never alter what we serve.
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(self.document(url))}

    def pyld_options(self) -> dict[str, Any]:
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._resolved_cache, self),
            "base": None,  # not "": pyld would resolve relative IRIs against http://example.org/base/
        }


@functools.cache
def default_document_loader() -> DocumentLoader:
    """The shared loader with the built-in allowlist."""
    return DocumentLoader()


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


def _relative_identifiers(expanded: Any) -> list[str]:
    """``@type`` and ``@id`` values that are not absolute IRIs or blank nodes: terms the
    context did not define, which RDF conversion would silently drop."""
    bad: list[str] = []
    stack = [expanded]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key in ("@type", "@id") and "@value" not in item:
                    for iri in value if isinstance(value, list) else [value]:
                        if isinstance(iri, str) and not (_ABSOLUTE_IRI.match(iri) or iri.startswith("_:")):
                            bad.append(iri)
                elif key != "@value":
                    stack.append(value)
    return bad


def expand(document: Mapping[str, Any], loader: DocumentLoader) -> list[Any]:
    """Expand in safe mode: raise ``UndefinedTermError`` if any property or type does not
    expand to an absolute IRI (pyld would drop it silently)."""
    dropped: list[str] = []
    processor = JsonLdProcessor(on_property_dropped=lambda term: dropped.append(str(term)))
    with loader.lock:
        expanded: list[Any] = _pyld_call("expansion", processor.expand, dict(document), loader.pyld_options())
    if dropped:
        raise UndefinedTermError(
            f"terms not defined by the document's contexts: {sorted(set(dropped))}",
            terms=sorted(set(dropped)),
        )
    relative = _relative_identifiers(expanded)
    if relative:
        raise UndefinedTermError(
            f"types or ids that are not absolute IRIs: {sorted(set(relative))[:10]}",
            terms=sorted(set(relative))[:10],
        )
    return expanded


class _BoundedURDNA2015(canon.URDNA2015):  # type: ignore[misc]
    """pyld's RDFC-1.0 (URDNA2015) with a work budget and a deadline.

    Hash N-Degree Quads is exponential on graphs of many indistinguishable blank nodes; every
    call, and every permutation it is about to try, is charged against the budget first.
    """

    def __init__(self, max_work: int, deadline: float) -> None:
        super().__init__()
        self._work_left = max_work
        self._deadline = deadline

    def _charge(self, work: int) -> None:
        self._work_left -= work
        if self._work_left < 0:
            raise CanonicalizationLimitError(
                "canonicalization work limit exceeded (too many similar blank nodes)"
            )
        if time.monotonic() > self._deadline:
            raise CanonicalizationLimitError("canonicalization time limit exceeded")

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self._charge(1)
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        related: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        for nodes in related.values():
            self._charge(math.factorial(min(len(nodes), 20)))
        return related


def canonicalize(
    document: Mapping[str, Any],
    loader: DocumentLoader,
    *,
    max_quads: int = MAX_QUADS,
    max_work: int = MAX_WORK,
    time_limit: float = TIME_LIMIT_SECONDS,
) -> str:
    """RDFC-1.0 canonical N-Quads of ``document``, after safe-mode expansion.

    Raises ``UnknownContextError``, ``UndefinedTermError``, ``JsonLdError`` and
    ``CanonicalizationLimitError`` (too many quads, too much work, too long).
    """
    deadline = time.monotonic() + time_limit
    expanded = expand(document, loader)
    options = {**loader.pyld_options(), "produceGeneralizedRdf": False}
    with loader.lock:
        dataset = _pyld_call("RDF conversion", JsonLdProcessor().to_rdf, expanded, options)
    quads = sum(len(triples) for triples in dataset.values())
    if quads > max_quads:
        raise CanonicalizationLimitError(f"the document has {quads} RDF quads; the limit is {max_quads}")
    algorithm = _BoundedURDNA2015(max_work, deadline)
    result: str = _pyld_call("canonicalization", algorithm.main, dataset, {"format": "application/n-quads"})
    return result
