"""The sentences around a chosen one that an extractive answer needs to make sense.

- **Sentences that refer back.** A sentence opening with "This", "These", "Such", "The
  condition" ... goes on from the one before it on the same line ("Various causes have
  been considered. These include toxins, ..."). A chosen sentence that opens that way
  brings the one before it; a chosen sentence brings up to `MAX_CONTEXT` following
  sentences that open that way.
- **Lists under a lead-in.** Lead-ins ("Some key factors include:") are not candidates
  (they say nothing alone) and list items are embedded bare, so a question about the list
  as a whole matches no single item. A list whose lead-in (with the rest of its line and
  the section heading) holds at least `LIST_MATCH` of the question's weighted terms is
  answered as a whole: the lead-in and up to `MAX_LIST_ITEMS` items. A question that asks
  what a list holds ("which ... are listed", "include") is matched against the items too,
  since it often names one of them ("Apart from X, which ... are listed?").

Neighbours come from the candidates (the sentences of the retrieved chunks), so a list or
a paragraph is followed across the chunks that were retrieved, never beyond them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from app.answer.candidate import Candidate
from index.terms import QuestionTerms
from ingest.sentences import split_sentences
from ingest.text import refers_back

Key = tuple[str, int]  # (document, offset in its cleaned text)

MAX_CONTEXT = 2
LIST_MATCH = 0.5
MAX_LIST_ITEMS = 8

ASKS_LIST = re.compile(r"\b(?:list|listed|lists|includes?|included|enumerat\w*)\b",
                       re.IGNORECASE)


def key(cand: Candidate) -> Key:
    return cand.hit.chunk.doc_id, cand.start


def _neighbours(cand: Candidate, starts: dict[Key, Candidate],
                ends: dict[Key, Candidate]) -> tuple[Candidate | None, Candidate | None]:
    """The sentences just before and just after `cand` on its line (spaces between)."""
    chunk = cand.hit.chunk
    text, doc = chunk.text, chunk.doc_id
    i = j = cand.start - chunk.start
    while j > 0 and text[j - 1] == " ":
        j -= 1
    before = ends.get((doc, chunk.start + j)) if 0 < j < i else None
    i = j = cand.end - chunk.start
    while j < len(text) and text[j] == " ":
        j += 1
    after = starts.get((doc, chunk.start + j)) if i < j < len(text) else None
    return before, after


def with_context(chosen: list[Candidate], cands: list[Candidate]) -> list[Candidate]:
    """`chosen`, in order, each with the sentence it refers back to and the sentences that
    go on from it (see the module docstring); no sentence twice."""
    starts = {key(c): c for c in cands}
    ends = {(c.hit.chunk.doc_id, c.end): c for c in cands}
    out: dict[Key, Candidate] = {}
    for cand in chosen:
        before, after = _neighbours(cand, starts, ends)
        if before is not None and refers_back(cand.display):
            out.setdefault(key(before), before)
        out.setdefault(key(cand), cand)
        for _ in range(MAX_CONTEXT):
            if after is None or not refers_back(after.display):
                break
            out.setdefault(key(after), after)
            after = _neighbours(after, starts, ends)[1]
    return list(out.values())


def joined(cand: Candidate, cands: list[Candidate]) -> Candidate:
    """`cand` as one candidate with the sentence it refers back to and the sentences that
    go on from it (`with_context`), when they lie in its chunk: evidence a model can use
    alone ("This leads to encephalitis, ataxia ..." with the sentence "This" stands for).
    Its span covers them all, so its citation quotes them exactly."""
    chunk = cand.hit.chunk
    around = [c for c in with_context([cand], cands)
              if c.hit.chunk.doc_id == chunk.doc_id and chunk.start <= c.start
              and c.end <= chunk.end]
    start, end = min(c.start for c in around), max(c.end for c in around)
    if (start, end) == (cand.start, cand.end):
        return cand
    return replace(cand, start=start, end=end,
                   text=chunk.text[start - chunk.start:end - chunk.start])


def _next_item(item: Candidate, starts: dict[Key, Candidate]) -> Candidate | None:
    """The list item on the line after `item` (it may sit in another retrieved chunk)."""
    for gap in range(1, 4):  # the newline, and the indent of the next item
        nxt = starts.get((item.hit.chunk.doc_id, item.end + gap))
        if nxt is not None:
            return nxt if nxt.text.startswith("• ") else None
    return None


def as_one(listed: list[Candidate]) -> list[Candidate]:
    """A list from `matching_list` as one candidate: its lead-in and the items in the same
    chunk, so that an answer gives it as one sentence with one citation whose quote is the
    exact span of the list; items in a later chunk follow as candidates of their own."""
    if len(listed) < 2:
        return listed
    lead, chunk = listed[0], listed[0].hit.chunk
    inside = [c for c in listed[1:] if c.hit.chunk.doc_id == chunk.doc_id
              and c.end <= chunk.end]
    if not inside:
        return listed
    end = max(c.end for c in inside)
    one = replace(lead, end=end, text=chunk.text[lead.start - chunk.start:end - chunk.start])
    return [one, *(c for c in listed[1:] if c not in inside)]


def matching_list(question: str, cands: list[Candidate]) -> list[Candidate]:
    """The lead-in and items of the list that best matches `question`, or [] (see the
    module docstring). The lead-in comes back as a candidate of its own."""
    qterms = QuestionTerms.of(question, [c.text for c in cands])
    with_items = bool(ASKS_LIST.search(question))
    starts = {key(c): c for c in cands}
    best: tuple[tuple[float, float], list[Candidate]] = ((LIST_MATCH, 0.0), [])
    seen: set[str] = set()
    for cand in cands:
        chunk = cand.hit.chunk
        if chunk.id in seen:
            continue
        seen.add(chunk.id)
        spans = split_sentences(chunk.text)
        for i, (s, e) in enumerate(spans[:-1]):
            if not chunk.text[s:e].endswith(":"):
                continue
            items: list[Candidate] = []
            item = starts.get((chunk.doc_id, chunk.start + spans[i + 1][0]))
            while item is not None and item.text.startswith("• ") \
                    and len(items) < MAX_LIST_ITEMS:
                items.append(item)
                item = _next_item(item, starts)
            if len(items) < 2:
                continue
            line_start = chunk.text.rfind("\n", 0, s) + 1
            lead_in = " ".join((chunk.heading_path[-1] if chunk.heading_path else "",
                                chunk.text[line_start:e]))
            context = " ".join([lead_in, *(i.text for i in items)]) if with_items else lead_in
            # ties (two lists that both hold the question's words) go to the better lead-in
            share = (qterms.share(context), qterms.share(lead_in))
            if share > best[0]:
                lead = replace(items[0], hit=cand.hit, start=chunk.start + s,
                               end=chunk.start + e, text=chunk.text[s:e])
                best = (share, [lead, *items])
    return best[1]
