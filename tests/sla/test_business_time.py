"""Business-time arithmetic: worked examples, daylight saving, validation and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.business_time import (
    ScheduleError,
    WorkingSchedule,
    add_business_time,
    business_time_between,
    is_open_at,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)
NINE_TO_FIVE = ((time(9), time(17)),)

# The nights the clocks change in 2026: (zone, spring-forward Sunday, fall-back Sunday).
DST_CHANGES = [
    pytest.param(LONDON, date(2026, 3, 29), date(2026, 10, 25), id="london"),
    pytest.param(NEW_YORK, date(2026, 3, 8), date(2026, 11, 1), id="new-york"),
]


def office(zone: str = "Europe/London", *, holidays: frozenset[date] = frozenset()):
    """09:00-17:00, Monday to Friday."""
    return WorkingSchedule(
        timezone=zone, weekly={day: NINE_TO_FIVE for day in range(5)}, holidays=holidays
    )


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


# Worked examples on a 09:00-17:00 Monday-Friday calendar.


def test_it_carries_friday_afternoon_over_the_weekend() -> None:
    # 2026-06-05 is a Friday in British Summer Time, far from any clock change.
    due = add_business_time(local(LONDON, 2026, 6, 5, 16), 4 * HOUR, office())

    assert due == local(LONDON, 2026, 6, 8, 12)
    assert due.tzinfo is UTC


def test_it_skips_a_holiday() -> None:
    schedule = office(holidays=frozenset({date(2026, 6, 8)}))

    due = add_business_time(local(LONDON, 2026, 6, 5, 16), 4 * HOUR, schedule)

    assert due == local(LONDON, 2026, 6, 9, 12)
    assert not is_open_at(local(LONDON, 2026, 6, 8, 10), schedule)


def test_it_skips_the_lunch_gap_between_intervals() -> None:
    schedule = WorkingSchedule(
        timezone="Europe/London",
        weekly={day: ((time(9), time(12)), (time(13), time(17))) for day in range(5)},
    )
    monday = (2026, 6, 8)

    assert add_business_time(local(LONDON, *monday, 11), 2 * HOUR, schedule) == local(
        LONDON, *monday, 14
    )
    assert business_time_between(
        local(LONDON, *monday, 9), local(LONDON, *monday, 17), schedule
    ) == (7 * HOUR)
    assert not is_open_at(local(LONDON, *monday, 12, 30), schedule)


def test_it_starts_counting_at_the_next_opening() -> None:
    early_monday = local(LONDON, 2026, 6, 8, 6)
    saturday = local(LONDON, 2026, 6, 6, 11)

    assert add_business_time(early_monday, HOUR, office()) == local(LONDON, 2026, 6, 8, 10)
    assert add_business_time(saturday, HOUR, office()) == local(LONDON, 2026, 6, 8, 10)


def test_it_returns_the_interval_end_when_the_time_runs_out_exactly_there() -> None:
    due = add_business_time(local(LONDON, 2026, 6, 8, 16), HOUR, office())

    assert due == local(LONDON, 2026, 6, 8, 17)


def test_it_returns_a_zero_duration_start_unchanged_even_when_closed() -> None:
    sunday = local(LONDON, 2026, 6, 7, 3, 4, 5, 6)

    due = add_business_time(sunday, timedelta(0), office())

    assert due == sunday
    assert due.tzinfo is UTC


def test_it_measures_open_time_and_its_negative_backwards() -> None:
    friday, monday = local(LONDON, 2026, 6, 5, 16), local(LONDON, 2026, 6, 8, 12)

    assert business_time_between(friday, monday, office()) == 4 * HOUR
    assert business_time_between(monday, friday, office()) == -4 * HOUR
    assert business_time_between(friday, friday, office()) == timedelta(0)


def test_it_treats_interval_bounds_as_start_open_end_closed() -> None:
    assert is_open_at(local(LONDON, 2026, 6, 8, 9), office())
    assert is_open_at(local(LONDON, 2026, 6, 8, 17) - MICROSECOND, office())
    assert not is_open_at(local(LONDON, 2026, 6, 8, 17), office())


def test_it_adds_two_weeks_and_measures_a_year_in_the_calendar_zone() -> None:
    start = local(LONDON, 2026, 6, 8, 9)

    assert add_business_time(start, 80 * HOUR, office()) == local(LONDON, 2026, 6, 19, 17)
    # 2026 has 261 weekdays, and the calendar counts wall-clock hours all year round.
    year = business_time_between(local(LONDON, 2026, 1, 1), local(LONDON, 2027, 1, 1), office())
    assert year == 261 * 8 * HOUR


def test_it_refuses_naive_datetimes_and_negative_durations() -> None:
    naive = datetime(2026, 6, 8, 9)
    aware = local(LONDON, 2026, 6, 8, 9)

    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(naive, HOUR, office())
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(aware, naive, office())
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open_at(naive, office())
    with pytest.raises(ValueError, match="negative"):
        add_business_time(aware, -HOUR, office())


def test_it_gives_up_when_holidays_close_every_working_day_for_years() -> None:
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(52 * 12))
    schedule = WorkingSchedule(timezone="UTC", weekly={0: NINE_TO_FIVE}, holidays=mondays)

    with pytest.raises(ScheduleError, match="No working time"):
        add_business_time(datetime(2026, 1, 1, tzinfo=UTC), HOUR, schedule)


# Daylight saving: the calendar counts the time that really passes.


@pytest.mark.parametrize(("zone", "spring", "autumn"), DST_CHANGES)
def test_it_counts_real_hours_round_the_clock_across_a_clock_change(
    zone: ZoneInfo, spring: date, autumn: date
) -> None:
    always = WorkingSchedule.always_open(zone.key)

    def day_length(day: date) -> timedelta:
        return business_time_between(
            local(zone, day.year, day.month, day.day),
            local(zone, day.year, day.month, day.day + 1),
            always,
        )

    assert day_length(spring) == 23 * HOUR
    assert day_length(autumn) == 25 * HOUR
    assert day_length(spring - timedelta(days=1)) == 24 * HOUR
    saturday_noon = local(zone, spring.year, spring.month, spring.day - 1, 12)
    monday_noon = local(zone, spring.year, spring.month, spring.day + 1, 12)
    assert business_time_between(saturday_noon, monday_noon, always) == 47 * HOUR
    assert add_business_time(saturday_noon, 47 * HOUR, always) == monday_noon


@pytest.mark.parametrize(("zone", "spring", "autumn"), DST_CHANGES)
def test_it_carries_friday_afternoon_over_a_clock_change_weekend(
    zone: ZoneInfo, spring: date, autumn: date
) -> None:
    for sunday in (spring, autumn):
        friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)

        due = add_business_time(
            local(zone, friday.year, friday.month, friday.day, 16), 2 * HOUR, office(zone.key)
        )

        assert due == local(zone, monday.year, monday.month, monday.day, 10)


@pytest.mark.parametrize(("zone", "spring", "autumn"), DST_CHANGES)
def test_it_counts_a_night_interval_on_the_change_day_in_real_hours(
    zone: ZoneInfo, spring: date, autumn: date
) -> None:
    # 00:00-03:00 local spans the change (at 01:00 in London, 02:00 in New York).
    night = WorkingSchedule(timezone=zone.key, weekly={6: ((time(0), time(3)),)})

    for sunday, real_hours in ((spring, 2), (autumn, 4)):
        midnight = local(zone, sunday.year, sunday.month, sunday.day)
        three = local(zone, sunday.year, sunday.month, sunday.day, 3).astimezone(UTC)

        assert business_time_between(midnight, midnight + timedelta(days=1), night) == (
            real_hours * HOUR
        )
        assert add_business_time(midnight, real_hours * HOUR, night) == three
        assert is_open_at(three - MICROSECOND, night)
        assert not is_open_at(three, night)


def test_it_reads_a_bound_in_the_spring_gap_as_the_moment_the_clocks_jump() -> None:
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 never happens.
    schedule = WorkingSchedule(
        timezone="America/New_York", weekly={6: ((time(1, 30), time(2, 30)),)}
    )
    sunday = local(NEW_YORK, 2026, 3, 8)

    assert business_time_between(sunday, sunday + timedelta(days=1), schedule) == 30 * (HOUR / 60)
    assert add_business_time(sunday, 30 * (HOUR / 60), schedule) == datetime(
        2026, 3, 8, 7, tzinfo=UTC
    )


def test_it_reads_a_bound_in_the_autumn_fold_as_its_first_occurrence() -> None:
    # London, 2026-10-25: 01:00-02:00 happens twice; 01:30 means 00:30 UTC, the first time.
    schedule = WorkingSchedule(timezone="Europe/London", weekly={6: ((time(1, 30), time(3)),)})
    sunday = local(LONDON, 2026, 10, 25)

    assert add_business_time(sunday, HOUR, schedule) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert business_time_between(sunday, sunday + timedelta(days=1), schedule) == (
        150 * (HOUR / 60)
    )


# Validation.


def test_it_accepts_the_always_open_calendar_and_touching_intervals() -> None:
    WorkingSchedule.always_open("Asia/Kolkata").validate()
    WorkingSchedule(
        timezone="UTC", weekly={0: ((time(9), time(12)), (time(12), time(0)))}
    ).validate()


def test_it_refuses_a_calendar_without_working_hours() -> None:
    with pytest.raises(ScheduleError, match="The calendar has no working hours"):
        WorkingSchedule(timezone="UTC", weekly={0: (), 3: ()}).validate()


def test_it_refuses_overlapping_intervals() -> None:
    schedule = WorkingSchedule(
        timezone="UTC", weekly={0: ((time(9), time(12)), (time(11), time(13)))}
    )

    with pytest.raises(ScheduleError, match="Monday: 09:00-12:00 overlaps 11:00-13:00"):
        schedule.validate()


def test_it_refuses_intervals_out_of_order() -> None:
    schedule = WorkingSchedule(
        timezone="UTC", weekly={2: ((time(13), time(17)), (time(9), time(12)))}
    )

    with pytest.raises(ScheduleError, match="Wednesday: 13:00-17:00 is listed before 09:00-12:00"):
        schedule.validate()


def test_it_refuses_an_unknown_time_zone() -> None:
    schedule = WorkingSchedule(timezone="Mars/Base", weekly={0: NINE_TO_FIVE})

    with pytest.raises(ScheduleError, match="Unknown time zone 'Mars/Base'"):
        schedule.validate()


@pytest.mark.parametrize("end", [time(9), time(8)])
def test_it_refuses_an_interval_ending_before_it_starts(end: time) -> None:
    schedule = WorkingSchedule(timezone="UTC", weekly={4: ((time(9), end),)})

    with pytest.raises(ScheduleError, match=r"Friday: 09:00-0[89]:00 ends before it starts"):
        schedule.validate()


def test_it_refuses_a_weekday_outside_the_week() -> None:
    schedule = WorkingSchedule(timezone="UTC", weekly={7: NINE_TO_FIVE})

    with pytest.raises(ScheduleError, match="Weekday 7 is outside 0"):
        schedule.validate()


def test_it_validates_before_computing() -> None:
    schedule = WorkingSchedule(timezone="UTC", weekly={})

    with pytest.raises(ScheduleError, match="no working hours"):
        add_business_time(datetime(2026, 1, 1, tzinfo=UTC), HOUR, schedule)


def test_it_hashes_equal_schedules_alike() -> None:
    assert hash(office()) == hash(office())
    assert office() == office()
    assert office() != office("America/New_York")


# Properties on random calendars.

ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
MINUTES_PER_DAY = 24 * 60


def _clock(minutes: int) -> time:
    """Minutes since midnight as a time; 1440 is midnight at the end of the day."""
    return time(*divmod(minutes % MINUTES_PER_DAY, 60))


@st.composite
def schedules(draw: st.DrawFn) -> WorkingSchedule:
    weekly = {}
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)):
        count = draw(st.integers(1, 3))
        bounds = sorted(
            draw(st.sets(st.integers(0, MINUTES_PER_DAY), min_size=2 * count, max_size=2 * count))
        )
        weekly[weekday] = tuple(
            (_clock(bounds[i]), _clock(bounds[i + 1])) for i in range(0, 2 * count, 2)
        )
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=5))
    return WorkingSchedule(timezone=draw(st.sampled_from(ZONES)), weekly=weekly, holidays=holidays)


instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31, 23, 59, 59, 999999),
    timezones=st.just(UTC),
)
durations = st.one_of(
    st.integers(0, 30 * 24 * 3600).map(lambda seconds: timedelta(seconds=seconds)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(schedules())
def test_it_generates_valid_schedules(schedule: WorkingSchedule) -> None:
    schedule.validate()


@PROPERTY
@given(schedules(), instants, durations)
def test_it_round_trips_added_time_exactly(
    schedule: WorkingSchedule, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(start, duration, schedule)

    assert due >= start
    assert due.tzinfo is UTC
    assert business_time_between(start, due, schedule) == duration


@PROPERTY
@given(schedules(), instants, durations, durations)
def test_it_never_moves_earlier_for_more_time(
    schedule: WorkingSchedule, start: datetime, d1: timedelta, d2: timedelta
) -> None:
    d1, d2 = sorted((d1, d2))

    assert add_business_time(start, d1, schedule) <= add_business_time(start, d2, schedule)


@PROPERTY
@given(schedules(), instants, instants, durations)
def test_it_never_moves_earlier_for_a_later_start(
    schedule: WorkingSchedule, s1: datetime, s2: datetime, duration: timedelta
) -> None:
    s1, s2 = sorted((s1, s2))

    assert add_business_time(s1, duration, schedule) <= add_business_time(s2, duration, schedule)


@PROPERTY
@given(schedules(), instants, durations.filter(bool))
def test_it_ends_right_after_an_open_instant(
    schedule: WorkingSchedule, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(start, duration, schedule)

    assert is_open_at(due - MICROSECOND, schedule)


@PROPERTY
@given(schedules(), instants, durations.filter(bool), durations)
def test_it_adds_in_steps_as_in_one_go(
    schedule: WorkingSchedule, start: datetime, d1: timedelta, d2: timedelta
) -> None:
    in_steps = add_business_time(add_business_time(start, d1, schedule), d2, schedule)

    assert in_steps == add_business_time(start, d1 + d2, schedule)


@PROPERTY
@given(schedules(), instants, instants)
def test_it_measures_antisymmetrically_within_the_elapsed_time(
    schedule: WorkingSchedule, a: datetime, b: datetime
) -> None:
    forward = business_time_between(a, b, schedule)

    assert business_time_between(b, a, schedule) == -forward
    assert business_time_between(a, a, schedule) == timedelta(0)
    assert timedelta(0) <= abs(forward) <= abs(b - a)


@settings(max_examples=100, deadline=None)
@given(schedules(), instants, st.integers(0, 120 * 24 * 3600))
def test_it_measures_long_spans_as_the_sum_of_their_days(
    schedule: WorkingSchedule, start: datetime, seconds: int
) -> None:
    # Spans of a week or more skip whole weeks; single days are always walked interval by
    # interval, so the two must agree.
    end = start + timedelta(seconds=seconds)
    cuts = [*(start + n * timedelta(days=1) for n in range(seconds // 86400 + 1)), end]

    by_day = sum(
        (business_time_between(a, b, schedule) for a, b in pairwise(cuts)),
        timedelta(0),
    )

    assert business_time_between(start, end, schedule) == by_day


def test_it_adds_a_month_on_a_one_minute_week_quickly() -> None:
    # 30 days at one minute a week is over 800 years of calendar, skipped week by week.
    schedule = WorkingSchedule(timezone="Europe/London", weekly={2: ((time(9), time(9, 1)),)})
    start = datetime(2026, 1, 1, tzinfo=UTC)

    due = add_business_time(start, timedelta(days=30), schedule)

    assert due.year > 2800
    assert business_time_between(start, due, schedule) == timedelta(days=30)
    assert due.astimezone(LONDON).time() == time(9, 1)


def _open_by_wall_clock(moment: datetime, schedule: WorkingSchedule) -> bool | None:
    """Independent oracle: is the local wall-clock reading inside an interval?

    None for a reading that happens twice (the autumn fold), which the calendar assigns to its
    first occurrence only.
    """
    reading = moment.astimezone(ZoneInfo(schedule.timezone))
    if reading.replace(fold=1 - reading.fold).utcoffset() != reading.utcoffset():
        return None
    if reading.date() in schedule.holidays:
        return False
    clock = reading.time().replace(tzinfo=None)
    return any(
        start <= clock and (end == time(0) or clock < end)
        for start, end in schedule.weekly.get(reading.weekday(), ())
    )


@settings(max_examples=500, deadline=None)
@given(schedules(), instants)
def test_it_agrees_with_the_wall_clock_outside_the_autumn_fold(
    schedule: WorkingSchedule, moment: datetime
) -> None:
    expected = _open_by_wall_clock(moment, schedule)

    if expected is not None:
        assert is_open_at(moment, schedule) is expected


@settings(max_examples=50, deadline=None)
@given(schedules(), instants)
def test_it_measures_what_the_wall_clock_shows_minute_by_minute(
    schedule: WorkingSchedule, moment: datetime
) -> None:
    start = moment.replace(second=0, microsecond=0)
    minutes = [start + n * timedelta(minutes=1) for n in range(2 * MINUTES_PER_DAY)]
    readings = [_open_by_wall_clock(minute, schedule) for minute in minutes]

    if None not in readings:
        assert business_time_between(start, minutes[-1] + timedelta(minutes=1), schedule) == (
            sum(readings) * timedelta(minutes=1)
        )
