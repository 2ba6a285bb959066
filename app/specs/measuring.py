"""Measuring specs off the web process's GIL, bounded: a small pool of spawned processes counts params and MACs on
the meta device, each spec under a time limit, with at most ``concurrency`` measurements in flight (running or
waiting for a process) per web process. A request beyond that is refused at once with ServiceUnavailable (503 +
Retry-After) rather than holding a request thread while it waits: a flood of validations then costs the other
pages nothing but the refusals. Anonymous callers (no token, no session) share at most half of the slots, so an
anonymous flood leaves room for the people who signed in.

The time limit is kept twice: in the measuring process (SIGALRM interrupts the counting between two Python
steps) and in the caller, which kills the pool's processes should one not come back (stuck inside one native
call); the pool starts again at the next measurement.

The app starts the pool before it serves (spawned children import torch and warm up once) and shuts it down
with itself. With 0 processes (tests, small demos) measuring happens in the request's thread, under the same
concurrency cap but without a time limit (a thread cannot be interrupted)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import Any

from app.core.errors import ServiceUnavailable
from app.zoo.identity import fingerprint
from app.zoo.measure import Measurement, measure, warm_up
from app.zoo.probe import StepTiming, probe_train_step
from app.zoo.spec import ArchSpec, SpecError

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 10.0
KILL_GRACE_S = 5.0  # past the time limit, a measuring process that has not answered is killed
RETRY_AFTER_S = 2
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_processes = 0
_timeout_s = DEFAULT_TIMEOUT_S
_concurrency = 4
_slots = threading.BoundedSemaphore(_concurrency)
_anonymous_slots = threading.BoundedSemaphore(_concurrency // 2)


class _Interrupted(Exception):
    pass


def configure(processes: int, *, timeout_s: float = DEFAULT_TIMEOUT_S, concurrency: int | None = None) -> None:
    """How many measuring processes to use from now on (0: none, measure in the caller's thread), how long one
    spec may take, and how many measurements may be in flight at once (default: twice the processes)."""
    global _processes, _timeout_s, _concurrency, _slots, _anonymous_slots
    shutdown()
    with _lock:
        _processes = max(0, processes)
        _timeout_s = timeout_s
        _concurrency = concurrency or 2 * max(1, _processes)
        _slots = threading.BoundedSemaphore(_concurrency)
        _anonymous_slots = threading.BoundedSemaphore(max(1, _concurrency // 2))


def limits() -> tuple[int, float, int]:
    """(processes, time limit in seconds, concurrency) in force."""
    return _processes, _timeout_s, _concurrency


def start() -> None:
    """Warm up whoever will measure before the app serves, so the first submissions do not wait for it: the
    measuring processes (spawned now; each imports torch and warms up), or this process when there are none."""
    pool = _get_pool()
    if pool is None:
        warm_up()
        return
    for future in [pool.submit(int) for _ in range(_processes)]:
        future.result()


def shutdown() -> None:
    """Stop the pool; measuring happens in the caller's thread until configure() is called again."""
    global _pool, _processes
    with _lock:
        pool, _pool = _pool, None
        _processes = 0
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)  # a measurement takes < 1 s; then the children exit


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and _processes > 0:
            context = multiprocessing.get_context("spawn")  # never fork a process with threads and sockets
            _pool = ProcessPoolExecutor(
                max_workers=_processes, mp_context=context, initializer=_child_init, initargs=(os.getpid(),)
            )
        return _pool


def _drop_pool(pool: ProcessPoolExecutor, *, kill: bool) -> None:
    """Forget a broken (or stuck) pool; the next measurement starts a new one. ``kill`` ends its processes."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    if kill:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _child_init(parent: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()
    warm_up()


def _exit_with_parent(parent: int) -> None:
    """A web process that is killed (or exits without the app's shutdown) must not leave its measuring
    processes behind: each one leaves when its parent is gone (seen: two orphans per stopped stack)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Interrupted


def _in_child(
    what: Callable[[ArchSpec, tuple[int, int, int], int], Any],
    spec: ArchSpec,
    input_shape: tuple[int, int, int],
    num_classes: int,
    timeout_s: float,
) -> tuple[str, Any]:
    # Errors are returned as data: exceptions with custom constructors do not survive pickling intact.
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return "ok", what(spec, input_shape, num_classes)
    except SpecError as exc:
        return "spec_error", exc.errors
    except _Interrupted:
        return "timeout", timeout_s
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timeout_error(timeout_s: float) -> SpecError:
    return SpecError.at(
        [],
        f"measuring this spec took longer than {timeout_s:g} s, the limit: it is far too large for this "
        "benchmark (lower its depth, width or token count)",
        "measure_timeout",
    )


def _busy(what: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Every measuring slot {what} is busy; nothing was done. Try again in {RETRY_AFTER_S} s.",
        retry_after_s=RETRY_AFTER_S,
    )


def measure_spec(
    spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int, *, anonymous: bool = False
) -> Measurement:
    """measure(), in the pool when there is one, under the time limit (SpecError at ``["spec"]`` past it) and
    the concurrency cap (ServiceUnavailable when every slot, or every slot anonymous callers may use, is taken)."""
    anonymous_slots = _anonymous_slots
    if anonymous and not anonymous_slots.acquire(blocking=False):
        raise _busy("open to anonymous callers (an API token or a log-in gets slots of its own)")
    try:
        if not _slots.acquire(blocking=False):
            raise _busy(f"({_concurrency} specs in flight)")
        try:
            result: Measurement = _in_pool(measure, spec, input_shape, num_classes)
            return result
        finally:
            _slots.release()
    finally:
        if anonymous:
            anonymous_slots.release()


def fingerprint_spec(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> str | None:
    """The spec's functional fingerprint (``app.zoo.identity``: the real model built and run on a fixed batch),
    in the pool when there is one, under the same time limit and slots as a measurement. Call it only for specs
    that passed their limits. None when it cannot be had now (every slot busy, past the limit, the pool broke):
    the caller falls back to the spec's hash, the identity that needs no model."""
    if not _slots.acquire(blocking=False):
        return None
    try:
        found: str = _in_pool(fingerprint, spec, input_shape, num_classes)
        return found
    except (SpecError, ServiceUnavailable):
        log.warning("no fingerprint for a spec this time; duplicates are found by its hash alone")
        return None
    finally:
        _slots.release()


def _in_pool(
    what: Callable[[ArchSpec, tuple[int, int, int], int], Any],
    spec: ArchSpec,
    input_shape: tuple[int, int, int],
    num_classes: int,
) -> Any:
    """``what(spec, input_shape, num_classes)`` in the pool under its time limit; in this thread when measuring
    is configured without processes."""
    pool = _get_pool()
    if pool is None:
        return what(spec, input_shape, num_classes)
    timeout_s = _timeout_s
    try:
        future: Future[tuple[str, Any]] = pool.submit(_in_child, what, spec, input_shape, num_classes, timeout_s)
        kind, value = future.result(timeout=timeout_s + KILL_GRACE_S)
    except FutureTimeout:
        log.warning("a measuring process did not stop at its %.0f s limit; restarting the pool", timeout_s)
        _drop_pool(pool, kill=True)
        raise timeout_error(timeout_s) from None
    except (BrokenProcessPool, RuntimeError):  # a child died, or the pool was shut down under us
        log.warning("the measuring pool broke; it starts again at the next measurement")
        _drop_pool(pool, kill=False)
        raise ServiceUnavailable(
            "The measuring service restarted; try again in a few seconds.", retry_after_s=RETRY_AFTER_S
        ) from None
    if kind == "spec_error":
        raise SpecError(value)
    if kind == "timeout":
        raise timeout_error(float(value))
    return value


PROBE_GRACE_S = 1.0  # past a probe's own deadline, how long its answer may take to come back


def probe_spec(
    spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int, batch_size: int, steps: int, deadline_s: float
) -> StepTiming:
    """probe_train_step() (a few real training steps, one torch thread, never past ``deadline_s``), in the pool
    when there is one; a child that does not answer within the deadline and a grace second is given up on (its
    pool is dropped and started again) and the probe reports ``exceeded``."""
    if not _slots.acquire(blocking=False):
        raise _busy(f"({_concurrency} specs in flight)")
    try:
        pool = _get_pool()
        if pool is None:
            return probe_train_step(spec, input_shape, num_classes, batch_size, steps, deadline_s)
        future = pool.submit(probe_train_step, spec, input_shape, num_classes, batch_size, steps, deadline_s)
        try:
            return future.result(timeout=deadline_s + PROBE_GRACE_S)
        except (FutureTimeout, BrokenProcessPool):
            log.warning("a training probe did not come back within %.0f s; restarting the measuring pool", deadline_s)
            _drop_pool(pool, kill=True)
            detail = f"no step finished within the {deadline_s:.0f} s budget"
            return StepTiming("exceeded", batch_size, 0, None, None, deadline_s, deadline_s, 0, detail)
    finally:
        _slots.release()
