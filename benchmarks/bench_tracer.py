"""Traced scalar code at the floor of a Python tracer: pullback against a minimal tracer and peers.

Run from the project root: ``python benchmarks/bench_tracer.py`` (``--quick`` for a
short run, ``--runs K`` to repeat every table K times in one process and report
the spread). The reference row is ``minimal_tracer.py`` (one object per
operation, a node list, one backward loop of multiply-adds); ratios are to it.
jax.jit(grad), micrograd and PyTorch rows appear when they are importable (the
peers' virtualenv); they are never dependencies of pullback. Rows of one
workload are sampled round-robin in one process (the garbage collector
enabled) and every gradient is checked against the hand-written one first.
Times are the process's CPU time (``time.process_time``): the machine's two
cores are shared, and waiting for one is not the code's cost. Each table is
measured once more first, as a warm-up, and that run is discarded.

Workloads: the 11-operation expression ``sin(a*b) + exp(c)/(1+a*a) - tanh(b*c)*a``
and the loop ``x = x*0.999 + sin(x)*1e-3`` (4 operations an iteration) at 8 to
20,000 operations. The split into a fixed cost per call and a cost per
operation is the straight line through the 8- and 200-operation loops.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import pullback as pb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minimal_tracer as mt
from timing import median_times
from workloads import expression, expression_derivative, loop, loop_derivative

Row = tuple[str, Callable[[], Any]]
A, B, C = 0.7, 1.3, 0.4
X0 = 0.5
SIZES = (8, 200, 2000, 20000)


# -- peers, when importable -------------------------------------------------------------


def _jax() -> Any:
    try:
        jax = importlib.import_module("jax")
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    return jax


def _micrograd() -> Any:
    """micrograd's Value with sin, exp and tanh added as its README extends it."""
    try:
        engine = importlib.import_module("micrograd.engine")
    except ImportError:
        return None
    value = engine.Value
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))  # its backward pass recurses

    def unary(name: str, f: Callable[[float], float], df: Callable[[float, float], float]) -> Any:
        def op(x: Any) -> Any:
            out = value(f(x.data), (x,), name)

            def _backward() -> None:
                x.grad += df(x.data, out.data) * out.grad

            out._backward = _backward
            return out

        return op

    class Lib:
        sin = staticmethod(unary("sin", math.sin, lambda x, y: math.cos(x)))
        exp = staticmethod(unary("exp", math.exp, lambda x, y: y))
        tanh = staticmethod(unary("tanh", math.tanh, lambda x, y: 1.0 - y * y))

    return value, Lib


def _torch() -> Any:
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


# -- rows -------------------------------------------------------------------------------


def expression_rows() -> list[Row]:
    traced = pb.trace(lambda a, b, c: expression(a, b, c, np))
    traced_ops = pb.trace(lambda a, b, c: expression(a, b, c, pb.ops))

    def minimal_np(a: Any, b: Any, c: Any) -> Any:
        return expression(a, b, c, np)

    rows: list[Row] = [
        ("plain forward (math)", lambda: expression(A, B, C, math)),
        ("hand-written derivative", lambda: expression_derivative(A, B, C)),
        ("minimal tracer", lambda: mt.gradient(lambda a, b, c: expression(a, b, c, mt), A, B, C)),
        ("minimal tracer, np.sin", lambda: mt.gradient(minimal_np, A, B, C)),
        ("pullback traced, pullback.ops", lambda: pb.gradient(traced_ops, A, B, C)),
        ("pullback traced, np.sin", lambda: pb.gradient(traced, A, B, C)),
    ]
    jax = _jax()
    if jax is not None:
        jnp = importlib.import_module("jax.numpy")
        g = jax.jit(jax.grad(lambda a, b, c: expression(a, b, c, jnp), argnums=(0, 1, 2)))
        rows.append(("jax.jit(grad)", lambda: tuple(float(v) for v in g(A, B, C))))
    micro = _micrograd()
    if micro is not None:
        value, lib = micro

        def micrograd_expression() -> Any:
            a, b, c = value(A), value(B), value(C)
            expression(a, b, c, lib).backward()
            return (a.grad, b.grad, c.grad)

        rows.append(("micrograd", micrograd_expression))
    torch = _torch()
    if torch is not None:

        def torch_expression() -> Any:
            a, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (A, B, C))
            expression(a, b, c, torch).backward()
            return (a.grad.item(), b.grad.item(), c.grad.item())

        rows.append(("PyTorch", torch_expression))
    return rows


def loop_rows(n_ops: int, peers: bool, gc_rows: bool) -> list[Row]:
    k = n_ops // 4
    traced = pb.trace(lambda x: loop(x, k, np))
    traced_ops = pb.trace(lambda x: loop(x, k, pb.ops))
    rows: list[Row] = [
        ("plain forward (math)", lambda: loop(X0, k, math)),
        ("hand-written derivative", lambda: loop_derivative(X0, k)),
        ("minimal tracer", lambda: mt.gradient(lambda x: loop(x, k, mt), X0)[0]),
        ("minimal tracer, np.sin", lambda: mt.gradient(lambda x: loop(x, k, np), X0)[0]),
        ("pullback traced, pullback.ops", lambda: pb.gradient(traced_ops, X0)),
        ("pullback traced, np.sin", lambda: pb.gradient(traced, X0)),
    ]
    if gc_rows:
        rows.append(("minimal tracer, gc disabled", _without_gc(rows[2][1])))
        rows.append(("pullback traced, pullback.ops, gc disabled", _without_gc(rows[4][1])))
    if not peers:
        return rows
    jax = _jax()
    if jax is not None and n_ops <= 200:  # jit compile time grows fast with unrolled loops
        jnp = importlib.import_module("jax.numpy")
        g = jax.jit(jax.grad(lambda x: loop(x, k, jnp)))
        rows.append(("jax.jit(grad)", lambda: float(g(X0))))
    micro = _micrograd()
    if micro is not None and n_ops <= 2000:  # its backward pass recurses once per node
        value, lib = micro

        def micrograd_loop() -> Any:
            x = value(X0)
            loop(x, k, lib).backward()
            return x.grad

        rows.append(("micrograd", micrograd_loop))
    torch = _torch()
    if torch is not None and n_ops <= 2000:

        def torch_loop() -> Any:
            x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
            loop(x, k, torch).backward()
            return x.grad.item()

        rows.append(("PyTorch", torch_loop))
    return rows


def _without_gc(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        gc.disable()
        try:
            return fn()
        finally:
            gc.enable()

    return run


def check(rows: list[Row]) -> None:
    """Every row's gradient against the hand-written one."""
    reference = rows[1][1]()
    for label, fn in rows[2:]:
        got = fn()
        a = reference if isinstance(reference, tuple) else (reference,)
        b = got if isinstance(got, tuple) else (got,)
        for u, v in zip(a, b, strict=True):
            if not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-12):
                raise SystemExit(f"{label}: gradient {got} differs from {reference}")


def _fmt(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:.3g} µs" if us < 1000 else f"{us / 1000:.3g} ms"


def _spread(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{statistics.median(values):.2f}×" + (
        f" ({lo:.2f}–{hi:.2f})" if len(values) > 1 else ""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-gc-rows", action="store_true", help="omit the gc-disabled rows")
    args = parser.parse_args(argv)
    samples, target = (5, 0.02) if args.quick else (11, 0.1)
    print(
        f"pullback {pb.__version__}, Python {sys.version.split()[0]}, NumPy {np.__version__}, "
        f"{os.uname().machine}, {time.strftime('%Y-%m-%d %H:%M')}; median of {samples} samples, "
        f"{args.runs} run(s) in one process (ratios: median over runs, range in brackets); "
        "CPU time"
    )
    print()
    workloads: list[tuple[str, int, list[Row]]] = [
        ("11-operation expression sin(a*b) + exp(c)/(1+a*a) - tanh(b*c)*a", 11, expression_rows())
    ]
    for n in SIZES:
        workloads.append(
            (f"loop x = x*0.999 + sin(x)*1e-3, {n:,} operations", n,
             loop_rows(n, peers=n > 8, gc_rows=not args.no_gc_rows and n > 8))
        )  # fmt: skip
    results: dict[tuple[str, str], list[float]] = {}
    for title, _, rows in workloads:
        check(rows)
        for run in range(args.runs + 1):
            medians = median_times([fn for _, fn in rows], samples, target, time.process_time)
            if run == 0:
                continue  # a warm-up run, discarded (the peers' threads settle after compiling)
            for (label, _), m in zip(rows, medians, strict=True):
                results.setdefault((title, label), []).append(m)
    print(
        "| workload | row | median per gradient | per operation | × minimal tracer "
        "| × minimal tracer, np.sin |"
    )
    print("|---|---|---|---|---|---|")
    for title, n_ops, rows in workloads:
        columns = []
        for reference in ("minimal tracer", "minimal tracer, np.sin"):
            columns.append(results.get((title, reference)))
        for label, _ in rows:
            times = results[(title, label)]
            cells = [
                _spread([t / m for t, m in zip(times, ref, strict=True)]) if ref else ""
                for ref in columns
            ]
            median = statistics.median(times)
            print(
                f"| {title} | {label} | {_fmt(median)} | {_fmt(median / n_ops)} "
                f"| {' | '.join(cells)} |"
            )
    print()
    print("Split (straight line through the 8- and 200-operation loops; per operation at")
    print("20,000 ÷ at 200 is the growth):")
    print()
    print("| row | fixed cost per call | per operation | per op at 20,000 ÷ at 200 |")
    print("|---|---|---|---|")
    small, mid, big = (f"loop x = x*0.999 + sin(x)*1e-3, {n:,} operations" for n in (8, 200, 20000))
    for label in (
        "minimal tracer",
        "minimal tracer, np.sin",
        "pullback traced, pullback.ops",
        "pullback traced, np.sin",
    ):
        t8 = statistics.median(results[(small, label)])
        t200 = statistics.median(results[(mid, label)])
        per_op = (t200 - t8) / 192
        growths = [
            (b / 20000) / (m / 200)
            for b, m in zip(results[(big, label)], results[(mid, label)], strict=True)
        ]
        print(f"| {label} | {_fmt(t8 - 8 * per_op)} | {_fmt(per_op)} | {_spread(growths)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
