"""The one place where typed core results become words for people (CLI and GUI alike)."""

from __future__ import annotations

from ccdesk.core.alerts import Alert, LevelRule
from ccdesk.core.formatting import format_duration, format_price
from ccdesk.core.stream import Reason, State, Status

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
