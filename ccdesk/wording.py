"""The one place where typed core results become words for people (CLI and GUI alike)."""

from __future__ import annotations

import time

from ccdesk.core.alerts import Alert, LevelRule
from ccdesk.core.api_key import ENV_API_KEY, KeyProblem, KeySource, KeyState, SaveState
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason
from ccdesk.core.events import Reason, State, Status
from ccdesk.core.formatting import format_age, format_duration, format_price
from ccdesk.core.key_check import KeyCheck, KeyStatus
from ccdesk.core.quotes import Quote

_REASONS = {
    Reason.STARTING: "starting",
    Reason.WELCOMED: "receiving prices",
    Reason.CONNECT_FAILED: "could not connect",
    Reason.CONNECTION_LOST: "connection lost",
    Reason.CLOSED_BY_SERVER: "the server closed the connection",
    Reason.FORCE_DISCONNECT: "the server asked us to reconnect",
    Reason.NO_WELCOME: "the server did not greet us",
    Reason.SILENCE: "nothing received for too long",
    Reason.PONG_TIMEOUT: "the connection stopped answering",
    Reason.CLOCK_JUMP: "the system clock jumped (sleep/resume?)",
    Reason.RECONNECT_REQUESTED: "reconnecting as requested",
    Reason.UNAUTHORIZED: "the API key was rejected",
    Reason.TOO_MANY_SOCKETS: "another connection uses this key (is ccdesk already running elsewhere?)",
    Reason.OPENING_TOO_FAST: "too many connections opened recently",
    Reason.STOP_REQUESTED: "stopped",
}

_STATES = {
    State.CONNECTING: "Connecting",
    State.CONNECTED: "Live",
    State.RECONNECTING: "Reconnecting",
    State.STALE: "Connection stale",
    State.AUTH_FAILED: "API key rejected",
    State.RATE_LIMITED: "Rate limited",
    State.STOPPED: "Stopped",
}


def reason_words(status: Status) -> str:
    """Why the state changed, in words: ``connection lost (refused)``."""
    text = _REASONS[status.reason]
    if status.detail and status.reason in (Reason.CONNECT_FAILED, Reason.CONNECTION_LOST):
        text += f" ({status.detail})"
    return text


def status_words(status: Status, retry_in_s: float | None = None) -> str:
    """A one-line status: ``reconnecting: connection lost; retrying in 5 s``.

    ``retry_in_s`` overrides the status's own countdown (for a ticking display)."""
    text = f"{status.state.value}: {reason_words(status)}"
    retry = status.retry_in_s if retry_in_s is None else retry_in_s
    if retry is not None:
        text += f"; retrying in {format_duration(retry)}"
    return text


def state_title(state: State) -> str:
    """A short title for a state: ``Live``, ``Reconnecting``..."""
    return _STATES[state]


def alert_title(alert: Alert) -> str:
    """``BTC/USD up 1.3 % in 5 min`` or ``BTC/USD above 95,000.00``."""
    if isinstance(alert.rule, LevelRule):
        side = "above" if alert.rule.above else "below"
        return f"{alert.sub.label} {side} {format_price(alert.rule.level)}"
    move = f"{abs(alert.change_pct):.1f} %"
    # How long the move really took says more than the rule's window (a 2 % drop in 15 s is news).
    took = alert.elapsed_s if alert.elapsed_s > 0 else alert.window_s
    return f"{alert.sub.label} {alert.direction.value} {move} in {format_duration(max(1.0, took))}"


def alert_body(alert: Alert) -> str:
    """``91,000.00 → 92,183.00 (+1.30 %)``."""
    return f"{format_price(alert.from_price)} → {format_price(alert.to_price)} ({alert.change_pct:+.2f} %)"


# --- the window -----------------------------------------------------------------------------------


def window_title(pinned: Quote | None) -> str:
    """``ccdesk — BTC/USD 91,230.12``: the window title follows the pinned pair's price."""
    if pinned is None or pinned.price is None:
        return "ccdesk"
    return f"ccdesk — {pinned.sub.pair} {format_price(pinned.price)}"


# --- the window's status line ---------------------------------------------------------------------

ACTIVITY_RECENT_S = 60.0
"""Below this age the status line says "under a minute ago": heartbeats come every 30 s on a healthy
socket, so seconds would only flicker; the exact age appears once nothing has come for a minute."""


def status_line_text(status: Status, retry_in_s: float | None = None) -> str:
    """The status line: ``Live``, or ``Reconnecting — connection lost; retrying in 5 s``."""
    state = status.state
    if state is State.CONNECTED:
        return state_title(state)
    text = f"{state_title(state)} — {reason_words(status)}"
    retry = status.retry_in_s if retry_in_s is None else retry_in_s
    if retry is not None and state in (State.RECONNECTING, State.RATE_LIMITED):
        text += f"; retrying in {format_duration(retry)}"
    return text


def activity_text(age_s: float | None) -> str:
    """How long ago the socket last delivered something: ``last message under a minute ago``."""
    if age_s is None:
        return ""
    if age_s < ACTIVITY_RECENT_S:
        return "last message under a minute ago"
    return f"last message {format_age(age_s)}"


# --- the API key ----------------------------------------------------------------------------------


def key_note(state: KeyState) -> str:
    """What the settings dialog says about the key in use: ``Using the key abcd… from the keyring.``"""
    key = state.key
    if key is None:
        if state.problem is KeyProblem.UNREADABLE:
            return f"Keyring unavailable: {state.detail}"
        if state.problem is KeyProblem.MALFORMED:
            return f"The key could not be used: {state.detail}"
        return "No API key yet"
    masked = key.masked()
    if state.save is SaveState.SAVING:
        return f"Using the key {masked} (saving to the keyring…)"
    if state.save is SaveState.FAILED:
        return f"Using the key {masked} for this session only: {state.detail}"
    if state.save is SaveState.SAVED:
        return f"The key {masked} is stored in the keyring."
    where = f"the {ENV_API_KEY} variable" if state.source is KeySource.ENV else "the keyring"
    return f"Using the key {masked} from {where}."


def key_problem_text(state: KeyState) -> str | None:
    """The status line's words for a key problem, or None when there is none."""
    problem = state.problem
    if problem is KeyProblem.MISSING:
        return "No API key yet: add one in the settings, or try the demo."
    if problem is KeyProblem.UNREADABLE:
        return f"The keyring could not be read: {state.detail}"
    if problem is KeyProblem.MALFORMED:
        return f"The key could not be used: {state.detail}"
    if problem is KeyProblem.REJECTED:
        return "The API key was rejected by the server."
    return None


def key_not_saved_text(state: KeyState) -> str:
    """The banner after an entered key could not be saved to the keyring."""
    return (
        f"The API key could not be saved to the keyring ({state.detail}). "
        "It is used for this session only; nothing was written to disk."
    )


# --- the alert history ----------------------------------------------------------------------------

_CHANNEL_WORDS = {
    DeliveryChannel.DESKTOP: "notified",
    DeliveryChannel.TRAY: "shown by the tray",
    DeliveryChannel.BANNER: "shown in the window",
    DeliveryChannel.NONE: "not delivered",
}


def not_shown_words(reason: NotShownReason, detail: str | None) -> str:
    """Why the desktop notification was not used, in plain words."""
    if reason is NotShownReason.NO_BACKEND:
        return "no desktop notification backend is available (plyer has none here)"
    if reason is NotShownReason.SERVICE_UNAVAILABLE:
        return f"desktop notifications are unavailable: {detail}"
    if reason is NotShownReason.SERVICE_STUCK:
        return "the desktop notification service is not answering"
    if reason is NotShownReason.SHUTTING_DOWN:
        return "not shown: ccdesk is shutting down"
    return f"the desktop notification failed ({detail})"


def delivery_words(delivery: Delivery) -> str:
    """``notified; webhook sent``: where an alert went."""
    text = _CHANNEL_WORDS[delivery.channel]
    webhook = delivery.webhook
    if webhook is not None and not webhook.ok:
        text += f"; webhook failed: {webhook.error}"
    elif webhook is not None:
        text += "; webhook sent"
    return text


def history_line(alert: Alert, paused: bool, delivery: Delivery | None) -> str:
    """One history row: ``14:03:07  BTC/USD up 2.1 % in 40 s  ·  91,000.00 → 92,911.00 (+2.10 %)  ·
    notified``."""
    clock_time = time.strftime("%H:%M:%S", time.localtime(alert.at))
    if paused:
        outcome = "paused, not shown"
    elif delivery is None:
        outcome = "delivering…"
    else:
        outcome = delivery_words(delivery)
    return f"{clock_time}  {alert_title(alert)}  ·  {alert_body(alert)}  ·  {outcome}"


def history_tooltip(delivery: Delivery | None) -> str | None:
    """Why a delivery fell back from the desktop notification, if it did."""
    if delivery is None or delivery.not_shown is None:
        return None
    return not_shown_words(delivery.not_shown, delivery.detail)


def describe_key_check(result: KeyCheck | Exception) -> tuple[str, bool]:
    """A Verify outcome for the settings dialog: the words, and whether the key works."""
    if isinstance(result, Exception):
        return f"The check could not run: {result}", False
    return key_check_words(result), result.ok


def key_check_words(check: KeyCheck) -> str:
    """A :class:`KeyCheck` in plain words for the user (CLI, dialogs).

    Args:
        check: Any outcome.

    Returns:
        One or two sentences saying what happened and what to do. Never contains the key
        (``KeyCheck`` never holds it).
    """
    said = f' The server said: "{check.server_message}"' if check.server_message else ""
    status = check.status
    if status is KeyStatus.VALID:
        return "The API key works: CryptoCompare accepted it and answered."
    if status is KeyStatus.INVALID_KEY:
        return (
            "CryptoCompare refused the API key. Check that it was copied completely, that it is "
            f"still active in your account, and that it may read price data.{said}"
        )
    if status is KeyStatus.RATE_LIMITED:
        exhausted = [p for p in check.rate_limit if p.exhausted]
        if exhausted:
            usage = ", ".join(f"{p.period}: {p.calls_made} of {p.max_calls} calls" for p in exhausted)
            return f"The API key is over its rate limit ({usage}). Wait for the limit to reset and try again."
        return "The API key is over its rate limit. Wait a while and try again."
    if status is KeyStatus.BAD_REQUEST:
        param = f" (parameter {check.param_with_error})" if check.param_with_error else ""
        return f"CryptoCompare rejected the request{param}; the key itself was not the problem.{said}"
    if status is KeyStatus.TIMEOUT:
        return "The server did not answer in time. Check your internet connection and try again."
    if status is KeyStatus.DNS_FAILURE:
        return (
            "The server's name could not be found (DNS lookup failed). "
            "Check that you are online and that your DNS settings work."
        )
    if status is KeyStatus.CONNECTION_FAILED:
        return (
            "Could not connect to the server: the connection was refused or dropped. "
            "Check your internet connection, firewall or proxy settings."
        )
    if status is KeyStatus.TLS_ERROR:
        return (
            "A secure connection to the server could not be set up: its certificate was not trusted "
            "or the TLS handshake failed. A proxy or antivirus that inspects HTTPS traffic can cause this."
        )
    http = f" (HTTP {check.http_status})" if check.http_status is not None else ""
    return (
        f"The server sent an answer ccdesk does not understand{http}. "
        f"The service may be having problems; try again later.{said}"
    )
