"""Jacobians, Hessians and Hessian-vector products, against the targets of issue 11 and JAX.

Rows, sampled round-robin in one process (medians), BLAS pinned to one thread
(OMP_NUM_THREADS=1, set here before NumPy loads, and XLA_FLAGS for JAX):

- ``jacobian`` of R^100 -> R^100, ``f(x) = tanh(W x + b) * x + sin(x)``,
  reverse (``mode="reverse"``) and forward (``mode="forward"``), against
  ``jax.jit(jax.jacrev(f))``;
- ``hessian`` of the n-dimensional Rosenbrock function at n = 2 and n = 100,
  against ``jax.jit(jax.hessian(f))``;
- ``hvp(f, x, v)`` at n = 2 and 100, and ``pushforward`` of the traced
  gradient (forward over reverse), against
  ``jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])``.

JAX (from the peers' venv, never a dependency of pullback) is compiled before
timing; its first call (compilation included) is printed once. For pullback,
which has no compile step, the first call of each row in the process is timed
too and shown as a ratio to the median call; then, in fresh processes (the
script again with ``--first-call``), the first call against the second.
Every row is checked first: the Jacobian against 5-point central
differences, the Hessian against the analytic Rosenbrock Hessian, hvp against
the Hessian times v, and JAX's rows against the same.

    python benchmarks/bench_forward.py [--quick]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
# JAX on one thread as well (its CPU client would otherwise use every core).
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import pullback as pb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_times

N_MAP = 100


def rosenbrock(x: Any) -> Any:
    """sum(100 (x[i+1] - x[i]²)² + (1 - x[i])²), in plain NumPy (traced or not)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x: Any) -> Any:
    """The analytic Hessian of :func:`rosenbrock`, a tridiagonal matrix."""
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    h[i + 1, i + 1] += 200.0
    h[i, i + 1] = h[i + 1, i] = -400.0 * x[:-1]
    return h


def _format(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _close(got: Any, expected: Any, rel: float) -> bool:
    scale = max(1.0, float(np.max(np.abs(expected))))
    return bool(np.max(np.abs(np.asarray(got) - expected)) <= rel * scale)


def _five_point(f: Callable[[Any], Any], x: Any, h: float = 1e-3) -> Any:
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h))
    return np.stack(columns, axis=-1)


def _first(firsts: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    """Call ``fn`` for the first time, keeping how long it took in ``firsts``."""
    start = time.perf_counter()
    out = fn()
    firsts[name] = time.perf_counter() - start
    return out


def _jax() -> Any:
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def _compiled(jax: Any, fn: Any, *args: Any) -> Callable[[], Any]:
    """``fn`` jitted, compiled by a first call (timed and printed), as a timed row."""
    jitted = jax.jit(fn)
    start = time.perf_counter()
    jitted(*args).block_until_ready()
    print(f"  jax first call (compiling) of {fn.__name__}: {_format(time.perf_counter() - start)}")
    return lambda: jitted(*args).block_until_ready()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter runs")
    parser.add_argument(
        "--first-call", action="store_true", help="print each row's first and second call only"
    )
    args = parser.parse_args()
    samples, target = (3, 0.05) if args.quick else (11, 0.3)
    jax = None if args.first_call else _jax()
    jnp = jax.numpy if jax is not None else None
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"jax {jax.__version__ if jax is not None else '(not installed)'}; "
        f"OMP_NUM_THREADS=1; median of {samples} samples\n"
    )

    firsts: dict[str, float] = {}  # each row's first call in this process, by name
    # name, pullback row, its check, jax row (or None), the target ratio to jax
    groups: list[tuple[str, list[tuple[str, Callable[[], Any]]], Any, str]] = []

    rng = np.random.default_rng(0)
    w = rng.normal(size=(N_MAP, N_MAP)) / np.sqrt(N_MAP)
    b = rng.normal(size=N_MAP)
    xm = rng.normal(size=N_MAP)

    def layer(x: Any) -> Any:
        return np.tanh(w @ x + b) * x + np.sin(x)

    f_map = pb.trace(layer)
    expected_j = _five_point(layer, xm)
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("jacobian(f, x), reverse", lambda: pb.jacobian(f_map, xm, mode="reverse")),
        ("jacobian(f, x), forward", lambda: pb.jacobian(f_map, xm, mode="forward")),
    ]
    for name, fn in rows:
        if not _close(_first(firsts, name, fn), expected_j, 1e-8):
            raise SystemExit(f"{name} disagrees with central differences")
    jax_row = None
    if jax is not None:
        wj, bj = jnp.asarray(w), jnp.asarray(b)

        def jlayer(x: Any) -> Any:
            return jnp.tanh(wj @ x + bj) * x + jnp.sin(x)

        jacrev = jax.jacrev(jlayer)
        jacrev.__name__ = "jacrev"
        jax_row = _compiled(jax, jacrev, jnp.asarray(xm))
        if not _close(jax_row(), expected_j, 1e-8):
            raise SystemExit("jax.jacrev disagrees with central differences")
    groups.append((f"jacobian R^{N_MAP} → R^{N_MAP}", rows, jax_row, "3×"))

    f = pb.trace(rosenbrock)
    for n in (2, 100):
        rng = np.random.default_rng(n)
        x = rng.normal(size=n)
        v = rng.normal(size=n)
        expected_h = rosenbrock_hessian(x)
        rows = [(f"hessian(f, x), n = {n}", lambda x=x: pb.hessian(f, x))]
        if not _close(_first(firsts, *rows[0]), expected_h, 1e-9):
            raise SystemExit(f"hessian at n = {n} disagrees with the analytic Hessian")
        jax_row = None
        if jax is not None:

            def jrosen(z: Any) -> Any:
                return jnp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

            hess = jax.hessian(jrosen)
            hess.__name__ = f"hessian (n = {n})"
            jax_row = _compiled(jax, hess, jnp.asarray(x))
            if not _close(jax_row(), expected_h, 1e-9):
                raise SystemExit(f"jax.hessian at n = {n} disagrees with the analytic Hessian")
        groups.append((f"Rosenbrock Hessian, n = {n}", rows, jax_row, "10×" if n == 2 else "3×"))

        def forward_over_reverse(x: Any = x, v: Any = v) -> Any:
            _, push = pb.pushforward(pb.trace(lambda p: pb.gradient(f, p)), x)
            return push(v)

        rows = [
            (f"hvp(f, x, v), n = {n}", lambda x=x, v=v: pb.hvp(f, x, v)),
            (f"pushforward of gradient, n = {n}", forward_over_reverse),
        ]
        for name, fn in rows:
            if not _close(_first(firsts, name, fn), expected_h @ v, 1e-9):
                raise SystemExit(f"{name} disagrees with the Hessian times v")
        jax_row = None
        if jax is not None:

            def jhvp(a: Any, d: Any) -> Any:
                return jax.jvp(jax.grad(jrosen), (a,), (d,))[1]

            jhvp.__name__ = f"jvp(grad) (n = {n})"
            jax_row = _compiled(jax, jhvp, jnp.asarray(x), jnp.asarray(v))
            if not _close(jax_row(), expected_h @ v, 1e-9):
                raise SystemExit(f"jax's jvp(grad) at n = {n} disagrees with the Hessian times v")
        groups.append((f"hvp, n = {n}", rows, jax_row, "3×" if n == 100 else "—"))

    if args.first_call:  # one process's first and second call of each row, for the driver
        for _, rows, _, _ in groups:
            for name, fn in rows:
                start = time.perf_counter()
                fn()
                print(f"{name}\t{firsts[name]}\t{time.perf_counter() - start}")
        return
    lines = [
        "| group | row | first call | median | first / median | jax.jit | ratio to jax | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group, rows, jax_row, goal in groups:
        row_firsts = [firsts[name] for name, _ in rows]
        fns = [fn for _, fn in rows] + ([jax_row] if jax_row is not None else [])
        times = median_times(fns, samples, target)
        for (name, _), first, t in zip(rows, row_firsts, times, strict=False):
            jax_cell = _format(times[-1]) if jax_row is not None else "—"
            ratio = f"{t / times[-1]:.1f}×" if jax_row is not None else "—"
            lines.append(
                f"| {group} | {name} | {_format(first)} | {_format(t)} | {first / t:.2f} "
                f"| {jax_cell} | {ratio} | {goal} |"
            )
    print()
    print("\n".join(lines))
    print()
    print(_first_calls(3 if args.quick else 7))


def _first_calls(processes: int) -> str:
    """Each row's first call against its second, in fresh processes (medians of ``processes``)."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(processes):
        out = subprocess.run(
            [sys.executable, __file__, "--first-call"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            if line.count("\t") == 2:
                name, first, second = line.split("\t")
                runs.setdefault(name, []).append((float(first), float(second)))
    lines = [
        f"First call in a fresh process against the second (medians of {processes} processes):",
        "",
        "| row | first call | second call | first / second |",
        "|---|---|---|---|",
    ]
    for name, pairs in runs.items():
        first = statistics.median(p[0] for p in pairs)
        second = statistics.median(p[1] for p in pairs)
        ratio = statistics.median(p[0] / p[1] for p in pairs)
        lines.append(f"| {name} | {_format(first)} | {_format(second)} | {ratio:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
