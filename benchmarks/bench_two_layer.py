"""Time per training step of the two-layer network: pullback against hand-written NumPy.

The hand-written version is the book's layer-class style (Affine, Relu,
SoftmaxWithLoss objects that keep x, mask and dW between forward and
backward), written here for the benchmark only. PyTorch (CPU, one thread)
is timed too when it is installed. Every version takes one SGD step of the
same network (64 → 50 → 10) on the same batch from the same parameters, and
the updated parameters are checked to agree before timing.

    python benchmarks/bench_two_layer.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import two_layer_net as example
from timing import median_times

Params = dict[str, Any]


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
    def __init__(self) -> None:
        self.y: Any = None
        self.t: Any = None

    def forward(self, x: Any, t: Any) -> float:
        shifted = x - np.max(x, axis=1, keepdims=True)
        self.y = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
        self.t = t
        n = x.shape[0]
        return float(-np.sum(np.log(self.y[np.arange(n), t] + 1e-7)) / n)

    def backward(self, dout: float = 1.0) -> Any:
        n = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1.0
        return dx * (dout / n)


class TwoLayerNet:
    def __init__(self, params: Params) -> None:
        self.params = {k: v.copy() for k, v in params.items()}
        self.layers = [
            Affine(self.params["W1"], self.params["b1"]),
            Relu(),
            Affine(self.params["W2"], self.params["b2"]),
        ]
        self.last = SoftmaxWithLoss()

    def step(self, x: Any, t: Any, learning_rate: float) -> float:
        for layer in self.layers:
            x = layer.forward(x)
        loss = self.last.forward(x, t)
        dout = self.last.backward(1.0)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        first, _, second = self.layers
        grads = {"W1": first.dw, "b1": first.db, "W2": second.dw, "b2": second.db}  # type: ignore[attr-defined]
        for key in self.params:
            self.params[key] -= learning_rate * grads[key]  # in place, as the book does
        return loss


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    samples, target = (5, 0.05) if args.quick else (15, 0.2)
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}, median of {samples} samples")
    print()
    print("| batch | version | median per step | ratio to hand-written NumPy |")
    print("|---|---|---|---|")
    x_train, y_train, _, _ = example.load_digits(0)
    params = example.init_params((64, 50, 10), 0)
    for batch in (32, 100):
        x, t = x_train[:batch], y_train[:batch]
        book = TwoLayerNet(params)
        ours = example.train_step(params, x, t, 0.1)[0]
        book.step(x, t, 0.1)
        assert all(np.allclose(ours[k], book.params[k], atol=1e-12) for k in params)
        rows: list[tuple[str, Callable[[], Any]]] = [
            (
                "hand-written NumPy, the book's layer classes",
                lambda x=x, t=t: TwoLayerNet(params).step(x, t, 0.1),
            ),
            (
                "pullback: trace + value_and_gradient + SGD",
                lambda x=x, t=t: example.train_step(params, x, t, 0.1),
            ),
        ]
        step = torch_step(params)
        if step is not None:
            rows.append(
                ("PyTorch CPU autograd, one thread", lambda x=x, t=t, step=step: step(x, t))
            )
        medians = median_times([fn for _, fn in rows], samples, target)
        for (label, _), median in zip(rows, medians, strict=True):
            print(
                f"| {batch} | {label} | {median * 1e6:.1f} µs | {median / medians[0]:.2f}× |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
