"""Safe HTML for the web UI: the conversation with clickable citation markers, the sources
panel with each supporting sentence highlighted in its passage, and the abstention look.

Every piece of text that comes from a document, a question or the answerer goes through
`esc()`, so it is shown as text and never parsed as markup: a document holding `<script>`,
`<img onerror=...>`, a `javascript:` link or a markdown image stays inert characters. The
only markup on the page is written here. There is no markdown rendering at all.

Generated answers are shown sentence by sentence with a badge: supported (✓, with its
markers) or not supported (struck through, labelled as removed). The model's draft, shown
while it is written, is untrusted text like any other and goes through `esc()` too.

Citation marker [n] of turn t links to `#cw-src-t-n`, the card of that citation in the
sources panel (`:target` styles it), and carries the passage in a popover shown on hover
or keyboard focus; both are plain CSS, no script.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from app.answer.types import ABSTAIN_TEXT, AnswerSentence, Citation
from app.web.files import source_link

if TYPE_CHECKING:
    from app.web.documents import DocumentRow

# Characters that stay text inside a JS template literal or a Handlebars template too:
# Gradio's HTML component builds its markup through both.
_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})

ABSTAIN_HINT = ("Nothing in the documents searched answers this closely enough. Try other "
                "words, search all documents (Settings), or add a document that covers it.")


def esc(text: str) -> str:
    """Text as inert HTML: `& < > " '` escaped, and `{ } $ `` ` as entities too."""
    return html.escape(text, quote=True).translate(_EXTRA)


def highlight(citation: Citation) -> str:
    """The citation's passage as HTML with its supporting sentence in a <mark>.

    Offsets index the document's cleaned text; the passage starts at `passage_start`.
    """
    passage = citation.passage
    a = min(max(citation.start - citation.passage_start, 0), len(passage))
    b = min(max(citation.end - citation.passage_start, a), len(passage))
    return (f"{esc(passage[:a])}<mark class=\"cw-quote\">{esc(passage[a:b])}</mark>"
            f"{esc(passage[b:])}")


def where(citation: Citation) -> str:
    """Title, then the heading path below the title (as plain text)."""
    path = [h for h in citation.heading_path if h != citation.title]
    return " › ".join([citation.title, *path])


def anchor(turn_no: int, cite_id: int) -> str:
    return f"cw-src-{turn_no}-{cite_id}"


def marker(turn_no: int, citation: Citation) -> str:
    """The inline [n]: a link to the source card, with the passage in a hover popover."""
    return (f'<a class="cw-cite" href="#{anchor(turn_no, citation.id)}" '
            f'data-cite="{citation.id}" aria-describedby="{anchor(turn_no, citation.id)}-pop">'
            f"[{citation.id}]"
            f'<span class="cw-pop" role="tooltip" id="{anchor(turn_no, citation.id)}-pop">'
            f'<span class="cw-pop-title">{esc(where(citation))}</span>'
            f'<span class="cw-pop-passage">{highlight(citation)}</span></span></a>')


Piece = tuple[str, tuple[int, ...]]  # a sentence shown so far, and its markers once complete


def answer_body(turn_no: int, pieces: Sequence[Piece], citations: Sequence[Citation]) -> str:
    by_id = {c.id: c for c in citations}
    parts = []
    for text, cites in pieces:
        marks = "".join(marker(turn_no, by_id[n]) for n in cites if n in by_id)
        parts.append(f'<span class="cw-sentence">{esc(text)}{marks}</span>')
    return " ".join(parts)


SUPPORTED_TITLE = "Supported: checked against the source it cites"
REMOVED_LABEL = "not supported by the sources — removed"
CHECKING = "Draft, checking against the sources…"


def checked_body(turn_no: int, sentences: Sequence[AnswerSentence],
                 citations: Sequence[Citation]) -> str:
    """A verified generated answer: each sentence with its badge. A supported sentence
    keeps its markers; an unsupported one is struck through and labelled as removed (it is
    not part of the answer: no markers, left out of the answer's text)."""
    by_id = {c.id: c for c in citations}
    parts = []
    for s in sentences:
        if s.supported is False:
            parts.append(f'<span class="cw-sentence cw-unsupported" data-supported="false">'
                         f'<del class="cw-removed">{esc(s.text)}</del> '
                         f'<span class="cw-badge cw-badge-removed">✗ {esc(REMOVED_LABEL)}'
                         "</span></span>")
            continue
        marks = "".join(marker(turn_no, by_id[n]) for n in s.citations if n in by_id)
        parts.append(f'<span class="cw-sentence cw-supported" data-supported="true">'
                     f'{esc(s.text)}<span class="cw-badge cw-badge-ok" '
                     f'title="{esc(SUPPORTED_TITLE)}" aria-label="supported">✓</span>'
                     f"{marks}</span>")
    return " ".join(parts)


def checked_footer(generator: str, removed: int) -> str:
    """Who wrote the answer, and that it was checked (and how much was removed)."""
    by = f" by {esc(generator)}" if generator else ""
    cut = (f"; {removed} sentence{'s' if removed != 1 else ''} not supported by the sources "
           "removed" if removed else "")
    return (f'<div class="cw-checked">Written{by}; every sentence checked against the '
            f"sources it cites{cut}.</div>")


def draft(text: str) -> str:
    """The model's draft as it streams in, marked as not yet checked."""
    return (f'<div class="cw-checking"><span class="cw-spinner" aria-hidden="true"></span>'
            f"{esc(CHECKING)}</div>"
            f'<div class="cw-draft-text">{esc(text)}</div>')


def note(text: str) -> str:
    """A remark on the answer, e.g. that it fell back to source sentences."""
    return (f'<div class="cw-note"><span class="cw-icon" aria-hidden="true">ℹ</span> '
            f"{esc(text)}</div>")


def abstention() -> str:
    return (f'<div class="cw-abstain-text"><span class="cw-icon" aria-hidden="true">⚠</span> '
            f'{esc(ABSTAIN_TEXT)}</div><div class="cw-hint">{esc(ABSTAIN_HINT)}</div>')


def user_message(turn_no: int, question: str, query: str) -> str:
    note = ""
    if query != question:
        note = f'<div class="cw-query">searched for: {esc(query)}</div>'
    return (f'<div class="cw-msg cw-user" data-turn="{turn_no}">'
            f'<div class="cw-text">{esc(question)}</div>{note}</div>')


def bot_message(turn_no: int, body: str, kind: str, streaming: bool = False) -> str:
    """`kind`: "answer", "draft" (a generated answer being written), "abstain" or
    "error"."""
    state = ' aria-busy="true"' if streaming else ""
    return (f'<div class="cw-msg cw-bot cw-{kind}" data-turn="{turn_no}" data-kind="{kind}"'
            f'{state}>{body}</div>')


def page_label(citation: Citation) -> str:
    """ "p. 4", "pp. 4–5" for a quote across a page break, "" for a source without pages."""
    if citation.page is None:
        return ""
    if citation.page_end is not None and citation.page_end != citation.page:
        return f"pp. {citation.page}–{citation.page_end}"
    return f"p. {citation.page}"


def open_link(citation: Citation) -> str:
    """A link to the original file at the cited page or heading (`app.web.files`), opened
    in a new tab; "" when the document cannot be served."""
    url = source_link(citation)
    if url is None:
        return ""
    label = f"open at {page_label(citation)}" if citation.page is not None else "open the file"
    return (f' · <a class="cw-open" href="{esc(url)}" target="_blank" rel="noopener noreferrer"'
            f'>{esc(label)}</a>')


def sources_card(turn_no: int, citation: Citation) -> str:
    page = page_label(citation)
    return (f'<div class="cw-source" id="{anchor(turn_no, citation.id)}" '
            f'data-turn="{turn_no}" data-cite="{citation.id}">'
            f'<div class="cw-source-head"><span class="cw-n">[{citation.id}]</span> '
            f'<span class="cw-where">{esc(where(citation))}</span></div>'
            f'<div class="cw-source-meta">{esc(citation.doc_id)}'
            f'{f" · {page}" if page else ""}{" · read by OCR" if citation.ocr else ""}'
            " · characters "
            f"{citation.start}–{citation.end}{open_link(citation)}</div>"
            f'<blockquote class="cw-passage">{highlight(citation)}</blockquote></div>')


CHANGED_LABEL = "source changed since: the passage as it was when cited"


def changed_card(card: str) -> str:
    """A source card whose document was changed or removed since the answer (a reopened
    conversation, `app.history.changed_citations`): marked, the stored passage kept."""
    return (f'<div class="cw-source-changed"><div class="cw-changed">'
            f'<span class="cw-icon" aria-hidden="true">⚠</span> {esc(CHANGED_LABEL)}</div>'
            f"{card}</div>")


def sources_group(turn_no: int, question: str, citations: Sequence[Citation],
                  changed: Collection[int] = ()) -> str:
    cards = "".join(changed_card(sources_card(turn_no, c)) if c.id in changed
                    else sources_card(turn_no, c) for c in citations)
    return (f'<section class="cw-source-group" data-turn="{turn_no}">'
            f'<div class="cw-source-q">Q{turn_no}. {esc(question)}</div>{cards}</section>')


EMPTY_TRANSCRIPT = ('<div class="cw-empty">Ask a question about your documents. Every '
                    "sentence of an answer is followed by a citation [n]: hover it to read "
                    "the passage, click it to open the source. Extractive answers quote "
                    "the sources; generative ones are checked against them sentence by "
                    "sentence (✓), and what they do not support is removed.</div>")
EMPTY_SOURCES = ('<div class="cw-empty">The passages cited in answers appear here, the '
                 "supporting sentence highlighted.</div>")


def page(parts: Sequence[str], empty: str, elem: str) -> str:
    return f'<div class="{elem}">{"".join(parts) or empty}</div>'


# -- the Documents tab -----------------------------------------------------------------------
def documents_table(rows: Sequence[DocumentRow]) -> str:
    if not rows:
        return ('<div class="cw-empty">No documents indexed yet: upload files below, or put '
                "them in the sources folder and click Re-ingest now.</div>")
    body = "".join(
        f'<tr data-doc="{esc(r.doc_id)}"><td>{esc(r.title)}</td><td><code>{esc(r.file)}</code>'
        f'</td><td class="cw-num">{r.chunks}</td><td>{esc(r.ingested)}</td></tr>'
        for r in rows)
    return ('<table class="cw-docs"><thead><tr><th>Title</th><th>File</th><th>Chunks</th>'
            f"<th>Ingested</th></tr></thead><tbody>{body}</tbody></table>")


def status(ok: bool, message: str, errors: Sequence[tuple[str, str]] = ()) -> str:
    """A result line, and one line per file that failed with its reason."""
    if not message and not errors:
        return ""
    items = "".join(f"<li><b>{esc(name)}</b>: {esc(reason)}</li>" for name, reason in errors)
    listed = f'<ul class="cw-errors">{items}</ul>' if items else ""
    kind = "ok" if ok else "error"
    return f'<div class="cw-status cw-status-{kind}" data-ok="{str(ok).lower()}">' \
           f"{esc(message)}{listed}</div>"
