"""Gold question sets: JSONL, one question a line, validated on load.

    {"id": "q01", "question": "...", "answer": "reference answer",
     "key_points": ["phrase a correct answer must contain"],
     "sources": [{"doc": "file name (informational)", "quote": "verbatim supporting span"}],
     "answerable": true, "kind": "fact | paraphrase | multi-doc | numeric | false-premise |
     unanswerable | injection | yes-no | list | why-how | refers-to"}

Kinds: `yes-no` is answered by yes or no (the reference answer opens with "Yes" or "No" and
says why), `list` asks for the items of something the sources enumerate, `why-how` for a
cause, mechanism or procedure, `refers-to` for what a term means or the term for something;
`false-premise` questions assume what the sources contradict (answerable, the answer
corrects the premise).

Sources are matched by `quote` only, so a gold set survives any re-chunking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConfigError

KINDS = ("fact", "paraphrase", "multi-doc", "numeric", "false-premise", "unanswerable",
         "injection", "yes-no", "list", "why-how", "refers-to")
_KEYS = {"id", "question", "answer", "key_points", "sources", "answerable", "kind"}


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answer: str
    key_points: tuple[str, ...]
    quotes: tuple[str, ...]
    docs: tuple[str, ...]
    answerable: bool
    kind: str


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read and check a gold file; any problem is a `ConfigError` naming the line."""
    if not path.is_file():
        raise ConfigError(f"Gold file {path} does not exist: pass an existing JSONL file "
                          "with --gold.")
    out: list[GoldQuestion] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where} is not valid JSON ({exc.msg}): fix that line.") from None
        missing = _KEYS - set(row) if isinstance(row, dict) else _KEYS
        if missing:
            raise ConfigError(f"{where} lacks {', '.join(sorted(missing))}: every line needs "
                              f"{', '.join(sorted(_KEYS))}.")
        if row["kind"] not in KINDS:
            raise ConfigError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}.")
        if row["id"] in seen:
            raise ConfigError(f"{where}: id {row['id']!r} is used twice; ids must be unique.")
        seen.add(row["id"])
        sources = row["sources"] or []
        if bool(row["answerable"]) != bool(sources):
            raise ConfigError(f"{where}: answerable questions need sources and unanswerable "
                              "ones must have none.")
        out.append(GoldQuestion(
            id=str(row["id"]), question=str(row["question"]), answer=str(row["answer"]),
            key_points=tuple(row["key_points"] or ()),
            quotes=tuple(s["quote"] for s in sources),
            docs=tuple(s.get("doc", "") for s in sources),
            answerable=bool(row["answerable"]), kind=row["kind"]))
    if not out:
        raise ConfigError(f"Gold file {path} holds no questions.")
    return out
