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
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    # repr() gives the shortest round-tripping digits, as ECMAScript does; only the
    # exponent form differs.
    digits, _, exponent = repr(value).partition("e")
    if not exponent:
        return digits
    mantissa, power = digits, int(exponent)
    if -7 < power < 0:  # ECMAScript writes 1e-5 and 1e-6 out in full; Python does not
        sign, mantissa = ("-", mantissa[1:]) if mantissa.startswith("-") else ("", mantissa)
        return f"{sign}0.{'0' * (-power - 1)}{mantissa.replace('.', '')}"
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


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
