"""The text blocks of an HTML page, read in one pass in time linear in the page's size.

A tokenizer of its own and a stack of open elements of its own, so that neither the depth of
nesting nor malformed markup costs more than one look at each character:

- not BeautifulSoup: `find_all` over every block's subtree was quadratic in the depth
  (200,000 nested `<div>`s took hours);
- not `html.parser` either: in CPython 3.11 its handling of a tag left open at the end of
  the input rescans the rest of the input from every `<` (48 kB of `<a x='` took 7 s,
  quadruple for double the size).

Each scan below either consumes what it looked at or ends the input (an unclosed comment or
tag runs to the end, as in HTML5), so the whole read is linear.

What is read: the text inside block elements (headings, paragraphs, list items, cells,
divs ...), each block its own text and not that of the blocks nested in it, in the order
the blocks open; text outside any block is kept as paragraphs of its own; the text of
dropped elements (scripts, styles, navigation, headers, footers, forms ...) and comments
never. With a `<body>`, only what is inside it; the page's `<title>` is returned apart.
"""

from __future__ import annotations

import html
import re

from ingest.types import Block

DROP = frozenset({"script", "style", "noscript", "nav", "header", "footer", "aside", "form",
                  "iframe", "svg", "template", "button", "select"})
BLOCKS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dd", "dt", "blockquote",
                    "pre", "td", "th", "figcaption", "div", "section", "article", "main"})
# Elements that never have content, so never wait for an end tag (as BeautifulSoup knows them).
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen",
                  "link", "menuitem", "meta", "param", "source", "track", "wbr", "basefont",
                  "bgsound", "command", "frame", "image", "isindex", "nextid", "spacer"})
RAW = {"script": re.compile(r"</script", re.IGNORECASE),  # content is not markup
       "style": re.compile(r"</style", re.IGNORECASE)}

_TAG_NAME = re.compile(r"</?([A-Za-z][^\t\n\f\r />]*)")
# The rest of a tag up to its `>`: a quoted attribute value may hold a `>`. Possessive, so a
# tag with no end is scanned once.
_TAG_REST = re.compile(r"""(?:[^>=]++|=\s*+(?:"[^"]*+"|'[^']*+')?+)*+""")
_WS = re.compile(r"\s+")


def extract(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(the page's title, [(element name, text)] of its blocks in document order); loose
    text outside any block has the element name "" ."""
    reader = _Reader()
    _tokenize(text, reader)
    return reader.finish()


def _tokenize(text: str, reader: _Reader) -> None:
    n = len(text)
    pos = 0
    while pos < n:
        lt = text.find("<", pos)
        if lt < 0:
            reader.text(text[pos:])
            return
        if lt > pos:
            reader.text(text[pos:lt])
        nxt = text[lt + 1:lt + 2]
        if text.startswith("<!--", lt):
            if text.startswith(("<!-->", "<!--->"), lt):
                pos = text.index(">", lt + 3) + 1
                continue
            end = text.find("-->", lt + 4)
            if end < 0:
                return  # an unclosed comment runs to the end
            reader.tag_boundary()
            pos = end + 3
            continue
        if nxt in ("!", "?") or (nxt == "/" and not text[lt + 2:lt + 3].isalpha()):
            end = text.find(">", lt + 2)  # doctype, CDATA, processing instruction, `</>`
            if end < 0:
                return
            reader.tag_boundary()
            pos = end + 1
            continue
        name = _TAG_NAME.match(text, lt)
        if name is None:
            reader.text("<")
            pos = lt + 1
            continue
        rest = _TAG_REST.match(text, name.end())  # never None: it matches ''
        end = rest.end() if rest else name.end()
        if end >= n:
            return  # a tag cut off by the end of the input is dropped, as in HTML5
        tag = name.group(1).lower()
        pos = end + 1
        if nxt == "/":
            reader.end(tag)
            continue
        reader.start(tag)
        if text[end - 1] == "/" and end - 1 >= name.end():  # <div/>: opened and closed
            reader.end(tag)
        elif tag in RAW:
            close = RAW[tag].search(text, pos)
            if close is None:
                return  # the rest of the input is script
            pos = close.start()


class _Reader:
    """Builds blocks from tag and text events with a stack of open elements."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.open: dict[str, int] = {}
        self.dropped = 0  # open elements whose text is dropped
        # open blocks: (stack depth, their texts, index of their slot)
        self.frames: list[tuple[int, list[str], int]] = []
        self.slots: list[list] = []  # [name, text, inside body], in the order blocks open
        self.loose: list[str] = []
        self.pending: list[str] = []  # raw text since the last tag
        self.body_seen = False
        self.title: list[str] | None = None
        self.title_done = False

    # -- events -----------------------------------------------------------------------------
    def text(self, raw: str) -> None:
        self.pending.append(raw)

    def tag_boundary(self) -> None:
        if self.pending:
            data = html.unescape("".join(self.pending))
            self.pending.clear()
            if self.dropped:
                return
            if self.title is not None and not self.title_done and self.stack[-1] == "title":
                self.title.append(data)
            elif self.frames:
                self.frames[-1][1].append(data)
            elif not self.open.get("head") and not self.open.get("title"):
                self.loose.append(data)

    def start(self, tag: str) -> None:
        self.tag_boundary()
        if tag in VOID:
            return
        if tag == "body":
            self._flush_loose()
            self.body_seen = True
        if tag in BLOCKS and not self.dropped:
            if not self.frames:
                self._flush_loose()
            self.frames.append((len(self.stack), [], len(self.slots)))
            self.slots.append([tag, "", bool(self.open.get("body"))])
        if tag == "title" and self.title is None and not self.dropped:
            self.title = []
        self.stack.append(tag)
        self.open[tag] = self.open.get(tag, 0) + 1
        if tag in DROP:
            self.dropped += 1

    def end(self, tag: str) -> None:
        self.tag_boundary()
        if not self.open.get(tag):
            return  # an end tag with nothing to close, as BeautifulSoup ignores it
        while True:  # closes whatever is still open inside it; amortised: each pops
            top = self._pop()
            if top == tag:
                break

    def _pop(self) -> str:
        if self.stack[-1] == "body":
            self._flush_loose()  # while still inside it
        tag = self.stack.pop()
        self.open[tag] -= 1
        if tag in DROP:
            self.dropped -= 1
        if self.frames and self.frames[-1][0] == len(self.stack):
            self._close_block()
        if tag == "title" and self.title is not None:
            self.title_done = True
        return tag

    def _close_block(self) -> None:
        _, texts, slot = self.frames.pop()
        self.slots[slot][1] = _words(texts)
        if not self.frames:
            self._flush_loose()

    def _flush_loose(self) -> None:
        if self.loose:
            words = _words(self.loose)
            self.loose = []
            if words:
                self.slots.append(["", words, bool(self.open.get("body"))])

    def finish(self) -> tuple[str, list[tuple[str, str]]]:
        self.tag_boundary()
        while self.stack:
            self._pop()
        self._flush_loose()
        title = _WS.sub(" ", " ".join(t.strip() for t in self.title or [] if t.strip()))
        keep = [(name, words) for name, words, in_body in self.slots
                if words and (in_body or not self.body_seen)]
        return title.strip(), keep


def _words(texts: list[str]) -> str:
    return _WS.sub(" ", " ".join(t.strip() for t in texts if t.strip())).strip()


def html_blocks(text: str, with_title: bool = True) -> list[Block]:
    """Blocks of an HTML page (see ingest/html_text.py); the page's title becomes its first
    heading when no heading leads the page."""
    title, found = extract(text)
    blocks: list[Block] = []
    for name, words in found:
        if name in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            blocks.append(Block(words, "heading", int(name[1])))
        elif name == "li":
            blocks.append(Block(words, "item"))
        else:
            blocks.append(Block(words, "para"))
    if with_title and title and not any(b.kind == "heading" for b in blocks[:1]):
        blocks.insert(0, Block(title, "heading", 1))
    return blocks
