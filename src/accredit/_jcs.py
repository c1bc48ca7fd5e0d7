"""RFC 8785 JSON Canonicalization Scheme (JCS), as ``eddsa-jcs-2022`` signs it.

Object members sorted by their UTF-16 code units, no insignificant whitespace, strings with
the minimal JSON escapes, numbers as ECMAScript ``Number.prototype.toString`` prints them.
Integers beyond 2**53 cannot round-trip through an IEEE double, so they are refused rather
than silently changed (RFC 8785 §3.2.2.3).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .errors import InputError

_MAX_SAFE_INTEGER = 2**53 - 1


def _number(value: int | float) -> str:
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise InputError("integers beyond 2**53 cannot be canonicalized exactly (RFC 8785)")
        return str(value)
    if not math.isfinite(value):
        raise InputError("NaN and Infinity are not JSON")
    if value == 0:
        return "0"
    # ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) over the shortest round-tripping
    # digits, which Python's repr also finds: value = 0.digits × 10**point.
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, point = len(digits), int(exponent) + len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = f"0.{'0' * -point}{digits}"
    else:
        power = point - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
    return sign + text


def _utf16_key(key: str) -> list[int]:
    encoded = key.encode("utf-16-be")
    return [int.from_bytes(encoded[i : i + 2], "big") for i in range(0, len(encoded), 2)]


def _serialize(value: Any, out: list[str]) -> None:
    if value is None or value is True or value is False:
        out.append(json.dumps(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int | float):
        out.append(_number(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, key in enumerate(sorted(value, key=_utf16_key)):
            if not isinstance(key, str):
                raise InputError("JSON object keys must be strings")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _serialize(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    else:
        raise InputError(f"{type(value).__name__} is not a JSON value")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value. Raises ``InputError``."""
    out: list[str] = []
    _serialize(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("strings must be valid Unicode (no lone surrogates)") from None
