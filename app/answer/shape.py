"""The shape of a question: what kind of answer it asks for.

- "yes-no": "Is / Are / Do / Does / Can / Should ... ?" (after any lead-in such as
  "According to the sources,"): the answer opens with "Yes" or "No", or says the sources
  do not settle it.
- "list": "List ...", "Which ... are listed / include ...", "What are the (types|causes|
  symptoms ...) of ...", "Which <plural noun> do / are ...": every item the evidence holds.
- "figure": a dose, a share, a count, a duration... (`app.answer.quantities`): the figure
  leads.
- "why-how": "Why ...", "How does / is / can ...", "What causes ...": a cause, a mechanism
  or a procedure.
- "definition": "What is X?", "What does X refer to / mean?", "What is meant by X?",
  "define X".
- "comparison": "difference between", "compare", "versus", "X or Y?".
- "other": anything else ("Which malignancy ...", "When ...").

Rules on the question's own words, checked on every gold question (tests/test_shape.py);
the shape steers how an answer is judged and written, never whether it is allowed.
"""

from __future__ import annotations

import re
from typing import Literal

from app.answer.quantities import asked_quantities

Shape = Literal["yes-no", "list", "figure", "why-how", "definition", "comparison", "other"]
SHAPES: tuple[Shape, ...] = ("yes-no", "list", "figure", "why-how", "definition",
                             "comparison", "other")

_LEAD_IN = re.compile(r"^(?:(?:according to|in|based on|per) [^,?]{1,80},\s*|"
                      r"(?:so|and|but|then|also|ok(?:ay)?|please|tell me),?\s+)",
                      re.IGNORECASE)
_YES_NO = re.compile(r"^(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|"
                     r"had|may|might|must|isn't|aren't|doesn't|don't|won't|can't)\b",
                     re.IGNORECASE)
_COMPARISON = re.compile(r"\b(?:differen(?:ce|t)s? between|compare[ds]?|comparison|versus|"
                         r"vs\.?|distinguish\w*|differ)\b", re.IGNORECASE)
_LIST = re.compile(r"^(?:list|name|enumerate|give)\b|\b(?:are|is) (?:listed|named|included)\b|"
                   r"\blisted\b|\binclude[ds]?\b|^what (?:are|were) the (?:\w+ )?(?:types|kinds|"
                   r"causes|symptoms|signs|features|factors|options|treatments|syndromes|"
                   r"disorders|forms|classes|categories|conditions|examples)\b|"
                   r"^(?:which|what) (?:types|kinds|forms|sorts|classes) of\b|"
                   r"^(?:which|what) (?:[\w-]+ ){0,2}[\w-]{3,}[^s\W]s (?:do|does|did|are|were|"
                   r"have|has|can|may|is)\b",
                   re.IGNORECASE)
_WHY_HOW = re.compile(r"^(?:why|how (?:does|do|did|is|are|was|were|can|could|should|would|"
                      r"might)|how\b(?! (?:many|much|long|often|common|frequent|old|soon|"
                      r"likely|rare))|what (?:causes|caused|leads? to|happens|goes wrong|"
                      r"triggers|sets off|explains|is the (?:cause|mechanism|reason))|"
                      r"what (?:makes|made))\b", re.IGNORECASE)
_DEFINITION = re.compile(r"^(?:what (?:is|are) (?:meant by|the (?:term|name|definition) for)|"
                         r"what does .{1,80} (?:refer to|mean|stand for|describe)|"
                         r".{0,80}\bdefine[ds]?\b|definition of|"
                         r"what (?:is|are) (?:an? |the )?[^,]{1,60}\?$)",
                         re.IGNORECASE)

_NAMES_TERM = re.compile(r"\bdefine[ds]?\b|\brefers? to\b|\bmeant by\b|\bstands? for\b",
                         re.IGNORECASE)


def question_shape(question: str) -> Shape:
    """The shape of `question` (see the module docstring). A question after a clause
    ("If doctors treat the tumour, does ...?", "Since ..., how is it diagnosed?") is
    shaped by what follows the clause."""
    q = " ".join(question.split())
    while (m := _LEAD_IN.match(q)) and m.end() < len(q):
        q = q[m.end():]
    if not (_YES_NO.match(q) or _WHY_HOW.match(q) or re.match(r"(?:what|which|who|when|"
                                                              r"where|list)\b", q, re.I)):
        for m in re.finditer(r"[,;:] +", q):
            rest = q[m.end():]
            if _YES_NO.match(rest) or _WHY_HOW.match(rest):
                q = rest
                break
    if _COMPARISON.search(q) and not _YES_NO.match(q):
        return "comparison"
    if _YES_NO.match(q):
        return "yes-no"
    if asked_quantities(q):
        return "figure"
    if _LIST.search(q):
        return "list"
    if _NAMES_TERM.search(q):
        return "definition"
    if _WHY_HOW.match(q):
        return "why-how"
    if _DEFINITION.match(q):
        return "definition"
    return "other"
