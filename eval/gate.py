"""The eval gate: compare metrics with `eval/thresholds.toml`.

`[gate.plain]` applies to the default sources, `[gate.distractors]` to a run with
distractor abstracts, `[gate.generative]` to generative answers on the default sources and
`[gate.generative_distractors]` to generative answers with distractors; `[targets]`
are where citewise must get to and are reported, not enforced (see the comments in the
file).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")

Bounds = dict[str, dict[str, float]]


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def gate_for(thresholds: dict[str, Any], distractors: int, mode: str = "extractive") -> Bounds:
    if mode == "generative":
        gates = thresholds["gate"]
        return gates.get("generative_distractors", gates["generative"]) if distractors \
            else gates["generative"]
    return thresholds["gate"]["distractors" if distractors else "plain"]


def lookup(metrics: dict[str, Any], dotted: str) -> Any:
    section, _, name = dotted.partition(".")
    return metrics.get(section, {}).get(name)


def check(metrics: dict[str, Any], bounds: Bounds) -> list[str]:
    """One line per metric that falls short (empty when every bound holds)."""
    failures = []
    for name, bound in bounds.items():
        value = lookup(metrics, name)
        if value is None:
            failures.append(f"{name}: not measured")
        elif "min" in bound and value < bound["min"]:
            failures.append(f"{name} = {value} < {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            failures.append(f"{name} = {value} > {bound['max']}")
    return failures
