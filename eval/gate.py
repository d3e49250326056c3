"""The eval gate: compare metrics with the thresholds in `eval/thresholds.toml`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> dict[str, dict[str, float]]:
    return tomllib.loads(path.read_text())["gate"]


def lookup(metrics: dict[str, Any], dotted: str) -> Any:
    section, _, name = dotted.partition(".")
    return metrics.get(section, {}).get(name)


def check(metrics: dict[str, Any], thresholds: dict[str, dict[str, float]]) -> list[str]:
    """One line per metric that falls short (empty when the gate passes)."""
    failures = []
    for name, bound in thresholds.items():
        value = lookup(metrics, name)
        if value is None:
            failures.append(f"{name}: not measured")
        elif "min" in bound and value < bound["min"]:
            failures.append(f"{name} = {value} < {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            failures.append(f"{name} = {value} > {bound['max']}")
    return failures
