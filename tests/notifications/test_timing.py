from datetime import UTC, datetime, time, timedelta

import pytest

from conciergerie.notifications.timing import (
    PARIS,
    retry_delay,
    shift_out_of_quiet_hours,
)

NIGHT = {"start": time(21, 0), "end": time(8, 0)}


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (paris(2026, 6, 10, 20, 59), paris(2026, 6, 10, 20, 59)),
        (paris(2026, 6, 10, 21, 0), paris(2026, 6, 11, 8, 0)),
        (paris(2026, 6, 10, 23, 30), paris(2026, 6, 11, 8, 0)),
        (paris(2026, 6, 11, 0, 15), paris(2026, 6, 11, 8, 0)),
        (paris(2026, 6, 11, 7, 59), paris(2026, 6, 11, 8, 0)),
        (paris(2026, 6, 11, 8, 0), paris(2026, 6, 11, 8, 0)),
        (paris(2026, 6, 11, 14, 0), paris(2026, 6, 11, 14, 0)),
    ],
)
def test_a_message_due_in_the_night_waits_for_the_morning(due, expected):
    assert shift_out_of_quiet_hours(due, **NIGHT) == expected


def test_quiet_hours_are_read_on_the_paris_clock_whatever_the_input_zone():
    due = datetime(2026, 1, 15, 21, 30, tzinfo=UTC)  # 22:30 in Paris (winter)

    shifted = shift_out_of_quiet_hours(due, **NIGHT)

    assert shifted == paris(2026, 1, 16, 8, 0)
    assert shifted.astimezone(UTC) == datetime(2026, 1, 16, 7, 0, tzinfo=UTC)


def test_the_morning_after_clocks_go_forward_is_eight_o_clock_summer_time():
    # Clocks go from 02:00 to 03:00 on Sunday 29 March 2026.
    due = paris(2026, 3, 28, 23, 0)

    shifted = shift_out_of_quiet_hours(due, **NIGHT)

    assert shifted.astimezone(UTC) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert shifted.astimezone(PARIS).hour == 8


def test_the_morning_after_clocks_go_back_is_eight_o_clock_winter_time():
    # Clocks go from 03:00 back to 02:00 on Sunday 25 October 2026.
    due = paris(2026, 10, 24, 22, 0)

    shifted = shift_out_of_quiet_hours(due, **NIGHT)

    assert shifted.astimezone(UTC) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_an_end_of_quiet_hours_that_does_not_exist_moves_past_the_gap():
    due = paris(2026, 3, 29, 1, 0)

    shifted = shift_out_of_quiet_hours(due, start=time(0, 0), end=time(2, 30))

    assert shifted.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (shifted.astimezone(PARIS).hour, shifted.astimezone(PARIS).minute) == (
        3,
        30,
    )


def test_quiet_hours_within_a_day_end_the_same_day():
    lunch = {"start": time(12, 0), "end": time(14, 0)}

    assert shift_out_of_quiet_hours(paris(2026, 6, 10, 12, 30), **lunch) == paris(
        2026, 6, 10, 14, 0
    )
    assert shift_out_of_quiet_hours(paris(2026, 6, 10, 11, 0), **lunch) == paris(
        2026, 6, 10, 11, 0
    )


@pytest.mark.parametrize(
    ("start", "end"), [(None, None), (time(8, 0), None), (time(9, 0), time(9, 0))]
)
def test_without_quiet_hours_nothing_moves(start, end):
    due = paris(2026, 6, 10, 3, 0)

    assert shift_out_of_quiet_hours(due, start=start, end=end) == due


def test_a_naive_due_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        shift_out_of_quiet_hours(datetime(2026, 6, 10, 22, 0), **NIGHT)  # noqa: DTZ001


def test_retry_delays_double_then_stop_growing():
    delays = [
        retry_delay(attempt=n, key="k", base_seconds=60, max_seconds=600)
        for n in range(1, 7)
    ]
    spread = delays[0] / timedelta(seconds=60)

    assert 1 <= spread <= 1.25
    assert [d / delays[0] for d in delays[:4]] == pytest.approx([1, 2, 4, 8])
    assert delays[4] == delays[5]
    assert delays[4] / timedelta(seconds=600) == pytest.approx(spread)


def test_retry_delays_are_spread_across_messages_but_stable_for_one():
    first = retry_delay(attempt=1, key="a:1:sms", base_seconds=60, max_seconds=600)

    assert first == retry_delay(
        attempt=1, key="a:1:sms", base_seconds=60, max_seconds=600
    )
    assert (
        len(
            {
                retry_delay(
                    attempt=1, key=f"a:{n}:sms", base_seconds=60, max_seconds=600
                )
                for n in range(20)
            }
        )
        > 15
    )
