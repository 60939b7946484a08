"""Words for people: every sentence the CLI and the GUI show that comes from a typed result.

Core returns types (states, reasons, checks, deliveries, rules); this module turns them into text,
so the same thing is said the same way everywhere. It is import-light on purpose (no network stack,
no keyring): the window's first paint uses it. Validation errors that name the bad input
(``PairError``, ``RuleError``, ``UrlError``...) carry their own message where they are raised.
"""

from __future__ import annotations

import datetime
import html
import math
import time
from collections.abc import Sequence

from ccdesk.core.alerts import (
    MAX_DURATION_S,
    MAX_LEVEL,
    MAX_PCT,
    MIN_PCT,
    Alert,
    LevelRule,
    MoveDirection,
    MoveRule,
    Rule,
    RuleState,
    StepRule,
    rule_state,
)
from ccdesk.core.api_key import KeyProblem, KeyProvider, KeySource, KeyState, SaveState
from ccdesk.core.connections import Connections
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason, WebhookFailure, WebhookResult
from ccdesk.core.events import NoticeKind, Reason, ServerNotice, State, Status, SubRejected
from ccdesk.core.export import PERIOD_NAMES, ExportError
from ccdesk.core.formatting import (
    change_arrow,
    change_sign,
    format_age,
    format_amount,
    format_duration,
    format_pct,
    format_price,
    format_prices_apart,
    format_signed_amount,
)
from ccdesk.core.freshness import Freshness
from ccdesk.core.holdings import Total, cost_basis_problem, quantity_problem
from ccdesk.core.key_check import KeyCheck, KeyStatus
from ccdesk.core.notify_rate import MAX_PER_MINUTE
from ccdesk.core.pairs import KEYLESS, SOURCE_TITLES, Pair, Source
from ccdesk.core.quotes import Quote
from ccdesk.core.settings_codec import SettingsFault, SettingsFileProblem, SettingsProblem
from ccdesk.core.store import ReadProblem, StoredAlert, StoreProblem, StoreReadError, StoreStatus
from ccdesk.core.wire import Refusal

_REASONS = {
    Reason.STARTING: "starting",
    Reason.WELCOMED: "receiving prices",
    Reason.CONNECT_FAILED: "could not connect",
    Reason.CONNECTION_LOST: "connection lost",
    Reason.CLOSED_BY_SERVER: "the server closed the connection",
    Reason.FORCE_DISCONNECT: "the server asked us to reconnect",
    Reason.NO_WELCOME: "the server did not greet us",
    Reason.SILENCE: "no prices or heartbeats for too long",
    Reason.PONG_TIMEOUT: "the connection stopped answering",
    Reason.CLOCK_JUMP: "the system clock jumped (sleep/resume?)",
    Reason.RECONNECT_REQUESTED: "reconnecting as requested",
    Reason.UNAUTHORIZED: "the API key was rejected",
    Reason.TOO_MANY_SOCKETS: "another connection uses this key (is ccdesk already running elsewhere?)",
    Reason.OPENING_TOO_FAST: "too many connections opened recently",
    Reason.STOP_REQUESTED: "stopped",
    Reason.INTERNAL_ERROR: "an internal error ended the connection (it was logged)",
    Reason.PROTOCOL_ERROR: "the server broke the WebSocket protocol",
    Reason.MESSAGE_TOO_BIG: "the server sent a message far too large",
    Reason.FORBIDDEN: "access was refused on the way (HTTP 403: a proxy or firewall?)",
    Reason.REDIRECTED: "the server redirected to another address, which is not followed",
    Reason.NOT_WEBSOCKET: "something else answered (a Wi-Fi login page or a proxy?)",
    Reason.GEO_BLOCKED: "the service is not available in your region",
    Reason.ROTATED: "a planned reconnect",
    Reason.SERVER_BACK_OFF: "the server asked us to back off for a while",
    Reason.INSECURE_URL: "the endpoint is not encrypted (ws://), so the API key is not sent there",
    Reason.NO_KEY: "no API key",
    Reason.WAITING_FOR_KEY: "reading the API key",
}

# The detail adds something the words do not say: the failure kind, or where a redirect pointed.
_REASONS_WITH_DETAIL = frozenset({Reason.CONNECT_FAILED, Reason.CONNECTION_LOST, Reason.REDIRECTED})

_STATES = {
    State.CONNECTING: "Connecting",
    State.CONNECTED: "Live",
    State.RECONNECTING: "Reconnecting",
    State.STALE: "Connection stale",
    State.AUTH_FAILED: "API key rejected",
    State.RATE_LIMITED: "Rate limited",
    State.BLOCKED: "Not available here",
    State.STOPPED: "Stopped",
}


_NEEDS_THE_USER = frozenset({Reason.NO_KEY, Reason.UNAUTHORIZED, Reason.INSECURE_URL})


def blocked_reasons(connections: Connections) -> dict[Source, str]:
    """The sources in use that cannot stream until the user acts (a key to add or replace, an
    endpoint to fix), with why in a few words: their rows say it where a price would be."""
    statuses = connections.statuses
    return {src: _REASONS[st.reason] for src, st in statuses.items() if st.reason in _NEEDS_THE_USER}


def reason_words(status: Status) -> str:
    """Why the state changed, in words: ``connection lost (refused)``."""
    text = _REASONS[status.reason]
    if status.detail and status.reason in _REASONS_WITH_DETAIL:
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


def alert_pair_words(pair: Pair) -> str:
    """A pair in alert words, as the window's pair column names it: ``BTC/USDT · Binance`` (``pair_label``,
    the one name every view uses)."""
    return pair_label(pair)


def alert_title(alert: Alert) -> str:
    """``BTC/USD · Kraken up 1.3 % in 5 min``, ``BTC/USD · Kraken above 95,000.00`` or ``ETH/USD ·
    Coinbase up a further 2.1 %``; ``Demo: ...`` on simulated prices."""
    demo = "Demo: " if alert.simulated else ""
    who = alert_pair_words(alert.sub)
    if isinstance(alert.rule, LevelRule):
        side = "above" if alert.rule.above else "below"
        return f"{demo}{who} {side} {format_price(alert.rule.level)}"
    move = (
        f"{abs(alert.change_pct):.1f} %" if abs(alert.change_pct) >= 0.1 else f"{abs(alert.change_pct):.2g} %"
    )
    if isinstance(alert.rule, StepRule):
        return f"{demo}{who} {alert.direction.value} a further {move}"
    # How long the move really took says more than the rule's window (a 2 % drop in 15 s is news).
    took = alert.elapsed_s if alert.elapsed_s > 0 else alert.window_s
    return f"{demo}{who} {alert.direction.value} {move} in {format_duration(max(1.0, took))}"


def alert_body(alert: Alert) -> str:
    """``91,000.00 → 92,183.00 (+1.30 %)``, and ``simulated prices`` in the demo. The prices get
    the decimals it takes to tell them apart (``0.15902 → 0.15897``, never ``0.1590 → 0.1590``)."""
    before, after = format_prices_apart(alert.from_price, alert.to_price)
    text = f"{before} → {after} ({alert.change_pct:+.2f} %)"
    return f"{text} · simulated prices" if alert.simulated else text


# --- the window -----------------------------------------------------------------------------------

NO_TRAY_TEXT = "No system tray was found: ccdesk runs in this window only."

# --- the welcome and the empty window: the same three choices ------------------------------------

KEYLESS_BUTTON_TEXT = "&Watch without a key"
KEY_BUTTON_TEXT = "&Use my CoinDesk / CryptoCompare key…"
DEMO_BUTTON_TEXT = "Try the &demo (simulated)"

WELCOME_FIRST_RUN_TEXT = (
    "The prices in the window are <b>live now</b>, from <b>Kraken</b>'s public feed: no key, no "
    "sign-up. In Settings → Watchlist add pairs from Kraken, Coinbase, Binance or OKX, or a "
    "<i>composite</i> of them (the median of their prices, so one venue's glitch moves nothing)."
    "<br><br>Have a paid <b>CoinDesk Data</b> or <b>CryptoCompare</b> key? Use it for their index "
    "prices. Or look around with the demo: simulated prices, labelled as such, no network needed."
)


def _names(titles: Sequence[str]) -> str:
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"


def welcome_key_needed_text(titles: Sequence[str]) -> str:
    """The welcome when the watchlist needs a key that is not there (``titles``: its sources)."""
    return (
        f"Some of your pairs come from <b>{_names(titles)}</b>, which need{'s' if len(titles) == 1 else ''} "
        "a paid API key, and none is set (CryptoCompare ended its free tier on 21 May 2026)."
        "<br><br>Watch the same coins from keyless sources instead (an index becomes the composite "
        "of Kraken, Coinbase, Binance and OKX), use your key, or try the demo."
    )


EMPTY_WATCHLIST_TEXT = (
    "No pairs to watch.\nWatch BTC, ETH, SOL, XRP and DOGE from Kraken without a key, use your key, "
    "or try the demo."
)


def empty_needs_key_text(titles: Sequence[str]) -> str:
    """The empty window when every pair needs a key that is not there."""
    return (
        f"Your pairs come from {_names(titles)}, which need a paid API key, and none is set.\n"
        "Watch the same coins without a key, use your key, or try the demo."
    )


KEY_SAVED_IN_DEMO_TEXT = (
    "Your key is saved. You are still watching the demo's simulated prices: press "
    "<b>Leave the demo</b> below for real ones."
)


def store_problem_text(status: StoreStatus) -> str:
    """The banner for a problem with the history file (alerts, price history and holdings: say all
    three, since a new file starts without the holdings the user typed)."""
    if status.problem is StoreProblem.MOVED_ASIDE:
        return (
            "The history file (alerts, price history and holdings) could not be read; it was kept as "
            f"{status.detail} and a new one was started."
        )
    if status.problem is StoreProblem.NEWER_SCHEMA:
        return (
            "The history file (alerts, price history and holdings) was written by a newer ccdesk; it is "
            "left as it is and not used now."
        )
    return (
        "Alerts, price history and holdings are not being kept: the data folder cannot be written "
        f"({status.detail})."
    )


def startup_failed_text(error: Exception) -> str:
    """The one message when the app cannot finish starting (a broken install, a missing library)."""
    detail = str(error).strip() or type(error).__name__
    return (
        f"ccdesk could not start: {detail}\n\n"
        "Reinstalling ccdesk usually fixes this. To see the details, run `ccdesk -v` in a terminal."
    )


def demo_failed_text(error: Exception) -> str:
    return f"The demo simulator could not start: {error}"


def autostart_failed_text(error: Exception) -> str:
    return f"Start at login could not be changed: {error}"


def settings_problems_text(problems: Sequence[SettingsProblem]) -> str:
    """The banner after settings that could not be read fell back to their defaults, and alert
    rules below the minimums were raised to them (said rule by rule)."""
    parts = []
    reset = sorted({p.key for p in problems if not p.corrected})
    if reset:
        parts.append(f"Some settings were invalid and were reset to their defaults: {', '.join(reset)}.")
    raised = [p.reason for p in problems if p.corrected]
    if raised:
        parts.append(
            "Alert rules below the minimums (they would flood you with notifications) were raised "
            f"to them: {'; '.join(raised)}."
        )
    return " ".join(parts)


def window_title(pinned: Quote | None, fresh: bool, *, demo: bool = False) -> str:
    """``ccdesk — BTC/USD 91,230.12``: the window title follows the pinned pair's price, marked
    ``(stale)`` when the freshness rule says it is not live; ``ccdesk demo — ... (simulated)`` in
    the demo."""
    name = "ccdesk demo" if demo else "ccdesk"
    if pinned is None or pinned.price is None:
        return name
    text = f"{name} — {pinned.sub.pair} {format_price(pinned.price)}"
    if demo:
        text += " (simulated)"
    return text + ("" if fresh else " (stale)")


# --- the window's status line ---------------------------------------------------------------------


def refusal_words(rejected: SubRejected) -> str:
    """Why a pair shows no price, in plain words (the server's own words after them):
    ``not available: Kraken does not list ABC/USD (Currency pair not supported ABC/USD)``."""
    pair = rejected.sub
    title = SOURCE_TITLES[pair.source]
    if pair.source is Source.COMPOSITE:
        return f"not available: none of the venues it draws on lists {pair.pair}"
    refusal = rejected.refusal
    if refusal is Refusal.UNKNOWN_COIN:
        text = f"{title} does not know the coin {pair.base} or {pair.quote}"
    elif refusal is Refusal.UNKNOWN_EXCHANGE:
        text = f"{title} does not know the exchange {pair.market}"
    elif refusal is Refusal.SILENT:
        text = f"{title} accepted {pair.pair} but sends no price for it (does {title} list it?)"
    elif refusal is Refusal.NOT_LISTED:
        where = f"{pair.market} on {title}" if pair.source is Source.CRYPTOCOMPARE else title
        text = f"{where} does not list {pair.pair}"
    else:
        text = f"{title} refused {pair.pair}"
    info = f" ({rejected.info})" if rejected.info else ""
    return f"not available: {text}{info}"


def nothing_to_stream_words(pairs: Sequence[Pair]) -> str:
    """Why ``ccdesk stream`` ended before its count or duration, once every pair asked for was
    refused or its source stopped: ``nothing left to stream: none of the pairs asked for is
    available (kraken:FOO-BAR)``."""
    return f"nothing left to stream: none of the pairs asked for is available ({', '.join(map(str, pairs))})"


def notice_words(notice: ServerNotice) -> str:
    """A server notice in plain words: ``The server refused some pairs: this key may stream at most 300
    pairs at once.``"""
    if notice.kind is NoticeKind.TOO_MANY_SUBSCRIPTIONS:
        most = f"at most {notice.limit} pairs at once" if notice.limit is not None else "fewer pairs"
        return f"The server refused some pairs: this key may stream {most}."
    if notice.kind is NoticeKind.KEY_REFUSED:
        return "The server refused the API key; prices still come, at the limits for callers without a key."
    if notice.kind is NoticeKind.LIMIT:
        return f"The server says a limit was reached ({notice.message})."
    return f"The server did not accept a request ({notice.message})."


def over_limit_words(notice: ServerNotice) -> str:
    """Why a row got no data after a subscription-limit notice (its tooltip)."""
    most = f" ({notice.limit} pairs at once)" if notice.limit is not None else ""
    return f"not available: over this key's subscription limit{most}"


def status_line_text(status: Status, retry_in_s: float | None = None) -> str:
    """The status line: ``Live``, or ``Reconnecting — connection lost; retrying in 5 s``."""
    state = status.state
    if state is State.CONNECTED:
        return state_title(state)
    text = f"{state_title(state)} — {reason_words(status)}"
    retry = status.retry_in_s if retry_in_s is None else retry_in_s
    if retry is not None and state in (State.RECONNECTING, State.RATE_LIMITED, State.BLOCKED):
        text += f"; retrying in {format_duration(retry)}"
    return text


_COUNTDOWN_STATES = frozenset({State.RECONNECTING, State.RATE_LIMITED, State.BLOCKED})


def _retry_in(status: Status, now: float | None) -> float | None:
    if now is not None and status.retry_at is not None:
        return max(0.0, status.retry_at - now)
    return status.retry_in_s


def source_status_text(source: Source, status: Status, now: float | None = None) -> str:
    """One source's state, short: ``Kraken live``, ``Coinbase connecting…``, ``Binance: the
    service is not available in your region; retrying in 1 h``, ``CoinDesk: no API key...``."""
    title = SOURCE_TITLES[source]
    state = status.state
    if state is State.CONNECTED:
        return f"{title} live"
    if state is State.CONNECTING and status.reason in (Reason.STARTING, Reason.WELCOMED):
        return f"{title} connecting…"
    text = f"{title}: {reason_words(status)}"
    retry = _retry_in(status, now)
    if retry is not None and state in _COUNTDOWN_STATES:
        text += f"; retrying in {format_duration(retry)}"
    return text


def connections_text(connections: Connections, now: float | None = None, *, demo: bool = False) -> str:
    """Every source's state in one line, for the status line and the tray tooltip:
    ``Kraken live · CoinDesk: the API key was rejected``. With one source that is not live, its
    state in full (``Kraken: Reconnecting — connection lost; retrying in 5 s``). ``demo``: the
    prices are the simulator's, and the line says so first."""
    parts = [source_status_text(source, status, now) for source, status in connections]
    if len(connections) == 1:
        ((source, status),) = connections
        if status.state not in (State.CONNECTED, State.CONNECTING):
            parts = [f"{SOURCE_TITLES[source]}: {status_line_text(status, _retry_in(status, now))}"]
    text = " · ".join(parts) if parts else "No pairs to watch"
    return f"{DEMO_WORDS} · {text}" if demo else text


DEMO_WORDS = "Demo: simulated prices"
"""Said wherever demo prices appear (status line, tooltip, title, notifications)."""


def activity_text(age_s: float | None, *, connected: bool, stale_after_s: float) -> str:
    """When the newest price came, truthfully: ``updated just now``, ``updated 4 s ago`` while a
    source is connected and its prices are within the stale threshold; ``last price 3 min ago``
    otherwise (no source connected: the state beside it says the outage; or connected but quiet).
    Never "live" or "updated" for a price the table shows as stale. ``age_s``: the newest price's
    age, None before any."""
    if age_s is None:
        return "waiting for prices" if connected else ""
    if not connected or age_s > stale_after_s:
        return f"last price {format_age(age_s)}"
    return "updated just now" if age_s < 1 else f"updated {format_age(age_s)}"


def paused_line_text(until: float) -> str:
    """The window's line while alerts are paused: ``Alerts paused until 14:30``,
    ``Alerts paused until resumed``."""
    return f"Alerts {paused_words(until)}"


CLOSED_TO_TRAY_TITLE = "ccdesk is still running"
CLOSED_TO_TRAY_TEXT = (
    "ccdesk keeps watching prices and raising alerts from the system tray. Click its icon to open "
    "the window again; choose Quit from its menu to stop it."
)
"""Said once, the first time the window is closed to the tray."""

REMOVE_PAIR_QUESTION = "Stop watching {label}?"
REMOVE_PAIR_DETAIL = "Its row and price history go; its alert rules stay. You can add it again in Settings."


# --- the API key ----------------------------------------------------------------------------------


def key_note(state: KeyState) -> str:
    """What the settings dialog says about a provider's key in use.

    CryptoCompare's (the default) as ever: ``Using the key ab…yz from the keyring.`` Another
    provider's names it: ``Using the CoinDesk Data key ab…yz from the CCDESK_COINDESK_API_KEY
    variable.``; a borrowed key says whose it is: ``Using your CryptoCompare key ab…yz from the
    keyring for CoinDesk Data (one account serves both).``
    """
    key = state.key
    provider = state.provider
    if key is None:
        if state.problem is KeyProblem.UNREADABLE:
            return f"Keyring unavailable: {state.detail}"
        if state.problem is KeyProblem.MALFORMED:
            return f"The key could not be used: {state.detail}"
        return "No API key yet" if provider is KeyProvider.CRYPTOCOMPARE else f"No {provider.title} key yet"
    note = _key_in_use_note(state, key.masked())
    if state.problem is KeyProblem.REJECTED:
        return f"{note} {provider.title} refused it when streaming: enter another, or remove it."
    return note


def key_removable(state: KeyState) -> bool:
    """True if the key in use sits in the provider's own keyring entry (so Remove is offered)."""
    if state.key is None or state.shared:
        return False
    return state.source is KeySource.KEYRING or state.save is SaveState.SAVED


def _key_in_use_note(state: KeyState, masked: str) -> str:
    provider = state.provider
    own = "the key" if provider is KeyProvider.CRYPTOCOMPARE else f"the {provider.title} key"
    if state.save is SaveState.SAVING:
        return f"Using {own} {masked} (saving to the keyring…)"
    if state.save is SaveState.FAILED:
        return f"Using {own} {masked} for this session only: {state.detail}"
    if state.save is SaveState.SAVED:
        return f"{own[0].upper()}{own[1:]} {masked} is stored in the keyring."
    env_var = state.env_var
    where = f"the {env_var} variable" if env_var is not None else "the keyring"
    if state.shared:
        return (
            f"Using your {state.owner.title} key {masked} from {where} for {provider.title} "
            "(one account serves both)."
        )
    return f"Using {own} {masked} from {where}."


def key_problem_text(state: KeyState) -> str | None:
    """The status line's words for a provider's key problem, or None when there is none."""
    problem = state.problem
    provider = state.provider
    if problem is KeyProblem.MISSING:
        if provider is KeyProvider.CRYPTOCOMPARE:
            return "No API key yet: add one in the settings, or try the demo."
        others = [p.title for p in provider.key_owners if p is not provider]
        also = f" (your {' or '.join(others)} key works too)" if others else ""
        return (
            f"No {provider.title} key yet: add one in the settings{also}, or pick a source that needs none."
        )
    if problem is KeyProblem.UNREADABLE:
        return f"The keyring could not be read: {(state.detail or 'no detail').rstrip(' .')}."
    if problem is KeyProblem.MALFORMED:
        return f"The key could not be used: {state.detail}"
    if problem is KeyProblem.REJECTED:
        if provider is KeyProvider.CRYPTOCOMPARE:
            return "The API key was rejected by the server."
        if state.shared:
            return (
                f"{provider.title} rejected your {state.owner.title} key; "
                f"add a {provider.title} key in the settings."
            )
        return f"{provider.title} rejected the API key."
    return None


def key_variables_text(provider: KeyProvider) -> str:
    """The environment variables that can hold ``provider``'s key, for hints: ``CCDESK_API_KEY``,
    ``CCDESK_COINDESK_API_KEY (or CCDESK_API_KEY)``."""
    first, *rest = provider.env_vars
    return f"{first} (or {', '.join(rest)})" if rest else first


_KEY_HELP = {
    KeyProvider.CRYPTOCOMPARE: (
        "For CryptoCompare's streamer (the <code>5~CCCAGG~BTC~USD</code> pairs). It is a paid plan "
        "since May 2026; keys are made at {link}."
    ),
    KeyProvider.COINDESK: (
        "For the CoinDesk Data Streamer (<code>coindesk:BTC-USD</code>), a paid plan. Keys are made at "
        "{link}; without one, your CryptoCompare key is tried (one account serves both)."
    ),
}

KEYS_STORED_TEXT = (
    "Keys are kept only in your system keyring, never in a file. Kraken, Coinbase, Binance and OKX "
    "need no key, nor does the demo."
)


def key_help_html(provider: KeyProvider) -> str:
    """The settings' line on what ``provider``'s key is for and where it is made (rich text)."""
    url = provider.keys_url
    host = url.split("/")[2].removeprefix("www.")
    return _KEY_HELP[provider].format(link=f'<a href="{url}">{host}</a>')


def refused_key_confirm_text(provider: KeyProvider) -> str:
    """Under a typed key whose check failed, on the first OK."""
    return f"This key did not pass its check with {provider.title}. Press OK again to store it anyway."


def key_remove_failed_text(provider: KeyProvider, error: Exception) -> str:
    """The banner after a key could not be removed from the keyring."""
    return f"The {provider.title} key could not be removed from the keyring: {error}"


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
    if reason is NotShownReason.RATE_LIMITED:
        return (
            f"not shown: ccdesk shows at most {MAX_PER_MINUTE} notifications a minute, so that a flood of"
            " alerts cannot bury the desktop; this one is kept here"
        )
    return f"the desktop notification failed ({detail})"


def webhook_words(result: WebhookResult) -> str:
    """A webhook POST's outcome: ``the webhook at hooks.example answered HTTP 500 Internal Server Error``."""
    host, reason, failure = result.host, result.reason, result.failure
    if result.ok:
        return f"the webhook at {host} answered HTTP {result.http_status}"
    if failure is WebhookFailure.HTTP_ERROR:
        words = f"the webhook at {host} answered HTTP {result.http_status}" + (f" {reason}" if reason else "")
        if result.http_status is not None and 300 <= result.http_status < 400:
            words += " (a redirect; use the final URL)"
        return words
    if failure is WebhookFailure.TIMEOUT:
        timeout = result.timeout_s or 0.0
        took = f"{timeout:.3g} s" if timeout < 60 else format_duration(timeout)
        return f"the webhook at {host} did not answer within {took}"
    if failure is WebhookFailure.DNS_FAILURE:
        return f"the webhook host {host} could not be found (DNS lookup failed)"
    if failure is WebhookFailure.TLS_ERROR:
        return f"no secure connection to the webhook at {host} (certificate or TLS problem)"
    if failure is WebhookFailure.BAD_URL:
        return reason or "the webhook URL is not usable"
    if failure is WebhookFailure.BAD_PAYLOAD:
        return f"the alert could not be written as JSON ({reason})"
    if failure is WebhookFailure.BACKLOG:
        return "not sent: earlier webhook deliveries are still waiting for an answer"
    if failure is WebhookFailure.FAILED:
        return f"the webhook could not be sent ({reason})"
    return f"could not connect to the webhook at {host} ({reason})"


def delivery_words(delivery: Delivery) -> str:
    """``notified; webhook sent``: where an alert went."""
    text = _CHANNEL_WORDS[delivery.channel]
    if delivery.not_shown is NotShownReason.RATE_LIMITED:
        text = f"not shown (over {MAX_PER_MINUTE} notifications a minute)"
    webhook = delivery.webhook
    if webhook is not None and not webhook.ok:
        text += f"; webhook failed: {webhook_words(webhook)}"
    elif webhook is not None:
        text += "; webhook sent"
    return text


RULE_REARM_BUTTON_TEXT = "Re-&arm"
RULE_MUTE_BUTTON_TEXT = "M&ute"
RULE_NEW_AT_PRICE_BUTTON_TEXT = "New at current &price\u2026"

HISTORY_REARM_RULE_TEXT = "&Re-arm the rule"
HISTORY_EDIT_RULE_TEXT = "&Edit the rule\u2026"
HISTORY_DELETE_RULE_TEXT = "&Delete the rule"
HISTORY_NEW_RULE_TEXT = "&New rule at the current price\u2026"


def history_rule_gone_text() -> str:
    """The history menu's note when the rule that fired an entry has since been deleted or changed."""
    return "The rule that fired this alert no longer exists"


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
    service = check.provider.title
    if status is KeyStatus.VALID:
        return f"The API key works: {service} accepted it and answered."
    if status is KeyStatus.INVALID_KEY:
        return (
            f"{service} refused the API key. Check that it was copied completely, that it is "
            f"still active in your account, and that it may read price data.{said}"
        )
    if status is KeyStatus.NOT_ENTITLED:
        return (
            f"{service} knows the API key but will not serve this data with it: the key's plan does "
            "not include it, or the key lacks the permission. Check the subscription and the key's "
            f"permissions in your account.{said}"
        )
    if status is KeyStatus.RATE_LIMITED:
        exhausted = [p for p in check.rate_limit if p.exhausted]
        if exhausted:
            usage = ", ".join(f"{p.period}: {p.calls_made} of {p.max_calls} calls" for p in exhausted)
            return f"The API key is over its rate limit ({usage}). Wait for the limit to reset and try again."
        return "The API key is over its rate limit. Wait a while and try again."
    if status is KeyStatus.BAD_REQUEST:
        param = f" (parameter {check.param_with_error})" if check.param_with_error else ""
        return f"{service} rejected the request{param}; the key itself was not the problem.{said}"
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


APP_TITLE = "ccdesk"


KEY_PROBLEM_WORDS = "API key missing or not accepted"


MAX_TOOLTIP_PAIRS = 20
"""Tray hosts cut long tooltips; past this many pairs the tooltip says how many more there are."""


def quote_line(quote: Quote, now: float, freshness: Freshness) -> str:
    """One pair for the tooltip: ``BTC/USD · Kraken 91,230.12 ▲ +2.14%`` (``pair_label``, as everywhere).

    The arrow and percentage are the 24 h change (omitted when unknown, e.g. trades); ``(stale)``
    marks a pair that the freshness rule does not call fresh at monotonic ``now``.
    """
    if quote.price is None:
        return f"{pair_label(quote.sub)}: waiting for a price"
    text = f"{pair_label(quote.sub)} {format_price(quote.price)}"
    pct = quote.change_pct_24h
    sign = change_sign(pct)
    if sign is not None:
        # The tray's lines are short: a flat change shows its 0.00% without the window's ■ mark.
        text += f" {change_arrow(pct)} {format_pct(pct)}" if sign else f" {format_pct(pct)}"
    if quote.sub.source is Source.COMPOSITE and quote.basis:
        text += f" · {len(quote.basis)} venue{'s' if len(quote.basis) > 1 else ''}"
    if not freshness.is_fresh(quote, now):
        text += " (stale)"
    return text


def pair_label(pair: Pair) -> str:
    """The one name of a pair that every view shows (window, menus, notifications, tooltips): the
    pair and where its price comes from, ``BTC/USDT · Binance``, ``ETH/USD · CCCAGG``,
    ``BTC/USD · CoinDesk CCIX``, ``BTC/USD · composite``; the portfolio's total in one currency,
    ``Portfolio · USD``."""
    if pair.source is Source.PORTFOLIO:
        return f"Portfolio · {pair.quote}"
    return f"{pair.pair} · {pair.venue}"


def pair_cell_text(pair: Pair, quote: Quote | None) -> str:
    """The window's pair column: ``pair_label`` (``BTC/USD · Kraken``); a composite price shows how
    many venues are behind it: ``BTC/USD · median of 3``."""
    if pair.source is Source.COMPOSITE and quote is not None and quote.price is not None:
        n = len(quote.basis)
        return f"{pair.pair} · median of {n}" if n else f"{pair.pair} · no fresh venue"
    return pair_label(pair)


def change_period_words(source: Source) -> str:
    """What a source's 24 h change means: ``rolling 24 h, Kraken's own change_pct``."""
    if source is Source.COMPOSITE:
        return "the median of its venues' rolling 24 h changes"
    from ccdesk.core.sources import source_info  # the dialect's own facts, loaded when asked

    return source_info(source).change_24h


def basis_words(quote: Quote | None) -> str:
    """Which venues a composite price is the median of: ``median of Kraken, Coinbase and OKX``."""
    if quote is None or not quote.basis:
        return "no venue has a fresh price (at most 10 s old) for it now"
    names = [SOURCE_TITLES[s] for s in quote.basis]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"median of {listed} (prices at most 10 s old)"


PICKABLE_SOURCES = (
    Source.KRAKEN,
    Source.COINBASE,
    Source.BINANCE,
    Source.OKX,
    Source.COMPOSITE,
    Source.COINDESK,
    Source.CRYPTOCOMPARE,
)
"""The sources in the order they are offered: keyless first."""

PAIR_ENTRY_HINT = (
    "Type a pair as you like: BTC-USD, btc/usd, ETH USD, ETH USD Binance, kraken:xbt-usd, "
    "5~CCCAGG~BTC~USD. A pair typed without a source comes from the one picked beside it."
)


def source_choice_text(source: Source) -> str:
    """A source as offered in a list: ``Kraken (no key needed)``, ``CoinDesk Data (API key)``."""
    if source is Source.COMPOSITE:
        return "Composite of keyless venues (no key needed)"
    if source in KEYLESS:
        return f"{SOURCE_TITLES[source]} (no key needed)"
    return f"{SOURCE_TITLES[source]} (needs your API key)"


def watchlist_item_text(pair: Pair) -> str:
    """A watched pair with its source: ``BTC/USD · Kraken``, ``BTC/USD · CoinDesk CCIX``,
    ``ETH/USD · Coinbase on CryptoCompare``."""
    if pair.source is Source.CRYPTOCOMPARE:
        return f"{pair.pair} · {pair.venue} on CryptoCompare"
    return f"{pair.pair} · {pair.venue}"


def paused_words(until: float | None) -> str | None:
    """``paused until 15:42`` (local time of wall-clock ``until``), ``paused until resumed``, or None."""
    if until is None:
        return None
    if math.isinf(until):
        return "paused until resumed"
    return f"paused until {datetime.datetime.fromtimestamp(until).strftime('%H:%M')}"


def tooltip_text(
    quotes: Sequence[Quote],
    connections: Connections,
    now: float,
    freshness: Freshness,
    *,
    paused_until: float | None = None,
    key_problem: str | None = None,
    demo: bool = False,
    portfolio: Sequence[str] = (),
) -> str:
    """The tooltip: a title line with every source's state (``ccdesk: Kraken live · CoinDesk: no
    API key``), a key problem, then every pair, the portfolio's totals (``portfolio_lines``), then
    alert pausing."""
    head = APP_TITLE
    if len(connections) or demo:
        head = f"{APP_TITLE}: {connections_text(connections, demo=demo)}"
    lines = [head]
    if key_problem:
        lines.append(key_problem)
    lines += [quote_line(q, now, freshness) for q in quotes[:MAX_TOOLTIP_PAIRS]]
    if len(quotes) > MAX_TOOLTIP_PAIRS:
        lines.append(f"… and {len(quotes) - MAX_TOOLTIP_PAIRS} more")
    if not quotes:
        lines.append("No prices yet")
    lines += portfolio
    paused = paused_words(paused_until)
    if paused:
        lines.append(f"Alerts {paused}")
    return "\n".join(lines)


_WAYS = {MoveDirection.EITHER: "up or down", MoveDirection.UP: "up", MoveDirection.DOWN: "down"}


# --- the rule editor's fields: what is wrong, said, never silently changed ---------------------------

RULE_ONCE_CHOICES = ("Every time (then quiet for the time above)", "Once, then stop until re-armed")


def pct_field_problem(text: str, value: float | None) -> str | None:
    """What is wrong with a move or step size as typed (``value``: the number read, or None)."""
    if not text.strip():
        return "Enter the size of the move in percent, for example 2."
    if value is None or not math.isfinite(value):
        return f"“{text.strip()}” is not a number: type the move in percent, for example 2 or 0.5."
    if value <= 0:
        return (
            f"A move is a size without a sign: {value:g} % is not one. Type {abs(value):g} and choose "
            "up or down under Direction."
            if value < 0
            else "The move must be more than 0 %."
        )
    if value < MIN_PCT:
        return (
            f"The move must be at least {MIN_PCT:g} %, not {value:g} %: smaller moves are the "
            "spread ticking, not the market moving."
        )
    if value > MAX_PCT:
        return f"The move can be at most {MAX_PCT:g} %, not {value:g} %."
    return None


def duration_field_problem(what: str, text: str, seconds: float | None, minimum_s: float) -> str | None:
    """What is wrong with a window or quiet time typed in minutes (``seconds``: as read, or None)."""
    if not text.strip():
        return f"Enter the {what} in minutes."
    if seconds is None or not math.isfinite(seconds):
        return f"“{text.strip()}” is not a number: type the {what} in minutes, for example 5."
    if seconds < minimum_s:
        shown = format_duration(max(0.0, seconds))
        return f"The {what} must be at least {format_duration(minimum_s)}, not {shown}."
    if seconds > MAX_DURATION_S:
        return f"The {what} can be at most {format_duration(MAX_DURATION_S)}."
    return None


def level_field_problem(text: str, level: float | None) -> str | None:
    """What is wrong with a price level as typed (``level``: the number read, or None)."""
    if not text.strip():
        return "Enter the price level, for example 100000."
    if level is None or not math.isfinite(level):
        return "The price level must be a number, for example 100000 or 0.25."
    if level <= 0:
        return f"The level must be a price above 0, not {text.strip()}"
    if level >= MAX_LEVEL:
        return f"The price level must be under {MAX_LEVEL:,.0f}."
    return None


LEVEL_FAR_FACTOR = 10.0
"""A level more than this many times the current price, or under its 1/this, is warned about: no
coin moves tenfold between two looks at a dialog, so it is a typo (a digit too many or too few)."""


def level_distance_warning(level: float, price: float) -> str | None:
    """A warning when ``level`` is implausibly far from the current ``price``, else None."""
    if price <= 0 or level <= 0:
        return None
    ratio = level / price
    if ratio > LEVEL_FAR_FACTOR:
        return (
            f"{format_price(level)} is {ratio:,.0f} times the current price ({format_price(price)}): "
            "a digit too many?"
        )
    if ratio < 1 / LEVEL_FAR_FACTOR:
        return (
            f"{format_price(level)} is 1/{1 / ratio:,.0f} of the current price ({format_price(price)}): "
            "a digit too few?"
        )
    return None


RULE_EXPIRY_PAST_TEXT = "The expiry is in the past: choose a later date, or untick Expires."
RULE_FAR_LEVEL_CONFIRM_TEXT = "Press OK again to keep it."


def rule_price_text(sub: Pair | None, price: tuple[float, bool] | None) -> str:
    """The rule editor's line under the pair: the current price, said as stale when it is not live."""
    if sub is None:
        return "Current price: choose a pair to see it."
    if sub.source is Source.PORTFOLIO:
        return portfolio_value_text(sub, price)
    if price is None:
        return f"Current price of {alert_pair_words(sub)}: none yet."
    value, live = price
    if live:
        return f"Current price of {alert_pair_words(sub)}: {format_price(value)}"
    return f"Last price of {alert_pair_words(sub)}: {format_price(value)} (stale, not live now)"


def _local_time(at: float, now: float) -> str:
    """``14:05`` today, ``3 Dec 14:05`` another day (local time)."""
    when = datetime.datetime.fromtimestamp(at)
    if when.date() == datetime.datetime.fromtimestamp(now).date():
        return when.strftime("%H:%M")
    return f"{when.day} {when.strftime('%b %H:%M')}"


def rule_state_words(rule: Rule, now: float) -> str:
    """What a rule does now, for the Alerts tab: ``armed``, ``snoozed until 14:05``, ``muted``,
    ``expired 3 Dec 14:00``, ``fired once at 13:02 — re-arm?``; an expiry to come is added to
    ``armed`` (``armed until 5 Dec 09:00``)."""
    state = rule_state(rule, now)
    if state is RuleState.SPENT:
        assert rule.spent_at is not None
        return f"fired once at {_local_time(rule.spent_at, now)} — re-arm?"
    if state is RuleState.MUTED:
        return "muted"
    if state is RuleState.EXPIRED:
        assert rule.expires_at is not None
        return f"expired {_local_time(rule.expires_at, now)}"
    if state is RuleState.SNOOZED:
        assert rule.snoozed_until is not None
        return f"snoozed until {_local_time(rule.snoozed_until, now)}"
    if rule.expires_at is not None:
        return f"armed until {_local_time(rule.expires_at, now)}"
    return "armed"


def rule_row_text(rule: Rule, now: float, watchlist: Sequence[Pair] = ()) -> str:
    """One row of the Alerts tab: the rule in words, how often, sound, and its state:
    ``BTC/USD · Kraken: rises to 95,000.00 or above (then quiet 15 min) · once · sound — armed``."""
    text = describe_rule(rule, watchlist)
    if rule.once:
        text += " · once"
    if rule.sound:
        text += " · sound"
    return f"{text} — {rule_state_words(rule, now)}"


def describe_rule(rule: Rule, watchlist: Sequence[Pair] = ()) -> str:
    """One line for a rule: ``All pairs: up or down 2 % within 5 min (then quiet 15 min)``.

    Args:
        rule: The rule.
        watchlist: If given, a per-pair rule whose pair is not in it says so.
    """
    who = "All pairs" if rule.sub is None else alert_pair_words(rule.sub)
    if isinstance(rule, MoveRule):
        way = {MoveDirection.EITHER: "up or down", MoveDirection.UP: "up", MoveDirection.DOWN: "down"}[
            rule.direction
        ]
        what = f"{way} {rule.pct:g} % within {format_duration(rule.window_s)}"
    elif isinstance(rule, StepRule):
        what = f"every further {rule.pct:g} % {_WAYS[rule.direction]}"
    else:
        way = "rises to {} or above" if rule.above else "falls to {} or below"
        what = way.format(format_price(rule.level))
    text = f"{who}: {what} (then quiet {format_duration(rule.cooldown_s)})"
    if (
        watchlist
        and rule.sub is not None
        and rule.sub not in watchlist
        and rule.sub.source is not Source.PORTFOLIO
    ):
        text += " \u2014 pair not in the watchlist"
    return text


# --- the settings file ----------------------------------------------------------------------------


def settings_file_text(problem: SettingsFileProblem) -> str:
    """The settings file's own problem, found when it was opened (or by a save)."""
    where = problem.location
    if problem.fault is SettingsFault.UNREADABLE:
        return (
            f"The settings file {where} could not be read, so ccdesk uses its defaults and will not "
            "save over it. Check that it is a readable file, or move it away."
        )
    if problem.fault is SettingsFault.BAD_LINES:
        kept = (
            f"A copy of the file as it was is in {problem.copy_location}."
            if problem.copy_location
            else "The next save leaves them out."
        )
        return f"Some lines of the settings file {where} could not be read and were ignored. {kept}"
    return f"The settings file {where} could not be written."


def settings_notice_text(
    file_problems: Sequence[SettingsFileProblem], problems: Sequence[SettingsProblem]
) -> str | None:
    """The start-up banner about the settings: the file's problems, then the values that could
    not be used (they stay in the file as written until changed); None if all is well."""
    parts = [settings_file_text(problem) for problem in file_problems]
    if problems:
        parts.append(settings_problems_text(problems))
        if any(not p.corrected for p in problems):
            parts.append("The settings file keeps what it says for them until you change them in Settings.")
    return " ".join(parts) or None


def settings_not_saved_text(problem: SettingsFileProblem) -> str:
    """The banner after a change to the settings could not be saved."""
    if problem.fault is SettingsFault.UNREADABLE:
        why = (
            f"the settings file {problem.location} could not be read when ccdesk started, and "
            "ccdesk does not write over a file it could not read"
        )
    else:
        why = f"the settings file {problem.location} could not be written"
    return f"Settings not saved: {why}. The change holds until ccdesk quits."


# --- the tray menu's pair list (issue 10) ---------------------------------------------------------

WAITING_WORDS = "Waiting for prices…"
COPY_PRICE_WORDS = "Copy price"
MINI_PANEL_WORDS = "Show mini panel"


def tray_menu_line(quote: Quote, now: float, freshness: Freshness) -> str:
    """One pair in the tray menu, with its source: ``BTC/USD · Kraken  91,230.12 ▲ +2.14%``;
    ``(stale)`` when the freshness rule does not call it fresh at monotonic ``now``."""
    label = pair_label(quote.sub)
    if quote.price is None:
        return f"{label}  waiting for a price"
    text = f"{label}  {format_price(quote.price)}"
    pct = quote.change_pct_24h
    sign = change_sign(pct)
    if sign is not None:
        text += f" {change_arrow(pct)} {format_pct(pct)}" if sign else f" {format_pct(pct)}"
    if not freshness.is_fresh(quote, now):
        text += " (stale)"
    return text


def copy_price_words(pair: Pair, plain: str) -> str:
    """The menu entry that copies the pinned price: ``Copy BTC/USD price (91230.12)``."""
    return f"Copy {pair.pair} price ({plain})"


# --- notification actions (the buttons on a desktop notification, where the server shows them) ---

NOTIFICATION_ACTION_WORDS: dict[str, str] = {
    "open": "Open ccdesk",
    "snooze": "Snooze 1 h",
    "mute": "Mute this rule",
}
"""Button labels by action key (``ccdesk.qt.desktop_notifications.ACTION_*``)."""


# --- the mini panel -------------------------------------------------------------------------------

MINI_PANEL_TITLE = "ccdesk mini panel"
MINI_PANEL_STALE_MARK = "stale"
"""After a stale price on the mini panel (which is greyed as well): never shown as live."""
MINI_PANEL_WAITING_MARK = "…"
MINI_PANEL_EMPTY_TEXT = "No pairs to show"
MINI_PANEL_SETTING_TEXT = "Show the &mini panel: prices in a small strip on top"
MINI_PANEL_OPACITY_LABEL = "Mini panel opaci&ty:"
MINI_PANEL_MENU_OPACITY = "Opacity"
MINI_PANEL_MENU_PAIRS = "Pairs"
MINI_PANEL_MENU_FOLLOW = "Follow the watchlist"
MINI_PANEL_MENU_OPEN = "Open ccdesk"
MINI_PANEL_MENU_HIDE = "Hide panel"


def mini_panel_more_text(hidden: int) -> str:
    """The panel's last item when it shows only the first pairs: ``+3``."""
    return f"+{hidden}"


def mini_panel_description(lines: Sequence[str]) -> str:
    """The panel's accessible description and tooltip: one line per pair, then how to use it."""
    body = "\n".join(lines) if lines else MINI_PANEL_EMPTY_TEXT
    return f"{body}\nDrag to move; right-click for options; Escape hides it."


# --- holdings: the window's columns and total line, the tray tooltip, the holding dialog -----------

HOLDING_HEADERS = ("Holding", "Value", "P/L")
NO_LIVE_PRICE = "no live price"


def profit_text(profit: float | None, pct: float | None) -> str:
    """A profit or loss as the window shows it: ``+1,234.56 (+11.10%)``, ``-12.30`` without a
    percentage (a cost basis of 0), ``""`` without a cost basis."""
    if profit is None:
        return ""
    text = format_signed_amount(profit)
    return text if pct is None else f"{text} ({format_pct(pct)})"


def total_line(total: Total) -> str:
    """One quote currency's total: ``Total USD 12,345.67 · P/L +1,234.56 (+11.10%)``; a total with a
    holding without a live price says so and what it leaves out: ``Total USD 12,345.67 so far,
    incomplete: no live price for ETH/USD · Kraken``."""
    if len(total.missing) == total.holdings:
        return f"Total {total.currency}: {NO_LIVE_PRICE}"
    text = f"Total {total.currency} {format_amount(total.value)}"
    pl = profit_text(total.profit, total.profit_pct)
    if pl:
        text += f" · P/L {pl}"
    if total.missing:
        names = ", ".join(pair_label(p) for p in total.missing[:3])
        more = f" and {len(total.missing) - 3} more" if len(total.missing) > 3 else ""
        text += f" · incomplete: {NO_LIVE_PRICE} for {names}{more}"
    return text


def portfolio_lines(all_totals: Sequence[Total]) -> list[str]:
    """The tray tooltip's portfolio lines, one per quote currency: ``Portfolio USD 12,345.67 · P/L ▲
    +11.10%`` (the profit since bought, named: the pair lines' % is the 24 h change). ``incomplete``
    when a holding has no live price: the sum is what is known, never passed off as the whole."""
    lines = []
    for t in all_totals:
        if len(t.missing) == t.holdings:
            lines.append(f"Portfolio {t.currency}: {NO_LIVE_PRICE}")
            continue
        text = f"Portfolio {t.currency} {format_amount(t.value)}"
        sign = change_sign(t.profit_pct)
        if sign is not None:
            text += (
                f" · P/L {change_arrow(t.profit_pct)} {format_pct(t.profit_pct)}" if sign else " · P/L 0.00%"
            )
        if t.missing:
            text += f" (incomplete: {len(t.missing)} without a live price)"
        lines.append(text)
    return lines


def quantity_field_problem(text: str, value: float | None) -> str | None:
    """What is wrong with a quantity as typed in the holding dialog (``value``: the number read)."""
    if not text.strip():
        return "Enter how much you hold, for example 0.5."
    if value is None:
        return f"“{text.strip()}” is not a number: type the quantity, for example 0.5 or 1,200."
    return quantity_problem(value)


def cost_field_problem(text: str, value: float | None, currency: str) -> str | None:
    """What is wrong with a cost basis as typed (empty is fine: it is optional)."""
    if not text.strip():
        return None
    if value is None:
        return (
            f"“{text.strip()}” is not a number: type what you paid in total, in {currency}, "
            "for example 30,000, or leave it empty."
        )
    return cost_basis_problem(value)


def unwatched_holdings_line(pairs: Sequence[Pair]) -> str:
    """Under the totals: the holdings kept for pairs no longer watched, left out of the totals
    (watch the pair again and it is back)."""
    names = ", ".join(pair_label(p) for p in pairs[:3])
    more = f" and {len(pairs) - 3} more" if len(pairs) > 3 else ""
    return f"Not counted (not watched): {names}{more}"


# --- export (issue 11) ----------------------------------------------------------------------------

EXPORT_ALERTS_ACTION_TEXT = "&Export alert history\u2026"  # &H is Hide's, &A About's
EXPORT_PRICES_NO_PAIR_TEXT = "Export &prices\u2026"
EXPORT_MINUTE_FILTER = "Minute candles, last 30 days (*.csv)"
EXPORT_HOUR_FILTER = "Hourly candles, all kept (*.csv)"
EXPORT_ALERTS_FILTER = "CSV files (*.csv)"


def export_prices_action_text(pair: Pair | None) -> str:
    """The menu item that exports the selected row's candles: ``Export prices of BTC/USD · Kraken…``."""
    return EXPORT_PRICES_NO_PAIR_TEXT if pair is None else f"Export &prices of {pair_label(pair)}\u2026"


def export_dialog_title(pair: Pair | None) -> str:
    """The save dialog's title."""
    return "Export alert history" if pair is None else f"Export prices of {pair_label(pair)}"


def export_rule_words(stored: StoredAlert) -> str:
    """The rule column of the alert export: the rule as the Alerts tab says it."""
    return describe_rule(stored.alert.rule)


def export_delivery_words(stored: StoredAlert) -> str:
    """The delivered column of the alert export: how, or why not, in words."""
    if stored.paused:
        return "paused, not shown"
    delivery = stored.delivery
    if delivery is None:
        return "not recorded (ccdesk stopped before it was delivered)"
    text = delivery_words(delivery)
    if delivery.not_shown is not None and delivery.not_shown is not NotShownReason.RATE_LIMITED:
        text += f" ({not_shown_words(delivery.not_shown, delivery.detail)})"
    return text


def read_problem_words(error: StoreReadError) -> str:
    """Why the price history cannot be read, for the command line and the window."""
    problem = error.problem
    if problem is ReadProblem.NO_STORE:
        return (
            f"no price history yet: {error.detail} does not exist (ccdesk keeps one once the app has run)"
            if error.detail
            else "no price history is kept (the history database could not be opened at start)"
        )
    if problem is ReadProblem.FOLDER:
        return (
            f"{error.detail} is a folder, not a history database file"
            " (give the database file itself, ccdesk.sqlite3)"
        )
    if problem is ReadProblem.CORRUPT:
        return (
            f"the history database cannot be read ({error.detail}); the app moves a damaged file aside"
            " (kept, not deleted) and starts a fresh one when it next starts"
        )
    if problem is ReadProblem.NEWER_SCHEMA:
        return f"the history database was written by a newer ccdesk ({error.detail}); update ccdesk"
    return f"the history database cannot be opened ({error.detail})"


def export_nothing_words(pair: Pair | None, period_s: int | None = None, since: float | None = None) -> str:
    """Why an export found no rows, for the command line: ``nothing to export: no minute prices of
    BTC/USD · Kraken (kraken:BTC-USD) are stored since 2030-01-01 00:00 UTC; nothing was written``.

    Args:
        pair: The pair whose candles were asked for; None: the alert history.
        period_s: The candle length asked for (None: not said).
        since: The start of the range asked for, unix seconds (None: all that is kept).
    """
    when = ""
    if since is not None:
        start = datetime.datetime.fromtimestamp(since, datetime.UTC)
        when = f" since {start.strftime('%Y-%m-%d %H:%M:%S' if start.second else '%Y-%m-%d %H:%M')} UTC"
    if pair is None:
        what = f"no alerts are kept{when}"
    else:
        period = "" if period_s is None else PERIOD_NAMES.get(period_s, f"{period_s} s") + " "
        what = f"no {period}prices of {pair_label(pair)} ({pair}) are stored{when}"
    return f"nothing to export: {what}; nothing was written"


def export_done_text(path: str, rows: int, pair: Pair | None = None) -> str:
    """The banner after an export (rich text): ``Exported 43,200 rows to /home/me/btc.csv``; with
    no rows, that there was nothing to export and no file was written."""
    if rows == 0:
        what = "no alerts are kept yet" if pair is None else f"no prices of {pair_label(pair)} are stored yet"
        return f"<b>Nothing to export</b>: {html.escape(what)}. Nothing was written to {html.escape(path)}."
    return f"Exported {rows:,} {'row' if rows == 1 else 'rows'} to {html.escape(path)}"


def export_failed_text(error: Exception) -> str:
    """The banner (rich text) when an export failed; nothing was written."""
    if isinstance(error, StoreReadError):
        why = read_problem_words(error)
    elif isinstance(error, ExportError):
        why = f"{error.path} cannot be written ({error.reason})"
    else:
        why = str(error) or type(error).__name__
    return f"<b>The export failed</b>: {html.escape(why)}. Nothing was written."


# --- the chart window (issue 11) -------------------------------------------------------------------

CHART_RANGE_NAMES: dict[str, str] = {"H1": "1 h", "H24": "24 h", "D7": "7 d", "D30": "30 d"}
"""The chart's range buttons, by ``ChartRange`` name."""
CHART_LINE = "Line"
CHART_CANDLES = "Candles"
CHART_LOADING = "Reading the history…"
CHART_MENU_ACTION = "Char&t…"  # &H is Holding…'s, &A Alert's, &R Remove's, &C Copy's
THIRD_PARTY_NOTICE = (
    "ccdesk's own source is MIT-licensed. The packaged app bundles Qt and PySide6 (LGPL-3.0) and "
    "Qt Charts (GPL-3.0), so the packaged app as a whole is distributed under the GPL-3.0."
)
"""What the About box says about the bundled libraries' licences (packaging/NOTICE says more)."""


def chart_title(pair: Pair) -> str:
    """The chart window's title."""
    return f"{pair_label(pair)} · ccdesk chart"


def chart_empty_text(pair: Pair) -> str:
    """A chart with nothing stored yet for the pair."""
    return f"No history yet for {pair_label(pair)}: prices are kept from now on"


CHART_NO_PRICES = "no prices stored"
"""The crosshair over a time with nothing stored (a gap, before the history): never a made-up price."""


def chart_crosshair_text(when: str, price: float | None) -> str:
    """The crosshair's label on the line: the time and the price stored then (not the pointer's
    height), or that none is stored then."""
    return f"{when}  {CHART_NO_PRICES if price is None else format_price(price)}"


def chart_crosshair_candle_text(when: str, open_: float, high: float, low: float, close: float) -> str:
    """The crosshair's label on a candle: its start and its open, high, low and close."""
    ohlc = (("O", open_), ("H", high), ("L", low), ("C", close))
    return f"{when}  " + "  ".join(f"{name} {format_price(price)}" for name, price in ohlc)


def chart_level_label(level: float, above: bool) -> str:
    """A level rule's line on the chart."""
    return f"Alert {'above' if above else 'below'} {format_price(level)}"


def chart_cost_label(price: float) -> str:
    """The holding's cost basis on the chart."""
    return f"Cost basis {format_price(price)}"


# --- alerts on the portfolio's total ---------------------------------------------------------------


def portfolio_value_text(sub: Pair, value: tuple[float, bool] | None) -> str:
    """The rule editor's line under a portfolio total: its value now, or why there is none: the
    total of the watched holdings in that currency, complete only when every one has a live price."""
    name = alert_pair_words(sub)
    if value is None:
        return f"{name}: no holding in {sub.quote} among the watched pairs."
    total, complete = value
    if complete:
        return f"Value of {name} now: {format_price(total)}"
    return (
        f"Value of {name}: {format_price(total)} so far, incomplete (a holding has no live price); "
        "alerts wait for every price"
    )


PORTFOLIO_NOT_WATCHED_TEXT = (
    "The portfolio's total is not a pair to watch: it is the value of your holdings. To be alerted on "
    "it, add a move alert on the Alerts tab and choose “Portfolio · USD” (or your currency) as the pair."
)


def alert_log_words(alert: Alert) -> str:
    """An alert as a log line names it: ``alert_title``, but for the portfolio's total no amount (the
    holdings stay out of logs): ``Portfolio · USD level alert``, ``Portfolio · USD up 2.1 % in 5 min``."""
    if alert.sub.source is Source.PORTFOLIO and isinstance(alert.rule, LevelRule):
        return f"{alert_pair_words(alert.sub)} level alert"
    return alert_title(alert)
