"""Background jobs: outcomes come back on the GUI thread; jobs of one lane run in the order asked for,
one at a time, so a keyring save and a delete asked for while the keyring is blocked (an unlock
prompt) cannot swap places."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from ccdesk.core.api_key import ApiKey, KeyProblem, KeyProvider
from ccdesk.core.secrets import SecretStore
from ccdesk.qt.jobs import BackgroundJobs
from ccdesk.qt.key_session import KeySession
from tests.fakes import InMemoryKeyring

KEY = "a" * 64


def test_jobs_of_one_lane_run_in_order_and_others_do_not_wait(qtbot: QtBot) -> None:
    jobs = BackgroundJobs()
    release = threading.Event()
    started: list[str] = []
    outcomes: list[object] = []

    def step(name: str, block: bool = False, fail: bool = False):
        def body() -> str:
            started.append(name)
            if block:
                assert release.wait(10)
            if fail:
                raise ValueError(name)
            return name

        return body

    jobs.run("t", step("first", block=True), outcomes.append, outcomes.append, lane="a")
    jobs.run("t", step("second", fail=True), outcomes.append, outcomes.append, lane="a")
    jobs.run("t", step("third"), outcomes.append, lane="a")
    jobs.run("t", step("elsewhere"), outcomes.append, lane="b")
    jobs.run("t", step("alone"), outcomes.append)
    # The other lane and a job without one run while the first of lane "a" is held.
    qtbot.waitUntil(
        lambda: sorted(o for o in outcomes if isinstance(o, str)) == ["alone", "elsewhere"], timeout=10000
    )
    assert "second" not in started
    assert "third" not in started
    release.set()
    qtbot.waitUntil(lambda: len(outcomes) == 5, timeout=10000)
    lane_a = [o if isinstance(o, str) else f"failed: {o}" for o in outcomes[2:]]
    assert lane_a == ["first", "failed: second", "third"]  # a failure does not stop the lane
    assert jobs.pending() == 0
    # The lane's thread is gone once it is idle; a later job starts a new one and still runs.
    jobs.run("t", step("later"), outcomes.append, lane="a")
    qtbot.waitUntil(lambda: outcomes[-1] == "later", timeout=10000)


def test_a_job_that_raises_even_systemexit_does_not_wedge_its_lane(qtbot: QtBot) -> None:
    jobs = BackgroundJobs()
    outcomes: list[object] = []

    def leaves() -> str:
        raise SystemExit("stands for any BaseException")

    jobs.run("t", leaves, outcomes.append, outcomes.append, lane="keyring")
    jobs.run("t", lambda: "next", outcomes.append, outcomes.append, lane="keyring")
    qtbot.waitUntil(lambda: "next" in outcomes, timeout=10000)
    assert jobs.pending() == 0


class BlockingKeyring(InMemoryKeyring):
    """A keyring whose first write waits, like one waiting on an unlock prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.unlock = threading.Event()
        self.writing = threading.Event()

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writing.set()
        assert self.unlock.wait(10)
        super().set_password(service, username, password)


def test_a_remove_asked_for_while_the_save_waits_on_the_keyring_wins(qtbot: QtBot) -> None:
    backend = BlockingKeyring()
    jobs = BackgroundJobs()
    session = KeySession(
        SecretStore("ccdesk-test", backend=backend), jobs, {}, provider=KeyProvider.CRYPTOCOMPARE
    )
    removed: list[object] = []
    session.removed.connect(removed.append)
    session.enter(ApiKey(KEY))
    assert backend.writing.wait(10)
    session.remove()  # the user changed their mind while the keyring still asks for its password
    backend.unlock.set()
    qtbot.waitUntil(lambda: removed == [None], timeout=10000)
    qtbot.waitUntil(lambda: jobs.pending() == 0, timeout=10000)
    assert backend.items == {}, "the key removed last is not in the keyring"
    assert session.key is None
    assert session.state.problem is KeyProblem.MISSING
