"""Per-path locks with real threads."""

from __future__ import annotations

import threading
import time

import pytest

from comicmaintainer.library.locks import PathLocks


def test_second_holder_waits_for_the_first() -> None:
    locks = PathLocks()
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with locks.hold("a.cbz"):
            first_in.set()
            time.sleep(0.2)
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with locks.hold("a.cbz"):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert order == ["first done", "second in"]
    assert len(locks) == 0


def test_different_paths_do_not_block() -> None:
    locks = PathLocks()
    with locks.hold("a.cbz"):
        done = threading.Event()

        def other() -> None:
            with locks.hold("b.cbz"):
                done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(2)
        thread.join()
        assert len(locks) == 1
    assert len(locks) == 0


def test_try_hold() -> None:
    locks = PathLocks()
    results: list[bool] = []
    with locks.hold("a.cbz"):

        def other() -> None:
            with locks.try_hold("a.cbz") as taken:
                results.append(taken)
            with locks.try_hold("b.cbz") as taken:
                results.append(taken)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(5)
    assert results == [False, True]
    with locks.try_hold("a.cbz") as taken:
        assert taken
    assert len(locks) == 0


def test_hold_timeout() -> None:
    locks = PathLocks()
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locks.hold("a.cbz"):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    with pytest.raises(TimeoutError), locks.hold("a.cbz", timeout=0.05):
        pass
    release.set()
    thread.join()
    assert len(locks) == 0


def test_same_thread_may_take_a_path_again() -> None:
    locks = PathLocks()
    with locks.hold_many(["b.cbz", "a.cbz"]), locks.hold("a.cbz"):
        assert len(locks) == 2
    assert len(locks) == 0


def test_hold_many_in_opposite_orders_does_not_deadlock() -> None:
    locks = PathLocks()
    errors: list[BaseException] = []

    def worker(paths: list[str]) -> None:
        try:
            for _ in range(300):
                with locks.hold_many(paths):
                    pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(["x.cbz", "y.cbz"],)),
        threading.Thread(target=worker, args=(["y.cbz", "x.cbz"],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive(), "deadlock"
    assert errors == []
    assert len(locks) == 0


def test_mutual_exclusion_under_contention() -> None:
    locks = PathLocks()
    inside = 0
    most = 0
    guard = threading.Lock()

    def worker() -> None:
        nonlocal inside, most
        for _ in range(200):
            with locks.hold("same.cbz"):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert most == 1
    assert len(locks) == 0


def test_dict_empties_after_an_exception() -> None:
    locks = PathLocks()
    with pytest.raises(RuntimeError), locks.hold("a.cbz"):
        raise RuntimeError("boom")
    assert len(locks) == 0
    with locks.hold("a.cbz"):  # and the path is free again
        pass
