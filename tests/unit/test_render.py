from __future__ import annotations

import datetime as dt

import pytest

from kubelantern.web.render import age

NOW = dt.datetime(2026, 1, 10, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (9 * 3600, "9h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (800 * 86400, "2y"),
    ],
)
def test_age_matches_kubectl(seconds: int, expected: str) -> None:
    then = (NOW - dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    assert age(then, NOW) == expected


def test_age_of_nothing() -> None:
    assert age(None) == ""
