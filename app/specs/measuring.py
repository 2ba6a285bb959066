"""Measuring specs off the web process's GIL: a small pool of spawned processes counts params and MACs on the
meta device, so one request's 0.1-0.3 s of Python-bound counting does not stall every other request.

The app starts the pool before it serves (spawned children import torch and warm up once) and shuts it down
with itself; a pool that broke is started again at the next measurement. With 0 processes (tests,
small demos) measuring happens in the request's thread, as before."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.zoo.measure import Measurement, measure, warm_up
from app.zoo.probe import StepTiming, probe_train_step
from app.zoo.spec import ArchSpec, SpecError

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_processes = 0


def configure(processes: int) -> None:
    """How many measuring processes to use from now on (0: none, measure in the caller's thread)."""
    global _processes
    shutdown()
    with _lock:
        _processes = max(0, processes)


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


def _child_init(parent: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()
    warm_up()


def _exit_with_parent(parent: int) -> None:
    """A web process that is killed (or exits without the app's shutdown) must not leave its measuring
    processes behind: each one leaves when its parent is gone (seen: two orphans per stopped stack)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _measure_in_child(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> tuple[str, Any]:
    # A SpecError is returned as data: exceptions with custom constructors do not survive pickling intact.
    try:
        return "ok", measure(spec, input_shape, num_classes)
    except SpecError as exc:
        return "spec_error", exc.errors


def measure_spec(spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int) -> Measurement:
    """measure(), in the pool when there is one. A broken pool (a child killed) is dropped and restarted at
    the next call; this call measures in its own thread."""
    pool = _get_pool()
    if pool is None:
        return measure(spec, input_shape, num_classes)
    try:
        kind, value = pool.submit(_measure_in_child, spec, input_shape, num_classes).result()
    except BrokenProcessPool:
        log.warning("a measuring process died; restarting the pool at the next measurement")
        with _lock:
            global _pool
            if _pool is pool:
                _pool = None
        return measure(spec, input_shape, num_classes)
    if kind == "spec_error":
        raise SpecError(value)
    result: Measurement = value
    return result


PROBE_GRACE_S = 1.0  # past a probe's own deadline, how long its answer may take to come back


def probe_spec(
    spec: ArchSpec, input_shape: tuple[int, int, int], num_classes: int, batch_size: int, steps: int, deadline_s: float
) -> StepTiming:
    """probe_train_step() (a few real training steps, one torch thread, never past ``deadline_s``), in the pool
    when there is one; a child that does not answer within the deadline and a grace second is given up on (its
    pool is dropped and started again) and the probe reports ``exceeded``."""
    pool = _get_pool()
    if pool is None:
        return probe_train_step(spec, input_shape, num_classes, batch_size, steps, deadline_s)
    future = pool.submit(probe_train_step, spec, input_shape, num_classes, batch_size, steps, deadline_s)
    try:
        return future.result(timeout=deadline_s + PROBE_GRACE_S)
    except (FutureTimeout, BrokenProcessPool):
        log.warning("a training probe did not come back within %.0f s; restarting the measuring pool", deadline_s)
        with _lock:
            global _pool
            if _pool is pool:
                _pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        detail = f"no step finished within the {deadline_s:.0f} s budget"
        return StepTiming("exceeded", batch_size, 0, None, None, deadline_s, deadline_s, 0, detail)
