"""The timing loop the benchmarks share: calibrated, round-robin, medians."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def calibrate(
    fn: Callable[[], Any], target: float, clock: Callable[[], float] = time.perf_counter
) -> int:
    """How many calls of ``fn`` take about ``target`` seconds."""
    number = 1
    while True:
        start = clock()
        for _ in range(number):
            fn()
        elapsed = clock() - start
        if elapsed >= target / 4 or number >= 1 << 22:
            return max(1, int(number * target / max(elapsed, 1e-9)))
        number *= 4


def median_times(
    fns: Sequence[Callable[[], Any]],
    samples: int,
    target: float,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """The median seconds per call of each function (see :func:`sampled_times`)."""
    return [statistics.median(t) for t in sampled_times(fns, samples, target, clock)]


def sampled_times(
    fns: Sequence[Callable[[], Any]],
    samples: int,
    target: float,
    clock: Callable[[], float] = time.perf_counter,
) -> list[list[float]]:
    """Seconds per call of each function, ``samples`` times (for a median and a spread).

    Samples are taken round-robin (so a noisy neighbour slows every function
    alike), with the garbage collector enabled and the objects made before
    timing frozen out of its way. ``clock`` may be ``time.process_time``: the
    CPU time of the process, which time spent waiting for a shared core does
    not inflate.
    """
    numbers = [calibrate(fn, target, clock) for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    gc.collect()
    gc.freeze()
    try:
        for _ in range(samples):
            for i, fn in enumerate(fns):
                start = clock()
                for _ in range(numbers[i]):
                    fn()
                times[i].append((clock() - start) / numbers[i])
    finally:
        gc.unfreeze()
    return times
