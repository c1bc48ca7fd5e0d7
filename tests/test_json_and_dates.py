"""Strict JSON and timestamps: what the standard library would silently accept is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from accredit import _json
from accredit._dates import format_datetime, parse_datetime
from accredit.errors import InputError, InputTooDeepError, InputTooLargeError, ValidationError


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', '{"x": {"b": 1, "b": 1}}'])
def test_duplicate_keys_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="duplicate"):
        _json.loads(text)


@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "[-Infinity]"])
def test_non_json_numbers_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        _json.loads(text)


def test_too_deep_is_refused_before_parsing() -> None:
    with pytest.raises(InputTooDeepError) as raised:
        _json.loads("[" * 100_000 + "]" * 100_000, max_bytes=10**6)
    assert raised.value.code == "INPUT_TOO_DEEP"


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert _json.loads('{"a": "' + "[" * 500 + '\\" ["}') == {"a": "[" * 500 + '" ['}


def test_too_large_is_refused() -> None:
    with pytest.raises(InputTooLargeError) as raised:
        _json.loads(b" " * 11 + b"{}", max_bytes=10)
    assert raised.value.code == "INPUT_TOO_LARGE"


def test_not_json_and_not_utf8_are_input_errors() -> None:
    with pytest.raises(InputError) as raised:
        _json.loads("{")
    assert raised.value.code == "MALFORMED_INPUT"
    with pytest.raises(InputError):
        _json.loads(b"\xff\xfe")


def test_check_depth_bounds_in_memory_values() -> None:
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(InputTooDeepError):
        _json.check_depth(deep)
    _json.check_depth({"a": [{"b": 1}]})


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00.123456789Z", datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_datetimes_with_timezone_parse(value: str, expected: datetime) -> None:
    assert parse_datetime(value, "validFrom") == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00",  # no timezone
        "2026-01-01",
        "2026-13-01T00:00:00Z",
        "２０２６-01-01T00:00:00Z",  # non-ASCII digits
        "2026-01-01 00:00:00Z",
        20260101,
    ],
)
def test_ambiguous_or_invalid_datetimes_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_datetime(value, "validFrom")
    assert raised.value.details["field"] == "validFrom"


def test_format_datetime_is_utc_seconds() -> None:
    moment = datetime(2026, 1, 1, 5, 30, 1, 999, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert format_datetime(moment) == "2026-01-01T00:00:01Z"
    with pytest.raises(ValidationError):
        format_datetime(datetime(2026, 1, 1))
