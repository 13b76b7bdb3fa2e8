"""Plot the time per stage of one gradient, pullback against its peers, from the peer benchmark.

Reads the W3 tables (chains of n = 10, 100, 1000, 10000 stages) of the markdown report written by
``../shared/bench/peers.py --out benchmarks/peers_results.md`` and writes
``benchmarks/time_per_stage.png``: the median time of one gradient divided by the chain length
(ns, log scale) against the chain length (log scale). A system with no number at some n (failed,
skipped, not installed) has no point there, and its legend entry says so.

Run from the project root, in an environment with matplotlib::

    .peers/bin/python benchmarks/plot_peers.py [--report FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNITS = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
HEADING = re.compile(r"### W3\[n=(\d+)\]")
TIME = re.compile(r"(\d+(?:\.\d+)?) (ns|µs|ms|s)")
MEDIAN_COLUMN = "median / call"


@dataclass(frozen=True)
class Series:
    prefix: str  # how the system's row label starts in the report
    name: str  # legend name
    style: str  # matplotlib format string
    width: float = 1.5


SERIES = (
    Series("pullback", "pullback", "o-", 3.0),
    Series("(a) ", "plain forward (no derivative)", "k:", 1.5),
    Series("(b) ", "hand-written derivative", "k--", 1.5),
    Series("(f) ", "jax.jit(jax.grad)", "s-"),
    Series("(e) ", "jax.grad eager", "s--"),
    Series("(g) ", "torch autograd", "^-"),
    Series("(h) ", "HIPS autograd", "v-"),
    Series("(i) ", "dezero", "D-"),
    Series("(j) ", "micrograd", "x-"),
)


def parse_time(text: str) -> float | None:
    """Seconds from a report cell such as ``'1.38 µs'``; None for anything else."""
    match = TIME.fullmatch(text.strip())
    return float(match[1]) * UNITS[match[2]] if match else None


def parse_w3(report: str) -> tuple[list[int], dict[str, dict[int, float | str]]]:
    """The chain lengths, and for each row label by chain length: the median seconds per gradient,
    or the report's reason for having none (``'RecursionError'``, ``'CRASH signal 11'``, ...)."""
    lengths: list[int] = []
    rows: dict[str, dict[int, float | str]] = {}
    n: int | None = None
    column: int | None = None
    for line in report.splitlines():
        if line.startswith("#"):
            heading = HEADING.fullmatch(line.strip())
            n = int(heading[1]) if heading else None
            column = None
            if n is not None:
                lengths.append(n)
            continue
        if n is None or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if column is None:
            if MEDIAN_COLUMN in cells:
                column = cells.index(MEDIAN_COLUMN)
            continue
        if len(cells) <= column or set(cells[column]) <= set("-:"):
            continue
        seconds = parse_time(cells[column])
        reason = cells[1].split(": ", 1)[-1].split(" (")[0]
        rows.setdefault(cells[0], {})[n] = seconds if seconds is not None else reason
    return lengths, rows


def find(rows: dict[str, dict[int, float | str]], prefix: str) -> dict[int, float | str]:
    """The entries of the one row whose label starts with prefix (empty if none)."""
    return next((row for label, row in rows.items() if label.startswith(prefix)), {})


def legend_label(name: str, row: dict[int, float | str], lengths: list[int]) -> str:
    """The legend name, followed by why any chain length has no point."""
    notes: dict[str, list[int]] = {}
    for n in lengths:
        entry = row.get(n, "not in report")
        if isinstance(entry, str):
            notes.setdefault(entry, []).append(n)
    parts = [f"{reason} at n = {', '.join(f'{n:,}' for n in ns)}" for reason, ns in notes.items()]
    return f"{name} ({'; '.join(parts)})" if parts else name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", type=Path, default=HERE / "peers_results.md")
    parser.add_argument("--out", type=Path, default=HERE / "time_per_stage.png")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths, rows = parse_w3(args.report.read_text(encoding="utf-8"))
    if not lengths:
        parser.error(f"no W3 tables in {args.report}")
    fig, ax = plt.subplots(figsize=(10, 6), layout="constrained")
    for series in SERIES:
        row = find(rows, series.prefix)
        points = [(n, t / n * 1e9) for n, t in sorted(row.items()) if isinstance(t, float)]
        ax.plot(
            [n for n, _ in points],
            [ns_per_stage for _, ns_per_stage in points],
            series.style,
            linewidth=series.width,
            markersize=6,
            label=legend_label(series.name, row, lengths),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(lengths, [f"{n:,}" for n in lengths])
    ax.set_xlabel("chain length n (stages cycling sigmoid, scale(4), add_const(-2))")
    ax.set_ylabel("median time of one gradient / n  [ns per stage]")
    ax.set_title("W3: reverse-mode gradient of a scalar chain, time per stage")
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", axis="y", alpha=0.15)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
