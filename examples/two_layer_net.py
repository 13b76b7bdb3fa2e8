"""Train the book's two-layer network (Affine → ReLU → Affine → Softmax-with-Loss) with pullback.

Pure functions only: the parameters are a dict of arrays, the loss is ordinary
NumPy code traced by ``pb.trace`` (no ``pullback.ops``), ``gradient`` gives a
dict of the same shape, and SGD returns new parameters (nothing is mutated, no
layer object keeps ``x``, ``mask`` or ``dW`` between calls). The labels are
one-hot rows, as with the book's ``one_hot_label=True``. The data are
scikit-learn's 8×8 digits, which ship with scikit-learn (nothing is
downloaded). Before training, the backpropagated gradient is checked against
``numerical_gradient`` on a small batch, as the book does.

    pip install -e '.[examples]'
    python examples/two_layer_net.py            # about 15 s on 2 cores
    python examples/two_layer_net.py --help

Needs the extra ``[examples]``: scikit-learn, tqdm, matplotlib.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import pullback as pb
from pullback import Array

Params = dict[str, Array]
Labels = NDArray[np.int64]  # class indices
CLASSES = 10


def predict(params: Params, x: Array) -> Array:
    """The class scores of a batch: Affine → ReLU → Affine, in plain NumPy.

    The same code runs on plain arrays (for the accuracy) and, inside the traced
    ``loss``, on traced values. (At a tie, a pre-activation of exactly 0, the
    derivative of ``np.maximum`` is ½, JAX's convention, where the book's Relu
    and ``ops.relu`` give 0; with these data no pre-activation is exactly 0.)
    """
    hidden = np.maximum(x @ params["W1"] + params["b1"], 0.0)
    return hidden @ params["W2"] + params["b2"]


@pb.trace
def loss(params: Params, x: Array, t: Array) -> float:
    """Mean cross-entropy of the network on a batch ``x`` with one-hot rows ``t``.

    Softmax-with-Loss as a log-softmax: the scores shifted by their row maximum
    (so ``exp`` cannot overflow), minus the log of the row sums of ``exp``.
    """
    scores = predict(params, x)
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    mean_loss: float = -np.sum(t * log_probs) / len(x)
    return mean_loss


def one_hot(labels: Labels, classes: int = CLASSES) -> Array:
    """Class labels as one-hot rows (the book's ``one_hot_label=True``).

    Done outside the traced function: an integer array passed to ``loss`` would
    become a float traced value, which cannot index.
    """
    return np.eye(classes)[labels]


def accuracy(params: Params, x: Array, labels: Labels) -> float:
    return float(np.mean(np.argmax(predict(params, x), axis=1) == labels))


def init_params(sizes: tuple[int, int, int], seed: int) -> Params:
    """He-initialised weights, zero biases, from a seeded generator."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    return {
        "W1": rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0.0, np.sqrt(2.0 / n_hidden), (n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def sgd_step(params: Params, grads: Params, learning_rate: float) -> Params:
    """New parameters ``p - lr * g``; the old ones are left as they were."""
    return {name: params[name] - learning_rate * grads[name] for name in params}


def sgd_step_in_place(params: Params, grads: Params, learning_rate: float) -> None:
    """``p -= lr * g`` into the caller's own arrays: no new arrays, so no fresh pages.

    The functional ``sgd_step`` allocates a new array per parameter per step; at
    784 → 50 → 10 that is a 313 KB ``W1``, above glibc's mmap threshold, so the
    kernel hands it fresh pages (about a hundred minor page faults a step; see
    benchmarks/results_two_layer.md). The gradients pullback returns are the
    caller's own arrays (never a view of an argument or of each other), so
    scaling them in place and subtracting them from the parameters changes
    nothing anyone else holds: the user's loop mutates the user's arrays, and
    the traced loss stays pure.
    """
    for name, g in grads.items():
        g *= learning_rate  # this step's own array (see above): free to reuse
        params[name] -= g


def train_step(params: Params, x: Array, t: Array, learning_rate: float) -> tuple[Params, float]:
    """One step of SGD on a batch with one-hot rows ``t``: the parameters after it, the loss."""
    value, (grads, _, _) = pb.value_and_gradient(loss, params, x, t)
    return sgd_step(params, grads, learning_rate), value


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[NDArray[np.int64]]:
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def gradient_check(params: Params, x: Array, t: Array) -> float:
    """The book's check: backprop against central differences; the largest difference."""
    grads = pb.gradient(loss, params, x, t)[0]

    def loss_of(name: str, value: Array) -> float:
        return float(loss({**params, name: value}, x, t)[0])

    worst = 0.0
    for name in params:
        numeric = pb.numerical_gradient(partial(loss_of, name), params[name])
        worst = max(worst, float(np.max(np.abs(numeric - grads[name]))))
    return worst


@dataclass(frozen=True)
class History:
    epochs: tuple[int, ...]
    train_loss: tuple[float, ...]
    train_accuracy: tuple[float, ...]
    test_accuracy: tuple[float, ...]


def load_digits(seed: int, limit: int | None = None) -> tuple[Array, Labels, Array, Labels]:
    """scikit-learn's digits scaled to [0, 1], split 80/20 with a fixed seed; class labels."""
    from sklearn.datasets import load_digits as sklearn_digits  # type: ignore[import-untyped]

    data = sklearn_digits()
    x = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    if limit is not None:
        order = order[:limit]
    x, y = x[order], y[order]
    cut = int(0.8 * len(x))
    return x[:cut], y[:cut], x[cut:], y[cut:]


def train(
    epochs: int = 30,
    batch_size: int = 32,
    learning_rate: float = 0.1,
    hidden: int = 50,
    seed: int = 0,
    limit: int | None = None,
    progress: bool = True,
) -> tuple[Params, History]:
    """Train on the digits; return the final parameters and the curves."""
    x_train, y_train, x_test, y_test = load_digits(seed, limit)
    params = init_params((x_train.shape[1], hidden, CLASSES), seed)
    t_train = one_hot(y_train)
    rng = np.random.default_rng(seed + 1)
    history: dict[str, list[Any]] = {"epochs": [], "loss": [], "train": [], "test": []}
    steps = range(1, epochs + 1)
    if progress:
        from tqdm import tqdm  # type: ignore[import-untyped]

        steps = tqdm(steps, desc="training", unit="epoch")
    for epoch in steps:
        losses = []
        for index in batches(len(x_train), batch_size, rng):
            params, value = train_step(params, x_train[index], t_train[index], learning_rate)
            losses.append(value)
        history["epochs"].append(epoch)
        history["loss"].append(float(np.mean(losses)))
        history["train"].append(accuracy(params, x_train, y_train))
        history["test"].append(accuracy(params, x_test, y_test))
        if progress:
            last = f"{history['loss'][-1]:.4f}", f"{history['test'][-1]:.3f}"
            steps.set_postfix(loss=last[0], test=last[1])  # type: ignore[attr-defined]
    return params, History(
        tuple(history["epochs"]),
        tuple(history["loss"]),
        tuple(history["train"]),
        tuple(history["test"]),
    )


def plot(history: History, path: Path) -> None:
    """Save the loss and accuracy curves as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(history.epochs, history.train_loss, color="#2c3e50")
    left.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    right.plot(history.epochs, history.train_accuracy, label="train", color="#2980b9")
    right.plot(history.epochs, history.test_accuracy, label="test", color="#c0392b")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.8, 1.0))
    right.legend()
    fig.suptitle("two-layer network on the digits, trained with pullback")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=Path("two_layer_net.png"))
    args = parser.parse_args(argv)

    x_train, y_train, _, _ = load_digits(args.seed)
    params = init_params((x_train.shape[1], 50, CLASSES), args.seed)
    worst = gradient_check(params, x_train[:3], one_hot(y_train[:3]))
    print(
        "gradient check (backprop vs numerical_gradient, 3 samples): "
        f"max |difference| = {worst:.2e}"
    )

    start = time.perf_counter()
    params, history = train(args.epochs, args.batch_size, args.learning_rate, seed=args.seed)
    elapsed = time.perf_counter() - start
    print(
        f"trained {args.epochs} epochs in {elapsed:.1f} s: final training loss "
        f"{history.train_loss[-1]:.4f}, train accuracy {history.train_accuracy[-1]:.3f}, "
        f"test accuracy {history.test_accuracy[-1]:.3f}"
    )
    plot(history, args.plot)
    print(f"curves saved to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
