"""The two-layer network: pullback's gradient and training step against hand-written NumPy.

Three tables, every row of one group sampled round-robin in one process:

1. The gradient of the loss (value and the four parameter gradients) of
   Affine → ReLU → Affine → Softmax-with-Loss at 64 → 50 → 10 (the digits when
   scikit-learn is installed, else seeded random rows) and 784 → 50 → 10
   (MNIST-sized random data: nothing is downloaded), batch 32 and 100: the
   example's loss written in plain NumPy inside ``trace``
   (``np.maximum(x @ W1 + b1, 0)``, a log-softmax with
   ``np.max(..., axis=1, keepdims=True)``), the same network with the
   library's network rules (``ops.affine``, ``ops.relu``,
   ``ops.softmax_cross_entropy``), and the book's layer classes in NumPy
   (Affine, Relu, SoftmaxWithLoss objects that keep x, mask and dW between
   forward and backward; hand-written derivatives), written here for the
   benchmark only. The three gradients are checked to agree to 1e-12 first.
2. One SGD training step at the issue's two targets (64 → 50 → 10 batch 32,
   784 → 50 → 10 batch 100), each version stepping its own parameters again
   and again as a training loop does: the book's network updated in place,
   pullback with the functional ``sgd_step`` (new arrays each step) and with
   the example's ``sgd_step_in_place`` (also with ``pb.compiled`` of the rules'
   and of the plain NumPy loss), and, when installed, jax.jit of the
   whole step and PyTorch (CPU, one thread). One step of each is checked to
   agree first.
3. Minor page faults per step (``resource.getrusage`` ``ru_minflt``) of those
   loops, counted over a few hundred steps after a warm-up.

BLAS is pinned to one thread (``OMP_NUM_THREADS=1``, set below before NumPy is
imported), so the ratios do not depend on how many cores happen to be free.

    python benchmarks/bench_two_layer.py [--quick] [--out FILE]
"""

from __future__ import annotations

import os

# One BLAS thread, set before NumPy loads its BLAS (OpenBLAS reads its own variable first).
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse
import datetime
import importlib
import importlib.util
import platform
import resource
import statistics
import subprocess
import sys
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
from timing import sampled_times

Params = dict[str, Any]
SIZES = ((64, 50, 10), (784, 50, 10))
BATCHES = (32, 100)


# -- the book's layer classes (hand-written derivatives, state kept on the layers) --


class Affine:
    def __init__(self, w: Any, b: Any) -> None:
        self.w, self.b = w, b
        self.x: Any = None
        self.dw: Any = None
        self.db: Any = None

    def forward(self, x: Any) -> Any:
        self.x = x
        return x @ self.w + self.b

    def backward(self, dout: Any) -> Any:
        dx = dout @ self.w.T
        self.dw = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return dx


class Relu:
    def __init__(self) -> None:
        self.mask: Any = None

    def forward(self, x: Any) -> Any:
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0.0
        return out

    def backward(self, dout: Any) -> Any:
        dout[self.mask] = 0.0
        return dout


class SoftmaxWithLoss:
    """The book's last layer: labels as one-hot rows or as class indices."""

    def __init__(self) -> None:
        self.y: Any = None
        self.t: Any = None

    def forward(self, x: Any, t: Any) -> float:
        shifted = x - np.max(x, axis=1, keepdims=True)
        self.y = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
        self.t = t
        n = x.shape[0]
        labels = t.argmax(axis=1) if t.size == self.y.size else t
        return float(-np.sum(np.log(self.y[np.arange(n), labels] + 1e-7)) / n)

    def backward(self, dout: float = 1.0) -> Any:
        n = self.t.shape[0]
        if self.t.size == self.y.size:  # one-hot rows
            return (self.y - self.t) * (dout / n)
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1.0
        return dx * (dout / n)


class TwoLayerNet:
    def __init__(self, params: Params) -> None:
        self.params = {k: v.copy() for k, v in params.items()}
        self.layers: list[Any] = [
            Affine(self.params["W1"], self.params["b1"]),
            Relu(),
            Affine(self.params["W2"], self.params["b2"]),
        ]
        self.last = SoftmaxWithLoss()

    def gradient(self, x: Any, t: Any) -> tuple[float, Params]:
        """Forward, then backward through the layers: the loss and the gradients."""
        for layer in self.layers:
            x = layer.forward(x)
        loss = self.last.forward(x, t)
        dout = self.last.backward(1.0)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        first, _, second = self.layers
        grads = {"W1": first.dw, "b1": first.db, "W2": second.dw, "b2": second.db}
        return loss, grads

    def step(self, x: Any, t: Any, learning_rate: float) -> float:
        loss, grads = self.gradient(x, t)
        for key in self.params:
            self.params[key] -= learning_rate * grads[key]  # in place, as the book does
        return loss


# -- pullback: the same network with the library's network rules --


def network_loss(params: Params, x: Any, labels: Any) -> Any:
    hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
    return ops.softmax_cross_entropy(ops.affine(hidden, params["W2"], params["b2"]), labels)


rules_loss = pb.trace(network_loss)


def rules_train_step(params: Params, x: Any, labels: Any, learning_rate: float) -> Params:
    """The network rules' step, functional: new parameters, the old ones untouched."""
    grads: Params = pb.gradient(rules_loss, params, x, labels)[0]
    return example.sgd_step(params, grads, learning_rate)


def rules_step_in_place(params: Params, x: Any, labels: Any, learning_rate: float) -> None:
    """The network rules' step into the caller's own parameter arrays (the example's pattern)."""
    example.sgd_step_in_place(params, pb.gradient(rules_loss, params, x, labels)[0], learning_rate)


compiled_rules_loss = pb.compiled(network_loss)
compiled_plain_loss = pb.compiled(example.loss)


def compiled_step_in_place(params: Params, x: Any, labels: Any, learning_rate: float) -> None:
    """The network rules' step with ``pb.compiled`` (straight-line code), in place."""
    grads = pb.gradient(compiled_rules_loss, params, x, labels)[0]
    example.sgd_step_in_place(params, grads, learning_rate)


def compiled_plain_step_in_place(params: Params, x: Any, t: Any, learning_rate: float) -> None:
    """The example's plain NumPy loss with ``pb.compiled``, in place."""
    example.sgd_step_in_place(
        params, pb.gradient(compiled_plain_loss, params, x, t)[0], learning_rate
    )


def params_only_step(x: Any, labels: Any, learning_rate: float) -> Callable[[Params], None]:
    """The network rules' step with the batch closed over: the parameters' gradient only.

    The book's network computes no dx for its first layer; ``gradient(rules_loss,
    params, x, labels)`` does (x is an argument), a third large matrix product at
    784 → 50 → 10. With x and the labels constants of the traced function, no
    cotangent is computed for them.
    """
    loss_of_params = pb.trace(partial(network_loss, x=x, labels=labels))

    def step(params: Params) -> None:
        example.sgd_step_in_place(params, pb.gradient(loss_of_params, params), learning_rate)

    return step


def torch_step(params: Params) -> Callable[[Any, Any], Any] | None:
    """PyTorch's autograd step (functional update, as pullback's), or None if not installed."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    torch.set_num_threads(1)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}

    def step(x: Any, t: Any) -> Any:
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        hidden = torch.relu(xt @ tensors["W1"] + tensors["b1"])
        loss = torch.nn.functional.cross_entropy(hidden @ tensors["W2"] + tensors["b2"], tt)
        grads = torch.autograd.grad(loss, list(tensors.values()))
        with torch.no_grad():
            return {k: p - 0.1 * g for (k, p), g in zip(tensors.items(), grads, strict=True)}

    return step


def jax_step() -> Callable[[Params, Any, Any], Params] | None:
    """jax.jit of the whole SGD step (float64), or None when jax is not importable."""
    try:
        jax = importlib.import_module("jax")
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    jnp = importlib.import_module("jax.numpy")

    def loss(params: Params, x: Any, labels: Any) -> Any:
        hidden = jnp.maximum(x @ params["W1"] + params["b1"], 0.0)
        scores = hidden @ params["W2"] + params["b2"]
        log_probs = jax.nn.log_softmax(scores, axis=1)
        return -jnp.mean(log_probs[jnp.arange(x.shape[0]), labels])

    @jax.jit
    def step(params: Params, x: Any, labels: Any) -> Params:
        grads = jax.grad(loss)(params, x, labels)
        return {k: params[k] - 0.1 * grads[k] for k in params}

    def blocking(params: Params, x: Any, labels: Any) -> Params:
        out: Params = jax.block_until_ready(step(params, x, labels))
        return out

    return blocking


def batch_of(size: tuple[int, int, int], batch: int) -> tuple[Any, Any]:
    """The first ``batch`` digits (64 inputs; seeded random rows without scikit-learn),
    or seeded random MNIST-sized rows (784)."""
    if size[0] == 64 and importlib.util.find_spec("sklearn") is not None:
        x_train, y_train, _, _ = example.load_digits(0)
        return x_train[:batch], y_train[:batch]
    rng = np.random.default_rng(batch)
    return rng.uniform(0.0, 1.0, (batch, size[0])), rng.integers(0, size[2], batch)


def blas_threads() -> str:
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return "BLAS threads not checked (no threadpoolctl)"
    info = threadpoolctl.threadpool_info()
    return ", ".join(f"{i['internal_api']} {i['num_threads']} thread(s)" for i in info) or "no BLAS"


def timed_rows(
    rows: list[tuple[str, Callable[[], Any]]], samples: int, target: float, prefix: str
) -> list[str]:
    """Markdown rows: median, the samples' spread (min–max), ratios to rows 0 and 1."""
    times = sampled_times([fn for _, fn in rows], samples, target)
    medians = [statistics.median(t) for t in times]
    lines = []
    for (label, _), t, median in zip(rows, times, medians, strict=True):
        lines.append(
            f"| {prefix} | {label} | {median * 1e6:.1f} µs "
            f"| {min(t) * 1e6:.0f}–{max(t) * 1e6:.0f} µs "
            f"| {median / medians[0]:.2f}× | {median / medians[1]:.2f}× |"
        )
        print(lines[-1], flush=True)
    return lines


def page_faults(step: Callable[[], Any], warm_up: int, steps: int) -> tuple[float, float]:
    """Minor page faults per call of ``step``: over its first ``warm_up`` calls, then steady."""
    counts = []
    for n in (warm_up, steps):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(n):
            step()
        counts.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / n)
    return counts[0], counts[1]


def gradient_rows(samples: int, target: float) -> list[str]:
    lines = [
        "| network, batch | version | median per gradient | spread (min–max) "
        "| ratio to hand-written NumPy | ratio to pullback network rules |",
        "|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        params = example.init_params(size, 0)
        for batch in BATCHES:
            x, labels = batch_of(size, batch)
            t = example.one_hot(labels, size[2])
            book = TwoLayerNet(params)
            book_loss, book_grads = book.gradient(x, t)
            value, (grads, _, _) = pb.value_and_gradient(example.loss, params, x, t)
            rules_value, (rules_grads, _, _) = pb.value_and_gradient(rules_loss, params, x, labels)
            assert abs(value - rules_value) <= 1e-12 and abs(value - book_loss) <= 1e-5
            for k in params:
                assert np.max(np.abs(grads[k] - book_grads[k])) <= 1e-12, k
                assert np.max(np.abs(grads[k] - rules_grads[k])) <= 1e-12, k
            rows: list[tuple[str, Callable[[], Any]]] = [
                (
                    "hand-written NumPy, the book's layer classes (forward + backward)",
                    partial(book.gradient, x, t),
                ),
                (
                    "pullback, network rules (ops.affine, ops.relu, ops.softmax_cross_entropy)",
                    partial(pb.value_and_gradient, rules_loss, params, x, labels),
                ),
                (
                    "pullback, plain NumPy traced (the example's loss)",
                    partial(pb.value_and_gradient, example.loss, params, x, t),
                ),
            ]
            network = " → ".join(map(str, size))
            lines += timed_rows(rows, samples, target, f"{network}, {batch}")
    return lines


class Loop:
    """A training loop's state: each call is one step from the parameters of the last."""

    def __init__(self, step: Callable[[Params], Params | None], params: Params) -> None:
        self.step = step
        # NumPy parameters copied (the loop's own); jax's arrays are immutable anyway.
        self.params = {
            k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in params.items()
        }

    def __call__(self) -> None:
        out = self.step(self.params)
        if out is not None:  # a functional step: its new parameters replace the old
            self.params = out


TARGETS = (((64, 50, 10), 32), ((784, 50, 10), 100))


def book_loop_step(
    net: TwoLayerNet, x: Any, t: Any, learning_rate: float
) -> Callable[[Params], None]:
    def step(params: Params) -> None:
        net.step(x, t, learning_rate)  # the book's network keeps (and updates) its own arrays

    return step


def plain_train_step(params: Params, x: Any, t: Any, learning_rate: float) -> Params:
    return example.train_step(params, x, t, learning_rate)[0]


def step_versions(
    params: Params, x: Any, labels: Any, t: Any, lr: float
) -> list[tuple[str, Callable[[], Any]]]:
    """The training loops of one network and batch, each from its own copy of ``params``."""
    rules = {"x": x, "labels": labels, "learning_rate": lr}
    return [
        (
            "hand-written NumPy, the book's classes, in-place update",
            Loop(book_loop_step(TwoLayerNet(params), x, t, lr), params),
        ),
        (
            "pullback, network rules, functional sgd_step",
            Loop(partial(rules_train_step, **rules), params),
        ),
        (
            "pullback, network rules, sgd_step_in_place",
            Loop(partial(rules_step_in_place, **rules), params),
        ),
        (
            "pullback, plain NumPy traced, functional sgd_step",
            Loop(partial(plain_train_step, x=x, t=t, learning_rate=lr), params),
        ),
        (
            "pullback, network rules, parameters' gradient only, sgd_step_in_place",
            Loop(params_only_step(x, labels, lr), params),
        ),
        (
            "pullback compiled, network rules, sgd_step_in_place",
            Loop(partial(compiled_step_in_place, **rules), params),
        ),
        (
            "pullback compiled, plain NumPy loss, sgd_step_in_place",
            Loop(partial(compiled_plain_step_in_place, x=x, t=t, learning_rate=lr), params),
        ),
    ]


def versions_at(size: tuple[int, int, int], batch: int) -> list[tuple[str, Callable[[], Any]]]:
    """Every training loop of one network and batch, after checking that one step agrees."""
    lr = 0.1
    params = example.init_params(size, 0)
    x, labels = batch_of(size, batch)
    t = example.one_hot(labels, size[2])
    book = TwoLayerNet(params)
    book.step(x, t, lr)
    functional = rules_train_step(params, x, labels, lr)
    in_place = {k: v.copy() for k, v in params.items()}
    rules_step_in_place(in_place, x, labels, lr)
    plain = example.train_step(params, x, t, lr)[0]
    only = {k: v.copy() for k, v in params.items()}
    params_only_step(x, labels, lr)(only)
    fast = {k: v.copy() for k, v in params.items()}
    compiled_step_in_place(fast, x, labels, lr)
    fast_plain = {k: v.copy() for k, v in params.items()}
    compiled_plain_step_in_place(fast_plain, x, t, lr)
    for k in params:
        assert np.array_equal(functional[k], fast[k]), k  # compiled: the traced bits
        assert np.allclose(fast_plain[k], plain[k], rtol=0.0, atol=1e-12), k
        assert np.allclose(functional[k], book.params[k], rtol=0.0, atol=1e-12), k
        assert np.array_equal(functional[k], in_place[k]), k  # the same arithmetic
        assert np.array_equal(functional[k], only[k]), k
        assert np.allclose(functional[k], plain[k], rtol=0.0, atol=1e-12), k
    rows = step_versions(params, x, labels, t, lr)
    jax_ = jax_step()
    if jax_ is not None:
        jnp = importlib.import_module("jax.numpy")
        jx, jl = jnp.asarray(x), jnp.asarray(labels)
        got = jax_({k: jnp.asarray(v) for k, v in params.items()}, jx, jl)
        for k in params:
            assert np.allclose(np.asarray(got[k]), functional[k], rtol=0.0, atol=1e-12), k
        start = {k: jnp.asarray(v) for k, v in params.items()}
        rows.append(
            ("jax.jit of the whole step (x64)", Loop(partial(jax_, x=jx, labels=jl), start))
        )
    torch_ = torch_step(params)
    if torch_ is not None:
        rows.append(("PyTorch CPU autograd, one thread", partial(torch_, x, labels)))
    return rows


def step_rows(samples: int, target: float) -> list[str]:
    lines = [
        "| network, batch | version | median per step | spread (min–max) "
        "| ratio to hand-written NumPy | ratio to pullback network rules |",
        "|---|---|---|---|---|---|",
    ]
    for size, batch in TARGETS:
        network = " → ".join(map(str, size))
        lines += timed_rows(versions_at(size, batch), samples, target, f"{network}, {batch}")
    return lines


def fault_rows(fault_steps: int) -> list[str]:
    """Page faults of each loop in a process of its own: a heap no other row has shaped."""
    lines = [
        "| network, batch | version | faults per step, steps 1–20 | faults per step, after |",
        "|---|---|---|---|",
    ]
    for target, (size, batch) in enumerate(TARGETS):
        network = " → ".join(map(str, size))
        for version, (label, _) in enumerate(versions_at(size, batch)):
            command = [sys.executable, __file__, "--faults", f"{target},{version},{fault_steps}"]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            first, steady = done.stdout.split()
            lines.append(f"| {network}, {batch} | {label} | {first} | {steady} |")
            print(lines[-1], flush=True)
    return lines


def faults_of_one(spec: str) -> None:
    """``--faults TARGET,VERSION,STEPS``: print one loop's faults per step (see fault_rows)."""
    target, version, steps = map(int, spec.split(","))
    _, loop = versions_at(*TARGETS[target])[version]
    first, steady = page_faults(loop, 20, steps)
    print(f"{first:.1f} {steady:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the markdown tables to this file")
    parser.add_argument("--faults", help=argparse.SUPPRESS)  # one row of fault_rows
    args = parser.parse_args(argv)
    if args.faults is not None:
        faults_of_one(args.faults)
        return 0
    samples, target, fault_steps = (5, 0.05, 50) if args.quick else (15, 0.2, 300)
    data = "the digits" if importlib.util.find_spec("sklearn") is not None else "random rows"
    header = (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {platform.machine()}, "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} pinned ({blas_threads()}); median of "
        f"{samples} samples, the rows of each network and batch sampled round-robin in one run; "
        f"64 → 50 → 10 on {data}"
    )
    command = "python benchmarks/bench_two_layer.py" + (" --quick" if args.quick else "")
    out = [header, "", f"Command: `{command}`", ""]
    print(header, end="\n\n", flush=True)
    out += ["### Gradient of the loss", ""]
    print("\n".join(out[-2:]), flush=True)
    out += gradient_rows(samples, target)
    out += ["", "### One SGD step in a training loop", ""]
    print("\n".join(out[-3:]), flush=True)
    out += step_rows(samples, target)
    out += ["", "### Minor page faults per step (ru_minflt)", ""]
    out += [
        f"Each loop in a new process: over its first 20 steps, then over the next {fault_steps}.",
        "",
    ]
    print("\n".join(out[-4:]), flush=True)
    out += fault_rows(fault_steps)
    if args.out is not None:
        args.out.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
