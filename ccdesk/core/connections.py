"""The state of every source in use, as one value: each source streams on its own connection and has
its own state, and the views (status line, tray icon and tooltip, freshness) read them from here.
Pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ccdesk.core.events import State, Status
from ccdesk.core.pairs import KEYLESS, Pair, Source

# Worst first: the state the window's dot and the tray icon show when sources disagree.
_SEVERITY = (
    State.AUTH_FAILED,
    State.BLOCKED,
    State.RATE_LIMITED,
    State.STOPPED,
    State.RECONNECTING,
    State.STALE,
    State.CONNECTING,
    State.CONNECTED,
)
_RANK = {state: i for i, state in enumerate(_SEVERITY)}


@dataclass(frozen=True, slots=True)
class Connections:
    """One ``Status`` per source in use, in the order of ``Source`` (the order the views list them).

    Attributes:
        statuses: The latest status of each source in use (a source not in use is absent).
    """

    statuses: Mapping[Source, Status] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ordered = {s: self.statuses[s] for s in Source if s in self.statuses}
        object.__setattr__(self, "statuses", ordered)

    def with_status(self, source: Source, status: Status) -> Connections:
        """These connections with ``source``'s status replaced."""
        return Connections({**self.statuses, source: status})

    def only(self, sources: frozenset[Source] | set[Source]) -> Connections:
        """These connections without the sources not in ``sources`` (they left the watchlist)."""
        return Connections({s: st for s, st in self.statuses.items() if s in sources})

    def __iter__(self) -> Iterator[tuple[Source, Status]]:
        return iter(self.statuses.items())

    def __len__(self) -> int:
        return len(self.statuses)

    def live_since(self) -> dict[Source, float]:
        """When each connected source's current session began (monotonic), for ``Freshness``."""
        return {
            s: st.at for s, st in self.statuses.items() if st.state is State.CONNECTED and st.at is not None
        }

    def worst(self) -> Status | None:
        """The most serious status among the sources (None with no source in use)."""
        if not self.statuses:
            return None
        return min(self.statuses.values(), key=lambda st: _RANK[st.state])

    def all_live(self) -> bool:
        """True when every source in use is connected (and there is at least one)."""
        return bool(self.statuses) and all(st.state is State.CONNECTED for st in self.statuses.values())

    def for_pair(self, pair: Pair | None) -> Status | None:
        """The status behind one pair: its source's, or for a composite price the best of the
        keyless venues in use (it is live while any of them is)."""
        if pair is None:
            return self.worst()
        if pair.source is Source.COMPOSITE:
            venues = [st for s, st in self.statuses.items() if s in KEYLESS]
            return max(venues, key=lambda st: _RANK[st.state]) if venues else None
        return self.statuses.get(pair.source)
