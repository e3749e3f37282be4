"""Crontab lines mean what crontab means: weekday 0 and 7 are Sunday, 1-5 is Monday to Friday."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.crontab import crontab_trigger

SUNDAY = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def fires(line: str, count: int = 7) -> list[str]:
    trigger = crontab_trigger(line, "UTC")
    found, moment = [], SUNDAY
    previous = None
    for _ in range(count):
        moment = trigger.get_next_fire_time(previous, moment)
        found.append(moment.strftime("%a"))
        previous = moment
    return found


@pytest.mark.parametrize(
    ("line", "days"),
    [
        ("0 8 * * 1-5", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]),
        ("0 8 * * 0", ["Sun"] * 3),
        ("0 8 * * 7", ["Sun"] * 3),
        ("0 8 * * 5-7", ["Fri", "Sat", "Sun"]),
        ("0 8 * * 1,3", ["Mon", "Wed", "Mon"]),
        ("0 8 * * */2", ["Tue", "Thu", "Sat", "Sun"]),
        ("0 8 * * mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]),
    ],
)
def test_weekdays_follow_crontab(line: str, days: list[str]) -> None:
    assert fires(line, len(days)) == days


@pytest.mark.parametrize("line", ["0 8 * *", "0 8 * * 9", "0 25 * * *", "x 8 * * *", "0 8 * * 5-2"])
def test_bad_lines_are_refused(line: str) -> None:
    with pytest.raises(ValueError):
        crontab_trigger(line, "UTC")
