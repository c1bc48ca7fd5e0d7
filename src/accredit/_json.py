"""Strict, bounded JSON for everything that comes from outside.

The standard library accepts duplicate keys (last one wins, so two parties can read two
different documents), NaN and Infinity (not JSON), and recurses without a bound (a deep
document raises RecursionError). Here each of those is a typed error instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InputError, InputTooDeepError, InputTooLargeError

MAX_BYTES = 1_000_000
MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InputError(f"duplicate JSON key {key!r}", key=key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not valid JSON")


def _check_text_depth(text: str, max_depth: int) -> None:
    # Count brackets outside strings before parsing, so a deep document cannot reach the
    # recursive parser at all.
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > max_depth:
            raise InputTooDeepError(f"JSON nesting deeper than {max_depth}", max_depth=max_depth)


def loads(data: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON strictly: size and depth capped, no duplicate keys, no NaN/Infinity.

    Raises ``InputTooLargeError``, ``InputTooDeepError`` or ``InputError``.
    """
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise InputTooLargeError(f"JSON input of {size} bytes exceeds {max_bytes}", max_bytes=max_bytes)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("JSON input is not UTF-8") from exc
    _check_text_depth(data, max_depth)
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:  # an integer past Python's digit limit (4,300)
        raise InputError(f"not acceptable JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(data):
        _refuse_lone_surrogates(value)
    return value


# Escapes of UTF-16 surrogates; only they can put a lone surrogate into a parsed string.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(value: Any) -> None:
    """A lone surrogate (``"\\ud800"``) is no Unicode character: it cannot be encoded, hashed
    or canonicalized, so it is refused at the door (I-JSON, RFC 7493 §2.1)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError("a JSON string holds a lone UTF-16 surrogate, which is not text") from None


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse an in-memory JSON value nested deeper than ``max_depth`` (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise InputTooDeepError(f"JSON nesting deeper than {max_depth}", max_depth=max_depth)
        stack.extend((child, depth + 1) for child in children)


def dumps(value: Any) -> str:
    """Serialize for output: UTF-8 friendly, two-space indent, refusing NaN."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
