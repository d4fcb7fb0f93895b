"""Calendar arithmetic for the window (R3), minors (R6) and the gate-on day (R5).

The salon's time zone decides: "the last 36 months" starts at local midnight of the same day
36 months ago, and a client's age is counted on the salon's local date.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` earlier, clamped to the month's end (29 Feb -> 28 Feb)."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def local_today(now: dt.datetime, timezone: str) -> dt.date:
    return now.astimezone(ZoneInfo(timezone)).date()


def local_midnight_utc(day: dt.date, timezone: str) -> dt.datetime:
    """The instant a local day starts, in UTC."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(timezone))
    return start.astimezone(dt.UTC)


def window_start(now: dt.datetime, timezone: str, months: int) -> dt.datetime:
    """The earliest instant a purchase may have happened to count for a window of ``months``."""
    return local_midnight_utc(months_before(local_today(now, timezone), months), timezone)


def adult_born_on_or_before(now: dt.datetime, timezone: str, minor_age: int) -> dt.date:
    """Clients born on or before this day have reached ``minor_age`` on the salon's today."""
    return months_before(local_today(now, timezone), 12 * minor_age)
