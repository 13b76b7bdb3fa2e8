"""Count what each checker gets right on the type tests (a script, not a test).

    python tests/typing/count.py

For ``check_user_code.py`` (correct code) it counts, per checker, the lines
reported as errors: ``Any`` when the message is about an ``Any``/``Unknown``
type (a type lost), else ``rejected``. For ``check_misuse.py`` it strips the
``# type: ignore[...]``/``# pyright: ignore[...]`` comments and counts the
marked lines each checker still reports. It prints a markdown table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
_MARK = re.compile(r"  # (type|pyright): ignore(\[[^\]]*\])?.*$")


def _mypy(path: Path) -> dict[int, list[str]]:
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--hide-error-context",
         "--show-error-codes", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    found: dict[int, list[str]] = {}
    for line in run.stdout.splitlines():
        match = re.match(rf".*{re.escape(path.name)}:(\d+): error: (.*)", line)
        if match:
            found.setdefault(int(match[1]), []).append(match[2])
    return found


def _pyright(path: Path) -> dict[int, list[str]]:
    config = HERE / "_count_pyrightconfig.json"
    settings = {"typeCheckingMode": "strict", "pythonVersion": "3.11", "extraPaths": [str(ROOT)]}
    config.write_text(json.dumps(settings))
    try:
        run = subprocess.run(
            ["pyright", "--outputjson", "-p", str(config), str(path)],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        config.unlink()
    found: dict[int, list[str]] = {}
    for d in json.loads(run.stdout)["generalDiagnostics"]:
        if d["severity"] == "error" and Path(d["file"]) == path:
            found.setdefault(d["range"]["start"]["line"] + 1, []).append(d["message"])
    return found


def _lost_to_any(messages: list[str]) -> bool:
    return any(re.search(r"\b(Any|Unknown)\b", m) for m in messages)


def main() -> None:
    user = HERE / "check_user_code.py"
    misuse_lines = (HERE / "check_misuse.py").read_text().splitlines()
    marked = {i for i, line in enumerate(misuse_lines, 1) if _MARK.search(line)}
    stripped = HERE / "_count_stripped_misuse.py"
    stripped.write_text("\n".join(_MARK.sub("", line) for line in misuse_lines) + "\n")
    try:
        rows = []
        for name, check in (("mypy --strict", _mypy), ("pyright strict", _pyright)):
            errors = check(user)
            lost = sum(1 for m in errors.values() if _lost_to_any(m))
            caught = check(stripped)
            hit = len(marked & caught.keys())
            rows.append(
                f"| {name} | {len(errors) - lost} | {lost} | {hit}/{len(marked)} "
                f"({100 * hit / len(marked):.0f} %) |"
            )
            for line, messages in sorted(errors.items()):
                print(f"  {name}: check_user_code.py:{line}: {messages[0][:150]}", file=sys.stderr)
            for line in sorted(marked - caught.keys()):
                print(f"  {name}: missed misuse: {misuse_lines[line - 1].strip()}", file=sys.stderr)
    finally:
        stripped.unlink()
    print("| checker | correct lines rejected | types lost to Any | misuse caught |")
    print("| --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
