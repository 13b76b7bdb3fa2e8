"""The two-layer network: pullback's gradient against hand-written NumPy.

Two tables, every row of one group sampled round-robin in one process:

1. The gradient of the loss (value and the four parameter gradients) of
   Affine → ReLU → Affine → Softmax-with-Loss at 64 → 50 → 10 (the digits)
   and 784 → 50 → 10 (MNIST-sized random data: nothing is downloaded), batch
   32 and 100: the example's loss written in plain NumPy inside ``trace``
   (``np.maximum(x @ W1 + b1, 0)``, a log-softmax with
   ``np.max(..., axis=1, keepdims=True)``), the same network with the
   library's network rules (``ops.affine``, ``ops.relu``,
   ``ops.softmax_cross_entropy``), and the book's layer classes in NumPy
   (Affine, Relu, SoftmaxWithLoss objects that keep x, mask and dW between
   forward and backward; hand-written derivatives), written here for the
   benchmark only. The three gradients are checked to agree to 1e-12 first.
2. One SGD step of 64 → 50 → 10 on the digits (the example's ``train_step``),
   against the book's classes and, when it is installed, PyTorch (CPU, one
   thread); the updated parameters are checked to agree before timing.

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
import platform
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
from timing import median_times

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


@pb.trace
def rules_loss(params: Params, x: Any, labels: Any) -> Any:
    hidden = ops.relu(ops.affine(x, params["W1"], params["b1"]))
    return ops.softmax_cross_entropy(ops.affine(hidden, params["W2"], params["b2"]), labels)


def book_step(params: Params, x: Any, t: Any, learning_rate: float) -> float:
    """The book's SGD step from ``params``: a network made from them, stepped in place."""
    return TwoLayerNet(params).step(x, t, learning_rate)


def rules_train_step(params: Params, x: Any, labels: Any, learning_rate: float) -> Params:
    grads: Params = pb.gradient(rules_loss, params, x, labels)[0]
    return example.sgd_step(params, grads, learning_rate)


def torch_step(params: Params) -> Callable[[Any, Any], Any] | None:
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


def batch_of(size: tuple[int, int, int], batch: int) -> tuple[Any, Any]:
    """The first ``batch`` digits (64 inputs), or seeded random MNIST-sized rows (784)."""
    if size[0] == 64:
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


def gradient_rows(samples: int, target: float) -> list[str]:
    lines = [
        "| network | batch | version | median per gradient | ratio to hand-written NumPy "
        "| ratio to pullback network rules |",
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
            medians = median_times([fn for _, fn in rows], samples, target)
            network = " → ".join(map(str, size))
            for (label, _), median in zip(rows, medians, strict=True):
                lines.append(
                    f"| {network} | {batch} | {label} | {median * 1e6:.1f} µs "
                    f"| {median / medians[0]:.2f}× | {median / medians[1]:.2f}× |"
                )
                print(lines[-1], flush=True)
    return lines


def step_rows(samples: int, target: float) -> list[str]:
    lines = [
        "| batch | version | median per step | ratio to hand-written NumPy |",
        "|---|---|---|---|",
    ]
    x_train, y_train, _, _ = example.load_digits(0)
    params = example.init_params((64, 50, 10), 0)
    for batch in BATCHES:
        x, labels = x_train[:batch], y_train[:batch]
        t = example.one_hot(labels)
        book = TwoLayerNet(params)
        book.step(x, t, 0.1)
        ours = example.train_step(params, x, t, 0.1)[0]
        rules = rules_train_step(params, x, labels, 0.1)
        for k in params:
            assert np.allclose(ours[k], book.params[k], rtol=0.0, atol=1e-12), k
            assert np.allclose(ours[k], rules[k], rtol=0.0, atol=1e-12), k
        rows: list[tuple[str, Callable[[], Any]]] = [
            (
                "hand-written NumPy, the book's layer classes",
                partial(book_step, params, x, t, 0.1),
            ),
            (
                "pullback, network rules: trace + gradient + SGD",
                partial(rules_train_step, params, x, labels, 0.1),
            ),
            (
                "pullback, plain NumPy traced: the example's train_step",
                partial(example.train_step, params, x, t, 0.1),
            ),
        ]
        step = torch_step(params)
        if step is not None:
            rows.append(("PyTorch CPU autograd, one thread", partial(step, x, labels)))
        medians = median_times([fn for _, fn in rows], samples, target)
        for (label, _), median in zip(rows, medians, strict=True):
            lines.append(
                f"| {batch} | {label} | {median * 1e6:.1f} µs | {median / medians[0]:.2f}× |"
            )
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the markdown tables to this file")
    args = parser.parse_args(argv)
    samples, target = (5, 0.05) if args.quick else (15, 0.2)
    header = (
        f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, {platform.machine()}, OMP_NUM_THREADS="
        f"{os.environ['OMP_NUM_THREADS']} pinned ({blas_threads()}); median of {samples} "
        "samples, the rows of each network and batch sampled round-robin in one run"
    )
    command = "python benchmarks/bench_two_layer.py" + (" --quick" if args.quick else "")
    out = [header, "", f"Command: `{command}`", ""]
    print(header, end="\n\n", flush=True)
    out += ["### Gradient of the loss", ""]
    print("\n".join(out[-2:]), flush=True)
    out += gradient_rows(samples, target)
    out += ["", "### One SGD step, 64 → 50 → 10 on the digits", ""]
    print("\n".join(out[-3:]), flush=True)
    out += step_rows(samples, target)
    if args.out is not None:
        args.out.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
