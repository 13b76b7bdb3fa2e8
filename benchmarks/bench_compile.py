"""Compiled traced functions: time per gradient against the traced path, the plain code and jax.

Rows of one workload are sampled round-robin in one process (medians), and
every gradient is checked against the traced path's before timing:

1. the loop ``x = x*0.999 + sin(x)*1e-3`` (4 operations an iteration) at 200
   and 800 operations;
2. the 11-operation expression ``sin(a*b) + exp(c)/(1+a*a) - tanh(b*c)*a``;
3. the two-layer network's loss gradient (Affine → ReLU → Affine → softmax
   cross-entropy, float64) at 64 → 50 → 10, batch 32, and 784 → 50 → 10, batch
   100, against the book's hand-written layer classes (benchmarks/bench_two_layer.py);
4. compiling: the first call of a fresh ``compiled`` rule on the 1,000-operation
   loop (recording, code generation, Python's compile, one forward and backward).

jax rows appear when jax is importable (use the peers' virtualenv: see
../shared/bench/README.md); jax is never a dependency. BLAS is pinned to one
thread (``OMP_NUM_THREADS=1``, set below before NumPy is imported).

    python benchmarks/bench_compile.py [--quick] [--cpu] [--out FILE]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import datetime
import importlib
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import pullback as pb
from pullback import ops

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import two_layer_net as example
from bench_two_layer import TwoLayerNet
from timing import median_times
from workloads import expression, expression_derivative, loop, loop_derivative

Row = tuple[str, Callable[[], Any]]


def loop_of(iterations: int, lib: Any) -> Callable[[Any], Any]:
    """The loop as a function of ``x`` alone (what ``compiled`` and ``jax.grad`` take)."""
    return partial(loop, iterations=iterations, lib=lib)


def network_loss(params: dict[str, Any], x: Any, labels: Any) -> Any:
    hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
    return ops.softmax_cross_entropy(ops.affine(hidden, params["W2"], params["b2"]), labels)


def jax_module() -> Any:
    try:
        jax = importlib.import_module("jax")
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def scalar_rows(jax: Any) -> list[tuple[str, list[Row]]]:
    workloads = []
    for iterations in (50, 200):
        loop = loop_of(iterations, np)
        traced, fast = pb.trace(loop), pb.compiled(loop)
        want = pb.gradient(traced, 0.5)
        assert pb.gradient(fast, 0.5) == want
        assert math.isclose(loop_derivative(0.5, iterations), want, rel_tol=1e-12)
        rows: list[Row] = [
            ("plain Python forward (math)", partial(loop_of(iterations, math), 0.5)),
            ("hand-written derivative (math)", partial(loop_derivative, 0.5, iterations)),
            ("pullback traced: gradient(trace(f))", partial(pb.gradient, traced, 0.5)),
            ("pullback compiled: gradient(compiled(f))", partial(pb.gradient, fast, 0.5)),
        ]
        if jax is not None:
            grad = jax.jit(jax.grad(loop_of(iterations, jax.numpy)))
            assert abs(float(grad(0.5)) - want) <= 1e-12
            rows.append(("jax.jit(jax.grad(f))", partial(grad, 0.5)))
        workloads.append((f"loop, {4 * iterations} operations", rows))
    traced3, fast3 = pb.trace(expression), pb.compiled(expression)
    point = (0.5, 0.7, 0.3)
    want3 = pb.gradient(traced3, *point)
    assert pb.gradient(fast3, *point) == want3
    by_hand = expression_derivative(*point)
    assert all(math.isclose(u, v, rel_tol=1e-12) for u, v in zip(want3, by_hand, strict=True))
    rows3: list[Row] = [
        ("plain Python forward (math)", partial(expression, *point, lib=math)),
        ("hand-written derivative (math)", partial(expression_derivative, *point)),
        ("pullback traced: gradient(trace(f))", partial(pb.gradient, traced3, *point)),
        ("pullback compiled: gradient(compiled(f))", partial(pb.gradient, fast3, *point)),
    ]
    if jax is not None:
        grad3 = jax.jit(jax.grad(partial(expression, lib=jax.numpy), argnums=(0, 1, 2)))
        assert all(abs(float(u) - v) <= 1e-14 for u, v in zip(grad3(*point), want3, strict=True))
        rows3.append(("jax.jit(jax.grad(f))", partial(grad3, *point)))
    workloads.append(("expression, 11 operations", rows3))
    return workloads


def batch_of(size: tuple[int, int, int], batch: int) -> tuple[Any, Any]:
    """The first digits (64 inputs; seeded random rows if scikit-learn is absent), or random."""
    if size[0] == 64:
        try:
            x_train, y_train, _, _ = example.load_digits(0)
            return x_train[:batch], y_train[:batch]
        except ImportError:
            pass
    rng = np.random.default_rng(batch)
    return rng.uniform(0.0, 1.0, (batch, size[0])), rng.integers(0, size[2], batch)


def network_rows(jax: Any) -> list[tuple[str, list[Row]]]:
    workloads = []
    for size, batch in (((64, 50, 10), 32), ((784, 50, 10), 100)):
        params = example.init_params(size, 0)
        x, labels = batch_of(size, batch)
        t = example.one_hot(labels, size[2])
        book = TwoLayerNet(params)
        traced, fast = pb.trace(network_loss), pb.compiled(network_loss)
        fast_numpy = pb.compiled(example.loss)
        value, (grads, _, _) = pb.value_and_gradient(traced, params, x, labels)
        value2, (grads2, _, _) = pb.value_and_gradient(fast, params, x, labels)
        value3, (grads3, _, _) = pb.value_and_gradient(fast_numpy, params, x, t)
        book_loss, book_grads = book.gradient(x, t)
        assert value == value2 and abs(value - value3) <= 1e-12 and abs(value - book_loss) <= 1e-5
        for k in params:
            assert np.array_equal(grads[k], grads2[k]), k
            assert np.max(np.abs(grads[k] - book_grads[k])) <= 1e-12, k
            assert np.max(np.abs(grads3[k] - book_grads[k])) <= 1e-12, k
        rows: list[Row] = [
            ("hand-written NumPy, the book's layer classes", partial(book.gradient, x, t)),
            (
                "pullback traced, network rules",
                partial(pb.value_and_gradient, traced, params, x, labels),
            ),
            (
                "pullback compiled, network rules",
                partial(pb.value_and_gradient, fast, params, x, labels),
            ),
            (
                "pullback compiled, plain NumPy loss (the example's)",
                partial(pb.value_and_gradient, fast_numpy, params, x, t),
            ),
        ]
        if jax is not None:
            jnp = jax.numpy

            def jax_loss(p: Any, x: Any, t: Any, jnp: Any = jnp) -> Any:
                hidden = jnp.maximum(x @ p["W1"] + p["b1"], 0.0)
                return -jnp.mean(jnp.sum(jax.nn.log_softmax(hidden @ p["W2"] + p["b2"]) * t, 1))

            jax_grad = jax.jit(jax.value_and_grad(jax_loss))
            jp = {k: jnp.asarray(v) for k, v in params.items()}
            jx, jt = jnp.asarray(x), jnp.asarray(t)
            jax_grad(jp, jx, jt)
            rows.append(
                (
                    "jax.jit(jax.value_and_grad(loss)), arrays on the device",
                    lambda g=jax_grad, p=jp, a=jx, b=jt: jax.block_until_ready(g(p, a, b)),
                )
            )
        network = " → ".join(map(str, size))
        workloads.append((f"two-layer network {network}, batch {batch}", rows))
    return workloads


def compile_times(samples: int, jax: Any, clock: Callable[[], float]) -> list[str]:
    """First-call time of a fresh compiled rule on the 1,000-operation loop (ms)."""
    loop = loop_of(250, np)
    want = pb.gradient(pb.trace(loop), 0.5)
    times = []
    for _ in range(samples):
        start = clock()
        fast = pb.compiled(loop)
        got = pb.gradient(fast, 0.5)
        times.append(clock() - start)
        assert got == want
    again = pb.compiled(loop)
    pb.gradient(again, 0.5)
    lines = [
        "| what | median | range |",
        "|---|---|---|",
        f"| pullback: compiled(f), first gradient (record, generate, compile, run) "
        f"| {statistics.median(times) * 1e3:.1f} ms | {min(times) * 1e3:.1f}–"
        f"{max(times) * 1e3:.1f} ms |",
    ]
    if jax is not None:
        start = clock()
        grad = jax.jit(jax.grad(loop_of(250, jax.numpy)))
        grad(0.5).block_until_ready()
        lines.append(
            f"| jax.jit(jax.grad(f)), first call (one sample) | "
            f"{(clock() - start) * 1e3:.1f} ms | |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the markdown tables to this file")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time with the process's CPU time (time.process_time), which waiting for a "
        "shared core does not inflate; jax's threads count too",
    )
    args = parser.parse_args(argv)
    samples, target = (5, 0.05) if args.quick else (11, 0.2)
    jax = jax_module()
    clock = time.process_time if args.cpu else time.perf_counter
    header = (
        f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='minutes')}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {platform.machine()}, "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} pinned, jax "
        f"{jax.__version__ if jax is not None else 'not installed'}; median of {samples} "
        "samples, the rows of each workload sampled round-robin in one run; load average "
        f"{os.getloadavg()[0]:.1f} at the start; "
        f"{'CPU time (time.process_time)' if args.cpu else 'wall time (time.perf_counter)'}"
    )
    out = [header, ""]
    print(header, end="\n\n", flush=True)
    for name, rows in scalar_rows(jax) + network_rows(jax):
        medians = median_times([fn for _, fn in rows], samples, target, clock)
        base = medians[0]
        compiled_row = next(m for (k, _), m in zip(rows, medians, strict=True) if "compiled" in k)
        table = [
            f"### {name}",
            "",
            "| version | median per call | ratio to the first row | ratio to pullback compiled |",
            "|---|---|---|---|",
        ]
        for (label, _), median in zip(rows, medians, strict=True):
            table.append(
                f"| {label} | {median * 1e6:.1f} µs | {median / base:.2f}× "
                f"| {median / compiled_row:.2f}× |"
            )
        out += [*table, ""]
        print("\n".join(table) + "\n", flush=True)
    table = ["### Compiling 1,000 operations", "", *compile_times(samples, jax, clock)]
    out += table
    print("\n".join(table), flush=True)
    if args.out is not None:
        args.out.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
