"""Time per gradient call of pullback against plain-Python and hand-written baselines.

Run from the project root (with pullback installed): ``python benchmarks/bench_core.py``
(``--quick`` for a short run, ``--out FILE`` to write the markdown table too).

Every row of a workload is timed in the same process, samples taken round-robin
(so a noisy neighbour slows every row alike), the garbage collector enabled.
The table gives the median time per call and the ratio of medians to the
baseline of the same workload: a plain-Python forward pass (``math`` module)
for floats, the hand-written NumPy derivative ``s*(1-s)`` for arrays. Every
pullback result is checked against the exact gradient before timing.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import pullback as pb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_times

exp = math.exp


@dataclass(frozen=True)
class Row:
    label: str
    fn: Callable[[], Any]
    stages: int = 1


@dataclass(frozen=True)
class Workload:
    title: str
    baseline: str
    rows: tuple[Row, ...]
    expected: Any  # the exact gradient, which every pullback row must give


def _straight_line(cycle_len: int, n: int, derivative: bool) -> Callable[[float], float]:
    """Plain Python for the W3 cycle, written out as a person would (compiled once)."""
    lines = ["def f(x, exp=exp):", "    d = 1.0"]
    for i in range(n):
        op = i % cycle_len
        if op == 0:
            lines.append("    x = 1.0 / (1.0 + exp(-x))")
            if derivative:
                lines.append("    d = d * (x * (1.0 - x))")
        elif op == 1:
            lines.append("    x = 4.0 * x")
            if derivative:
                lines.append("    d = d * 4.0")
        else:
            lines.append("    x = x + -2.0")
    lines.append("    return d" if derivative else "    return x")
    namespace: dict[str, Any] = {"exp": exp}
    exec("\n".join(lines), namespace)
    fn: Callable[[float], float] = namespace["f"]
    return fn


def cycle_chain(n: int) -> Any:
    cycle = [pb.sigmoid, pb.scale(4.0), pb.add_const(-2.0)]
    return pb.compose(*[cycle[i % 3] for i in range(n)][::-1])


def workloads(quick: bool) -> list[Workload]:
    w1 = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    w2 = pb.compose(pb.square, pb.exp, pb.square)

    def plain_sigmoid(x: float) -> float:
        return 1.0 / (1.0 + exp(-x))

    def hand_sigmoid_derivative(x: float) -> float:
        s = 1.0 / (1.0 + exp(-x))
        return s * (1.0 - s)

    def plain_w2(x: float) -> float:
        y = exp(x * x)
        return y * y

    def hand_w2(x: float) -> float:
        return 4.0 * x * exp(2.0 * x * x)

    def pullback_then_back(f: Any, x: Any) -> Any:
        _, back = pb.pullback(f, x)
        return back(1.0)

    out = [
        Workload(
            "W1 sigmoid chain power(-1)∘add_const(1)∘exp∘scale(-1) at 1.0",
            "plain forward",
            (
                Row("plain forward", lambda: plain_sigmoid(1.0)),
                Row("hand-written derivative", lambda: hand_sigmoid_derivative(1.0)),
                Row("pullback gradient", lambda: pb.gradient(w1, 1.0)),
                Row("pullback(f, x)", lambda: pb.pullback(w1, 1.0)),
                Row("pullback(f, x) then back(1.0)", lambda: pullback_then_back(w1, 1.0)),
                Row("stage by stage", lambda: w1.forward(1.0)[1](1.0)),
            ),
            hand_sigmoid_derivative(1.0),
        ),
        Workload(
            "sigmoid primitive at 1.0",
            "plain forward",
            (
                Row("plain forward", lambda: plain_sigmoid(1.0)),
                Row("hand-written derivative", lambda: hand_sigmoid_derivative(1.0)),
                Row("pullback gradient", lambda: pb.gradient(pb.sigmoid, 1.0)),
            ),
            hand_sigmoid_derivative(1.0),
        ),
        Workload(
            "W2 (exp(x²))² at 0.5",
            "plain forward",
            (
                Row("plain forward", lambda: plain_w2(0.5)),
                Row("hand-written derivative", lambda: hand_w2(0.5)),
                Row("pullback gradient", lambda: pb.gradient(w2, 0.5)),
            ),
            hand_w2(0.5),
        ),
    ]
    for n in (10, 1000, 100_000):
        chain = cycle_chain(n)
        fwd = _straight_line(3, n, False)
        der = _straight_line(3, n, True)
        out.append(
            Workload(
                f"W3 chain of {n:,} stages (sigmoid, scale(4), add_const(-2)) at 1.0",
                "plain forward",
                (
                    Row("plain forward", lambda fwd=fwd: fwd(1.0), n),
                    Row("hand-written derivative", lambda der=der: der(1.0), n),
                    Row("pullback gradient", lambda c=chain: pb.gradient(c, 1.0), n),
                    Row("stage by stage", lambda c=chain: c.forward(1.0)[1](1.0), n),
                ),
                der(1.0),
            )
        )
    for size in (10**3, 10**6):
        x = np.linspace(-5.0, 5.0, size)

        def hand_array(x: Any = x) -> Any:
            s = 1.0 / (1.0 + np.exp(-x))
            return s * (1.0 - s)

        out.append(
            Workload(
                f"W4 float64 array of {size:,}: the sigmoid chain and the sigmoid primitive",
                "hand-written NumPy derivative",
                (
                    Row("hand-written NumPy derivative", hand_array),
                    Row("pullback gradient, W1 chain", lambda x=x: pb.gradient(w1, x)),
                    Row("pullback gradient, sigmoid", lambda x=x: pb.gradient(pb.sigmoid, x)),
                ),
                hand_array(),
            )
        )
    return out


def check(workload: Workload) -> None:
    """Every pullback row must give the exact gradient (relative error 1e-9)."""
    for row in workload.rows:
        if row.label.startswith(("pullback", "stage")) and row.label != "pullback(f, x)":
            got = row.fn()
            if not np.allclose(got, workload.expected, rtol=1e-9, atol=0):
                raise SystemExit(f"{workload.title}: {row.label} gave {got!r}")


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter samples")
    parser.add_argument("--out", help="also write the markdown table to this file")
    args = parser.parse_args(argv)
    samples, target = (5, 0.02) if args.quick else (15, 0.1)
    lines = [
        f"pullback {pb.__version__}, Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}, {time.strftime('%Y-%m-%d')}; median of {samples} samples",
        "",
        "| workload | row | median per call | per stage | ratio to baseline |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for workload in workloads(args.quick):
        check(workload)
        medians = median_times([row.fn for row in workload.rows], samples, target)
        base = medians[[row.label for row in workload.rows].index(workload.baseline)]
        for row, median in zip(workload.rows, medians, strict=True):
            per_stage = fmt_time(median / row.stages) if row.stages > 1 else ""
            line = (
                f"| {workload.title} | {row.label} | {fmt_time(median)} | {per_stage} | "
                f"{median / base:.2f}× |"
            )
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
