"""The collector pause around a board's recomputation: threads that overlap share one pause, the collector runs
again when the last of them is done, and a collector someone else turned off stays off."""

import gc
import threading

from app.entries.stored import gc_paused


def test_overlapping_pauses_resume_the_collector_once_the_last_one_ends() -> None:
    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        assert not gc.isenabled()
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread is still building its board
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_the_pause_resumes_the_collector() -> None:
    try:
        with gc_paused():
            raise RuntimeError("a database blip")
    except RuntimeError:
        pass
    assert gc.isenabled()
