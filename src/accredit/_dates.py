"""Strict XML Schema dateTime parsing: a timezone is mandatory.

A timestamp without a timezone means a different instant to every reader, so validity
windows built on it would be ambiguous; VC Data Model 2.0 §4.9 requires dateTimeStamp.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import ValidationError

_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d{1,9})?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})$",
    re.ASCII,
)


def parse_datetime(value: object, field: str) -> datetime:
    """Parse ``value`` as a dateTimeStamp. Raises ``ValidationError`` naming ``field``."""
    match = _DATETIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(
            f"{field} must be an XML Schema dateTime with a timezone, e.g. 2026-01-01T00:00:00Z",
            field=field,
        )
    frac = (match["frac"] or "")[:7]  # Python keeps microseconds; extra digits are truncated
    tz = "+00:00" if match["tz"] == "Z" else match["tz"]
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}{frac}{tz}")
    except ValueError as exc:
        raise ValidationError(f"{field} is not a valid date and time", field=field) from exc


def format_datetime(moment: datetime) -> str:
    """Format an aware datetime as UTC with seconds precision, e.g. ``2026-01-01T00:00:00Z``."""
    if moment.tzinfo is None:
        raise ValidationError("datetime must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    return datetime.now(UTC)


def require_aware(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise ValidationError(f"{field} must be timezone-aware", field=field)
    return moment
