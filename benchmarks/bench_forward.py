"""Hessian-vector products: ``hvp`` against the full Hessian and, if installed, JAX.

The n-dimensional Rosenbrock function written in plain NumPy inside ``trace``,
at n = 2 and n = 100, one random point and direction per n. Rows, sampled
round-robin in one process (medians):

- ``hvp(f, x, v)``: reverse over reverse (what ``hvp`` does): the gradient of
  ``<∇f(x), v>`` with respect to ``x``;
- forward over reverse: ``pushforward`` of the traced gradient, then ``push(v)``
  (the same forward pass and one push per call);
- ``hessian(f, x) @ v``: the full Hessian, one pullback per row;
- ``jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])``, compiled
  before timing, when jax is importable (never a dependency of pullback), and
  its first call (compilation included) once.

Every row is checked against ``hessian(f, x) @ v`` to 1e-9 (relative) first.

    python benchmarks/bench_forward.py [--quick]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import pullback as pb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_times


def rosenbrock(x: Any) -> Any:
    """sum(100 (x[i+1] - x[i]²)² + (1 - x[i])²), in plain NumPy (traced or not)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _format(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _jax_rows(n: int, x: Any, v: Any) -> list[tuple[str, Callable[[], Any]]]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return []
    jax.config.update("jax_enable_x64", True)

    def jrosen(z: Any) -> Any:
        return jnp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

    jhvp = jax.jit(lambda a, b: jax.jvp(jax.grad(jrosen), (a,), (b,))[1])
    xj, vj = jnp.asarray(x), jnp.asarray(v)
    start = time.perf_counter()
    jhvp(xj, vj).block_until_ready()
    first = time.perf_counter() - start
    print(f"  n = {n}: jax.jit(jvp(grad)) first call (compiling): {_format(first)}")
    return [("jax.jit(jvp(grad))", lambda: np.asarray(jhvp(xj, vj).block_until_ready()))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter runs")
    args = parser.parse_args()
    samples, target = (3, 0.05) if args.quick else (11, 0.3)
    f = pb.trace(rosenbrock)
    print(
        f"pullback {pb.__version__ if hasattr(pb, '__version__') else ''}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}; median of {samples} samples\n"
    )
    lines = ["| n | row | median per call | ratio to hvp |", "|---|---|---|---|"]
    for n in (2, 100):
        rng = np.random.default_rng(n)
        x = rng.normal(size=n)
        v = rng.normal(size=n)
        expected = pb.hessian(f, x) @ v

        def forward_over_reverse(x: Any = x, v: Any = v) -> Any:
            _, push = pb.pushforward(pb.trace(lambda p: pb.gradient(f, p)), x)
            return push(v)

        rows: list[tuple[str, Callable[[], Any]]] = [
            ("hvp (reverse over reverse)", lambda x=x, v=v: pb.hvp(f, x, v)),
            ("pushforward of gradient (forward over reverse)", forward_over_reverse),
            ("hessian(f, x) @ v", lambda x=x, v=v: pb.hessian(f, x) @ v),
            *_jax_rows(n, x, v),
        ]
        for name, fn in rows:
            got = np.asarray(fn())
            scale = max(1.0, float(np.max(np.abs(expected))))
            if not np.max(np.abs(got - expected)) <= 1e-9 * scale:
                raise SystemExit(f"{name} at n = {n} disagrees with hessian(f, x) @ v")
        times = median_times([fn for _, fn in rows], samples, target)
        for (name, _), t in zip(rows, times, strict=True):
            lines.append(f"| {n} | {name} | {_format(t)} | {t / times[0]:.2f}× |")
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
