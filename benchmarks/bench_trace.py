"""Traced code against compose and the peers: time per gradient of the same scalar code.

Run from the project root: ``python benchmarks/bench_trace.py`` (``--quick`` for a
short run). HIPS autograd and PyTorch rows appear when they are installed (use
the peers' virtualenv, see ../shared/bench/README.md); they are never
dependencies of pullback. Rows of one workload are sampled round-robin in one
process and every gradient is checked against the others before timing.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import pullback as pb
from pullback import ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_times


def expression(x: Any, y: Any, lib: Any) -> Any:
    """Ten operations: the traced scalar expression of the benchmark."""
    a = x * y
    b = a + x
    c = lib.sin(b)
    d = c * c
    e = d - y
    f = lib.exp(e)
    g = f / x
    h = g + a
    i = lib.tanh(h)
    return i * 2.0


def chain_plain(x: float) -> float:
    """The sigmoid chain as plain Python (the W1 chain of the core benchmark)."""
    return 1.0 / (1.0 + math.exp(-x))


def build_rows() -> dict[str, list[tuple[str, Callable[[], Any]]]]:
    traced = pb.trace(lambda x, y: expression(x, y, ops))
    w1_compose = pb.compose(pb.power(-1), pb.add_const(1), pb.exp, pb.scale(-1))
    w1_traced = pb.trace(lambda x: 1.0 / (1.0 + ops.exp(-x)))
    expr: list[tuple[str, Callable[[], Any]]] = [
        ("plain Python forward (math)", lambda: expression(0.7, 1.3, math)),
        ("pullback trace: gradient", lambda: pb.gradient(traced, 0.7, 1.3)),
    ]
    chain: list[tuple[str, Callable[[], Any]]] = [
        ("plain Python forward (math)", lambda: chain_plain(1.0)),
        ("pullback compose: gradient", lambda: pb.gradient(w1_compose, 1.0)),
        ("pullback trace: gradient", lambda: pb.gradient(w1_traced, 1.0)),
    ]
    try:
        torch = importlib.import_module("torch")
        torch.set_num_threads(1)

        def torch_expression() -> Any:
            x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
            y = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
            expression(x, y, torch).backward()
            return (x.grad.item(), y.grad.item())

        def torch_chain() -> Any:
            x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
            (1.0 / (1.0 + torch.exp(-x))).backward()
            return x.grad.item()

        expr.append(("PyTorch autograd, 0-d tensors", torch_expression))
        chain.append(("PyTorch autograd, 0-d tensors", torch_chain))
    except ImportError:
        pass
    try:
        autograd = importlib.import_module("autograd")
        anp = importlib.import_module("autograd.numpy")
        grad_xy = autograd.grad(lambda v: expression(v[0], v[1], anp))
        grad_chain = autograd.grad(lambda x: 1.0 / (1.0 + anp.exp(-x)))

        def hips_expression() -> Any:
            g = grad_xy(anp.array([0.7, 1.3]))
            return (float(g[0]), float(g[1]))

        expr.append(("HIPS autograd", hips_expression))
        chain.append(("HIPS autograd", lambda: grad_chain(1.0)))
    except ImportError:
        pass
    return {
        "10-operation scalar expression (sin, exp, tanh, + - * /)": expr,
        "4-stage sigmoid chain 1/(1+exp(-x)) at 1.0": chain,
    }


def check(rows: list[tuple[str, Callable[[], Any]]]) -> None:
    results = [fn() for label, fn in rows if not label.startswith("plain")]
    for other in results[1:]:
        a, b = (results[0], other) if isinstance(other, tuple) else ((results[0],), (other,))
        for u, v in zip(a, b, strict=True):
            if not math.isclose(u, v, rel_tol=1e-9):
                raise SystemExit(f"gradients disagree: {results}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    samples, target = (5, 0.02) if args.quick else (15, 0.1)
    print(
        f"Python {sys.version.split()[0]}, median of {samples} samples, {time.strftime('%Y-%m-%d')}"
    )
    print()
    print("| workload | row | median per gradient | ratio to plain forward | PyTorch ÷ this |")
    print("|---|---|---|---|---|")
    for title, rows in build_rows().items():
        check(rows)
        medians = median_times([fn for _, fn in rows], samples, target)
        torch_time = next(
            (m for (label, _), m in zip(rows, medians, strict=True) if "PyTorch" in label), None
        )
        for (label, _), median in zip(rows, medians, strict=True):
            speedup = f"{torch_time / median:.1f}×" if torch_time else "n/a"
            print(
                f"| {title} | {label} | {median * 1e6:.2f} µs | {median / medians[0]:.1f}× "
                f"| {speedup} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
