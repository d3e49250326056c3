"""Feedback on answers (a JSONL log) and the conversation exported as Markdown.

Feedback: one JSON object per line in `feedback_dir/feedback.jsonl` (the data folder by
default): when, thumbs up or down, the optional comment, and what was rated (question,
query searched, answer, citations with their spans). Lines are appended whole under a
lock, so concurrent ratings never interleave.

Export: the conversation with every answer's citations (title, heading path, document,
character span and the quoted sentence). Text from documents is escaped for Markdown, so a
document's `![image](http://...)` or `<script>` stays text in whatever shows the file.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from app.web import render
from app.web.turn import Turn

FILENAME = "feedback.jsonl"
MAX_COMMENT = 2000
RATINGS = ("up", "down")

_lock = threading.Lock()


def feedback_record(turn: Turn, rating: str, comment: str = "") -> dict:
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
    answer = turn.answer
    return {
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
        "rating": rating,
        "comment": comment.strip()[:MAX_COMMENT],
        "question": turn.question,
        "query": turn.query,
        "answer": answer.text if answer else None,
        "abstained": answer.abstained if answer else None,
        "mode": answer.mode if answer else None,
        "error": turn.error,
        "k": turn.k,
        "doc_ids": list(turn.doc_ids),
        "citations": [{"id": c.id, "source": c.doc_id, "start": c.start, "end": c.end,
                       "quote": c.quote} for c in (answer.citations if answer else ())],
    }


def record_feedback(folder: Path, turns: Sequence[Turn], rating: str,
                    comment: str = "") -> str:
    """Append feedback on the last answer; returns a message for the page."""
    if not turns:
        return "Ask a question first: feedback is about the last answer."
    record = feedback_record(turns[-1], rating, comment)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / FILENAME).open("a", encoding="utf-8") as f:
            f.write(line)
    thumb = "👍" if rating == "up" else "👎"
    return f"Thanks: {thumb} recorded for “{turns[-1].question}”."


def read_feedback(folder: Path) -> list[dict]:
    path = folder / FILENAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(text: str) -> str:
    """Text that Markdown shows as is: no links, images, HTML or emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def export_markdown(turns: Sequence[Turn], now: float | None = None) -> str:
    when = datetime.fromtimestamp(now if now is not None else time.time())
    lines = ["# citewise conversation", "", f"Exported {when:%Y-%m-%d %H:%M}.", ""]
    for n, turn in enumerate(turns, start=1):
        lines += [f"## Q{n}. {md_escape(turn.question)}", ""]
        if turn.query != turn.question:
            lines += [f"*Searched for:* {md_escape(turn.query)}", ""]
        answer = turn.answer
        if turn.error is not None or answer is None:
            lines += [f"**Error:** {md_escape(turn.error or 'no answer')}", ""]
            continue
        if answer.abstained:
            lines += [f"**{md_escape(answer.text)}**", ""]
            continue
        text = " ".join(md_escape(s.text) + "".join(f" \\[{c}\\]" for c in s.citations)
                        for s in answer.final_sentences)
        lines += [text, ""]
        if answer.removed_sentences:
            lines += ["Removed, not supported by the sources:", ""]
            lines += [f"- ~~{md_escape(s.text)}~~" for s in answer.removed_sentences]
            lines.append("")
        lines += ["Sources:", ""]
        for c in answer.citations:
            changed = f" — {render.CHANGED_LABEL}" if c.id in turn.changed else ""
            lines += [f"- \\[{c.id}\\] {md_escape(render.where(c))} "
                      f"(`{c.doc_id.replace('`', '')}`"
                      f"{', ' + render.page_label(c) if c.page is not None else ''}, "
                      f"characters {c.start}–{c.end})"
                      f"{changed}",
                      f"  > {md_escape(c.quote)}"]
        lines.append("")
    if not turns:
        lines += ["(No questions yet.)", ""]
    return "\n".join(lines)


def write_export(turns: Sequence[Turn], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"citewise-conversation-{datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text(export_markdown(turns), encoding="utf-8")
    return path
