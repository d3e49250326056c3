"""Expected answer types: the kind of quantity a question asks for, and whether a sentence
states one.

A question that asks for a dose wants a dose ("2 g/kg"), not a percentage; one that asks
for a survival rate or a percentage wants a share ("45%", "more than half"); "how common"
is also answered by words such as "rare"; "how long" / "within what time" by a duration;
"how many" by a count; "which gene" / "what mutation" by a sentence that names one. A
sentence on the right topic that states some other kind of figure, or none, does not
answer the question. Reference numbers ("... muscle weakness 3", "diagnosis1.") are not
figures (`ingest.text.strip_citation_markers`).
"""

from __future__ import annotations

import re

from ingest.text import strip_citation_markers

_NUM = r"\d+(?:[.,·]\d+)?"
_SHARE = (_NUM + r"\s?(?:%|percent\b|per ?cent\b)|\b(?:half|a third|a quarter|one in \w+|"
          r"\d+ (?:out )?of (?:the )?\d+|majority)\b")
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|"
                 r"hundreds?|thousands?")
_TIME_UNITS = r"years?|months?|weeks?|days?|hours?|minutes?"

# kind: (the question asks for it, a sentence states it)
QUANTITY_KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "dose": (re.compile(r"\b(?:doses?|dosages?|dosing|(?:daily )?(?:intake|allowance))\b",
                        re.IGNORECASE),
             re.compile(_NUM + r"\s?(?:mg|g|mcg|µg|μg|ng|ml|l|iu|units?|mmol|meq)"
                               r"(?:/(?:kg|m2|m²|day|d|h))?\b(?!/(?:d?l|ml)\b)",
                        re.IGNORECASE)),
    "share": (re.compile(r"\b(?:(?:what|which)(?: is| are| was| were)?(?: the)? (?:percentage|"
                         r"proportion|fraction|share|prevalence|incidence|rate)|percentage|"
                         r"how many percent|(?:survival|mortality|response|success|cure|"
                         r"recurrence|relapse|remission) rates?)\b", re.IGNORECASE),
              re.compile(_SHARE, re.IGNORECASE)),
    "frequency": (re.compile(r"\bhow (?:common|frequent|frequently|likely|rare|prevalent)\b",
                             re.IGNORECASE),
                  re.compile(_SHARE + r"|\b(?:most|rare|rarely|common|commonly|uncommon|"
                                      r"frequent|frequently|infrequent|seldom)\b",
                             re.IGNORECASE)),
    "duration": (re.compile(r"\bhow long\b|\b(?:within|after|for) (?:what|how much) time\b",
                            re.IGNORECASE),
                 re.compile(r"(?:" + _NUM + r"|\b(?:" + _NUMBER_WORDS + r"|several|a few))"
                            r"\s?(?:-\s?)?(?:" + _TIME_UNITS + r")\b", re.IGNORECASE)),
    "gene": (re.compile(r"\b(?:which|what) (?:\w+ )?(?:genes?|mutations?|variants?|alleles?)\b",
                        re.IGNORECASE),
             re.compile(r"\b(?:genes?|genetic|mutations?|mutated|mutant|variants?|alleles?|"
                        r"polymorphisms?|deletions?)\b", re.IGNORECASE)),
    "count": (re.compile(r"\bhow many\b(?! percent)", re.IGNORECASE),
              re.compile(r"\b(?:" + _NUM + r"|" + _NUMBER_WORDS + r")\b", re.IGNORECASE)),
}

def asked_quantities(question: str) -> list[str]:
    """The kinds of quantity `question` asks for (see `QUANTITY_KINDS`), in a fixed order."""
    return [kind for kind, (asks, _) in QUANTITY_KINDS.items() if asks.search(question)]


def asked_words(question: str) -> str:
    """The words of `question` that name the quantity asked for ("what percentage", "dose")."""
    return " ".join(m.group(0) for asks, _ in QUANTITY_KINDS.values()
                    for m in asks.finditer(question))


def states(sentence: str, kind: str) -> bool:
    """Whether `sentence` states a quantity of `kind`."""
    return bool(QUANTITY_KINDS[kind][1].search(strip_citation_markers(sentence)))


# The older, general check, for quantity questions of no kind above ("how much"): does some
# sentence state a quantity of any kind? Used by both answer modes.
_ASKS_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|often|long|common|frequent|frequently|likely)|"
    r"(?:what|which) (?:is the )?(?:percentage|proportion|fraction|share|dose|dosage|number|"
    r"incidence|prevalence)|(?:survival|mortality|response|success|cure) rates?|doses?|dosage)\b",
    re.IGNORECASE)
_STATES_QUANTITY = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:%|percent\b|per ?cent\b|mg\b|g\b|ml\b|years?\b|months?\b|"
    r"weeks?\b|days?\b|hours?\b|times\b|sessions?\b|patients\b|cases\b)|"
    r"\b(?:half|a third|a quarter|one in|most|majority|rare|rarely|common|uncommon)\b",
    re.IGNORECASE)


def asks_quantity(question: str) -> bool:
    return bool(_ASKS_QUANTITY.search(question))


def states_quantity(sentence: str) -> bool:
    return bool(_STATES_QUANTITY.search(sentence))
