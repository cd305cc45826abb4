"""The address guard and feed health, as pure functions."""

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.guard import (
    BlockedAddress,
    allowed_addresses,
    blocked_reason,
    exempt,
    resolve_checked,
)
from pipeline.health import DISABLE_AFTER, MAX_RETRY_AFTER, after_fetch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
        ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("100.64.0.1", "shared"), ("100.127.255.254", "shared"),
        ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"), ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"), ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b:1::a00:1", "private"), ("2002:a9fe:a9fe::1", "link-local"),
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None and kind in reason


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"],
)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_literal_addresses_are_checked_without_connecting() -> None:
    with pytest.raises(BlockedAddress, match="link-local"):
        resolve_checked("169.254.169.254", 80, allow_private=False)
    with pytest.raises(BlockedAddress, match="loopback"):
        resolve_checked("localhost", 80, allow_private=False)
    assert str(resolve_checked("127.0.0.1", 80, allow_private=True).address) == "127.0.0.1"


def test_success_schedules_the_interval_and_resets_failures() -> None:
    health = after_fetch("ok", None, failures_before=3, interval=HOUR, now=NOW)
    assert (health.next_check_at, health.consecutive_failures, health.disabled_reason) == (
        NOW + HOUR,
        0,
        None,
    )


def test_temporary_failures_back_off_exponentially_with_a_cap() -> None:
    delays = [
        after_fetch("timeout", "t", failures_before=n, interval=HOUR, now=NOW).next_check_at - NOW
        for n in range(6)
    ]
    assert delays[:5] == [HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR]
    assert delays[5] == 12 * HOUR


@pytest.mark.parametrize(("asked", "waits"), [(3600, HOUR), (30 * 86400, MAX_RETRY_AFTER)])
def test_retry_after_is_honoured_up_to_a_cap(asked: int, waits: timedelta) -> None:
    health = after_fetch(
        "rate_limited",
        "429",
        failures_before=0,
        interval=timedelta(minutes=5),
        now=NOW,
        retry_after=asked,
    )
    assert health.next_check_at == NOW + waits
    assert (health.note is not None) == (waits == MAX_RETRY_AFTER)
    assert health.note is None or "capped" in health.note


def test_gone_disables_at_once_and_permanent_errors_after_repeats() -> None:
    assert after_fetch(
        "gone", "HTTP 410", failures_before=0, interval=HOUR, now=NOW
    ).disabled_reason.startswith("the feed is gone")
    for failures in range(DISABLE_AFTER - 1):
        assert (
            after_fetch(
                "not_found",
                "404",
                failures_before=failures,
                permanent_before=failures,
                interval=HOUR,
                now=NOW,
            ).disabled_reason
            is None
        )
    last = after_fetch(
        "not_found",
        "404",
        failures_before=DISABLE_AFTER - 1,
        permanent_before=DISABLE_AFTER - 1,
        interval=HOUR,
        now=NOW,
    )
    assert last.disabled_reason == f"{DISABLE_AFTER} permanent errors in a row: 404"
    assert (
        after_fetch("timeout", "t", failures_before=50, interval=HOUR, now=NOW).disabled_reason
        is None
    )


def test_adaptive_feeds_poll_faster_while_active() -> None:
    active = after_fetch(
        "ok", None, failures_before=0, interval=HOUR, now=NOW, new_entries=3, adaptive=True
    )
    quiet = after_fetch(
        "ok", None, failures_before=0, interval=HOUR, now=NOW, new_entries=0, adaptive=True
    )
    plain = after_fetch(
        "ok", None, failures_before=0, interval=HOUR, now=NOW, new_entries=3, adaptive=False
    )
    assert (
        active.next_check_at == NOW + HOUR / 4
        and quiet.next_check_at == plain.next_check_at == NOW + HOUR
    )


def test_timeouts_then_one_404_do_not_disable_a_feed() -> None:
    """Item 4: permanent errors in a row are counted, not failures."""
    failures = permanent = 0
    for outcome in ["timeout"] * 4 + ["not_found"]:
        health = after_fetch(
            outcome,
            outcome,
            failures_before=failures,
            permanent_before=permanent,
            interval=HOUR,
            now=NOW,
        )
        failures, permanent = health.consecutive_failures, health.permanent_failures
    assert health.disabled_reason is None and (failures, permanent) == (5, 1)
    interrupted = after_fetch(
        "timeout", "t", failures_before=4, permanent_before=4, interval=HOUR, now=NOW
    )
    assert interrupted.permanent_failures == 0


def test_redirect_loop_is_permanent() -> None:
    health = after_fetch(
        "redirect_loop", "loop", failures_before=4, permanent_before=4, interval=HOUR, now=NOW
    )
    assert health.disabled_reason is not None


def test_guard_decisions_at_connection_time() -> None:
    """Item 2, as pure functions: refused addresses are skipped, the rest tried in order."""
    public, private = ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")
    loop = ipaddress.ip_address("127.0.0.1")
    assert allowed_addresses("mixed.test", [private, public], exempt=False) == [public]
    with pytest.raises(BlockedAddress, match="private"):
        allowed_addresses("intranet.test", [private], exempt=False)
    assert allowed_addresses("intranet.test", [private, loop], exempt=True) == [private, loop]
    hosts = frozenset({"feeds.intranet:8080", "[::1]:8443"})
    assert exempt("FEEDS.intranet", 8080, allow_private=False, allow_hosts=hosts)
    assert not exempt("feeds.intranet", 443, allow_private=False, allow_hosts=hosts)
    assert exempt("::1", 8443, allow_private=False, allow_hosts=hosts)
    assert exempt("any.test", 1, allow_private=True, allow_hosts=frozenset())
