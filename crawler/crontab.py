"""Crontab lines ("min hour day month weekday") as APScheduler triggers, with crontab's weekday numbers.

APScheduler 3.x counts weekdays from Monday = 0, crontab from Sunday = 0 (7 is Sunday too), so
``CronTrigger.from_crontab("0 8 * * 1-5")`` would fire Tuesday to Saturday. Numeric weekdays are
translated to names here; names (``mon-fri``) pass through.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_PART = re.compile(r"^(\*|\d+)(?:-(\d+))?(?:/(\d+))?$")


def _weekdays(field: str) -> str:
    """The weekday field with crontab numbers turned into APScheduler day names."""
    if not re.search(r"\d", field.replace("*/", "")) and "*/" not in field:
        return field
    days: list[int] = []
    for part in field.split(","):
        found = _PART.match(part.strip())
        if not found:
            if re.search(r"\d", part):
                raise ValueError(f"bad weekday {part!r}")
            return field  # names: APScheduler reads them as they are
        first, last, step = found.groups()
        if first == "*":
            low, high = 0, 6
        else:
            low = int(first)
            high = int(last) if last is not None else (6 if step else low)
        if not (0 <= low <= 7 and 0 <= high <= 7) or low > high:
            raise ValueError(f"bad weekday range {part!r} (0-7, Sunday is 0 or 7)")
        days.extend(range(low, high + 1, int(step) if step else 1))
    ordered = dict.fromkeys(_NAMES[day % 7] for day in days)
    return ",".join(ordered)


def crontab_trigger(line: str, timezone: tzinfo | str | None = None, jitter: int | None = None) -> CronTrigger:
    """A CronTrigger for a five-field crontab line; ValueError on a bad line."""
    values = line.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(values)}")
    minute, hour, day, month, weekday = values
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone=timezone,
        jitter=jitter,
    )
