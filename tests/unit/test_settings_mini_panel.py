"""The mini panel's settings: validation, normalisation, the stored form and bad stored values."""

from __future__ import annotations

import pytest

from ccdesk.core.settings import Settings, SettingsError
from ccdesk.core.settings_codec import MemoryStore, SettingsProblem, load_settings, save_settings
from tests.pairs import BTC, ETH, SOL


def test_defaults_and_a_file_from_before_load_the_same() -> None:
    s = Settings()
    assert (s.mini_panel, s.mini_panel_opacity_pct, s.mini_panel_pairs) == (False, 90, ())
    loaded, problems = load_settings(MemoryStore({"watchlist": '["BTC-USD"]', "source": "kraken"}))
    assert (loaded.mini_panel, loaded.mini_panel_opacity_pct, loaded.mini_panel_pairs) == (False, 90, ())
    assert problems == ()


@pytest.mark.parametrize("bad", [29, 101, -5, True, 50.0, "80"])
def test_opacity_must_be_a_whole_percentage_from_30_to_100(bad: object) -> None:
    with pytest.raises(SettingsError, match="opacity"):
        Settings(mini_panel_opacity_pct=bad)  # type: ignore[arg-type]


def test_chosen_pairs_keep_watchlist_order_and_only_watched_pairs() -> None:
    s = Settings(watchlist=(BTC, ETH, SOL), rules=(), mini_panel_pairs=(SOL, BTC, SOL))
    assert s.mini_panel_pairs == (BTC, SOL)
    gone = Settings(watchlist=(BTC,), rules=(), mini_panel_pairs=(ETH,))
    assert gone.mini_panel_pairs == ()  # none watched: it follows the watchlist
    with pytest.raises(SettingsError, match="mini panel"):
        Settings(mini_panel_pairs=("BTC-USD",))  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="mini_panel"):
        Settings(mini_panel="yes")  # type: ignore[arg-type]


def test_round_trip_and_bad_stored_values_fall_back_with_a_problem() -> None:
    store = MemoryStore()
    s = Settings(
        watchlist=(BTC, ETH, SOL),
        rules=(),
        mini_panel=True,
        mini_panel_opacity_pct=45,
        mini_panel_pairs=(ETH,),
    )
    save_settings(store, s, previous=None)
    assert store.values["mini_panel_pairs"] == f'["{ETH}"]'
    assert load_settings(store) == (s, ())
    store.values.update(mini_panel="maybe", mini_panel_opacity_pct="5", mini_panel_pairs='["not a pair"]')
    loaded, problems = load_settings(store)
    assert (loaded.mini_panel, loaded.mini_panel_opacity_pct, loaded.mini_panel_pairs) == (False, 90, ())
    assert {p.key for p in problems} == {"mini_panel", "mini_panel_opacity_pct", "mini_panel_pairs"}
    assert SettingsProblem("mini_panel_opacity_pct", "not from 30 to 100 %") in problems
