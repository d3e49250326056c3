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

Tables: a data table becomes one `row` block per row (`ingest.tables.grid_blocks`: header
from `<thead>` or rows of `<th>`, else the first row if it looks like one; row and column
spans; its `<caption>` a heading above the rows). A layout table (the page's columns, old
HTML's way to place a menu beside the text) is read as the blocks of its cells, as before.
Which is which follows Mozilla Readability's `_markDataTables`: `role="presentation"` or a
table inside it makes a layout table; a summary, caption, `<th>`, `<thead>`, `<tfoot>` or
`<col>` a data table; otherwise one row or one column is layout, 10+ rows or 5+ columns
data, and beyond that more than 10 cells.
"""

from __future__ import annotations

import html
import re
from typing import Any

from ingest.tables import Cell, grid_blocks
from ingest.types import Block

DROP = frozenset({"script", "style", "noscript", "nav", "header", "footer", "aside", "form",
                  "iframe", "svg", "template", "button", "select"})
BLOCKS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "dd", "dt", "blockquote",
                    "pre", "td", "th", "figcaption", "div", "section", "article", "main",
                    "caption"})
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
_ATTR = re.compile(r"""\b(role|datatable|summary|colspan|rowspan)\s*=\s*(?:"([^"]*)"|'([^']*)'|"""
                   r"""([^\s"'>]+))""", re.IGNORECASE)
_ATTR_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "table", "td", "th"})
_TABLE_MARKS = frozenset({"th", "thead", "tfoot", "col", "colgroup", "caption"})


def extract(text: str) -> tuple[str, list[tuple[str, Any]]]:
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
        reader.start(tag, text[name.end():end] if tag in _ATTR_TAGS else "")
        if text[end - 1] == "/" and end - 1 >= name.end():  # <div/>: opened and closed
            reader.end(tag)
        elif tag in RAW:
            close = RAW[tag].search(text, pos)
            if close is None:
                return  # the rest of the input is script
            pos = close.start()


class _Table:
    """A table being read: its rows of cells, each cell the range of slots read inside it.
    Depths are the stack's length below the element, as `_Reader.frames` keeps them."""

    def __init__(self, depth: int, first_slot: int, attrs: dict[str, str], dropped: bool):
        self.depth, self.first_slot, self.attrs, self.dropped = depth, first_slot, attrs, dropped
        self.rows: list[list[list]] = []  # [first slot, end slot, colspan, rowspan, is th]
        self.head_rows: set[int] = set()
        self.marked = bool(attrs.get("summary"))
        self.nested = False
        self.caption: int | None = None  # its slot
        self.row_depth: int | None = None
        self.cell_depth: int | None = None
        self.cell_tag = ""
        self.section = ""
        self.section_depth: int | None = None


def _is_data_table(table: _Table, rows: list[list[Cell]], caption: bool) -> bool:
    """Mozilla Readability's rule (see the module's docstring) for a table with no table
    inside it and no role="presentation" (`_Reader._close_table` has checked those)."""
    if table.marked or caption:
        return True
    n_rows = sum(1 for row in rows if row)
    n_cols = max((sum(min(c.colspan, 64) for c in row) for row in rows), default=0)
    if n_rows <= 1 or n_cols <= 1:
        return False
    return n_rows >= 10 or n_cols > 4 or n_rows * n_cols > 10


def _attrs(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or "").strip()
            for m in _ATTR.finditer(raw)} if raw else {}


def _heading_name(tag: str, attrs: str) -> str:
    """A slot's name: the tag, and for a heading with an id, "h2#the-id" (its anchor)."""
    if tag in _HEADINGS and attrs:
        found = _ID.search(attrs)
        anchor = html.unescape(next((g for g in found.groups() if g), "")) if found else ""
        if anchor and len(anchor) <= 200 and not any(ch.isspace() for ch in anchor):
            return f"{tag}#{anchor}"
    return tag


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_ID = re.compile(r"""(?:^|\s)id\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def _span(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 6 else 1


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
        self.tables: list[_Table] = []

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

    def start(self, tag: str, attrs: str = "") -> None:
        self.tag_boundary()
        if self.tables:
            self._in_table(tag, attrs)
        if tag in VOID:
            return
        if tag == "body":
            self._flush_loose()
            self.body_seen = True
        if tag in BLOCKS and not self.dropped:
            if not self.frames:
                self._flush_loose()
            self.frames.append((len(self.stack), [], len(self.slots)))
            self.slots.append([_heading_name(tag, attrs), "", bool(self.open.get("body"))])
        if tag == "title" and self.title is None and not self.dropped:
            self.title = []
        self.stack.append(tag)
        self.open[tag] = self.open.get(tag, 0) + 1
        if tag in DROP:
            self.dropped += 1
        if tag == "table":
            if not self.frames:
                self._flush_loose()
            self.tables.append(_Table(len(self.stack) - 1, len(self.slots), _attrs(attrs),
                                      self.dropped > 0))

    # -- tables ---------------------------------------------------------------------------
    def _in_table(self, tag: str, attrs: str) -> None:
        """Bookkeeping of the innermost table before `tag` opens, with the end tags HTML
        lets a page leave out (`<td>a<td>b`, `<tr>` after an open row)."""
        table = self.tables[-1]
        if tag in ("td", "th", "tr", "thead", "tbody", "tfoot"):
            if table.cell_depth is not None:
                self.end(table.cell_tag)
            if tag != "td" and tag != "th" and table.row_depth is not None and table.row_depth >= 0:
                self.end("tr")
            if tag != "td" and tag != "th":
                table.row_depth = None
            if tag in ("thead", "tbody", "tfoot") and table.section_depth is not None:
                self.end(table.section)
        if tag in _TABLE_MARKS and tag != "caption":
            table.marked = True
        if tag == "table":
            table.nested = True
        elif tag in ("thead", "tbody", "tfoot"):
            table.section, table.section_depth = tag, len(self.stack)
        elif tag == "tr":
            table.rows.append([])
            table.row_depth = len(self.stack)
            if table.section == "thead":
                table.head_rows.add(len(table.rows) - 1)
        elif tag in ("td", "th"):
            if table.row_depth is None:
                table.rows.append([])  # a cell with no <tr> opens a row
                table.row_depth = -1
            if not self.frames:
                self._flush_loose()
            found = _attrs(attrs)
            table.rows[-1].append([len(self.slots), None, _span(found.get("colspan")),
                                   _span(found.get("rowspan")), tag == "th"])
            table.cell_depth, table.cell_tag = len(self.stack), tag
        elif tag == "caption" and table.caption is None:
            if not self.frames:
                self._flush_loose()
            table.caption = len(self.slots)

    def _table_pop(self, tag: str) -> None:
        table, depth = self.tables[-1], len(self.stack)
        if tag == table.cell_tag and depth == table.cell_depth:
            table.rows[-1][-1][1] = len(self.slots)
            table.cell_depth = None
        elif tag == "tr" and depth == table.row_depth:
            table.row_depth = None
        elif tag == table.section and depth == table.section_depth:
            table.section, table.section_depth = "", None
        elif tag == "table" and depth == table.depth:
            self._close_table(self.tables.pop())

    def _close_table(self, table: _Table) -> None:
        if table.dropped or table.nested or table.attrs.get("datatable") == "0" \
                or table.attrs.get("role", "").lower() == "presentation":
            return  # a layout table (checked first: a cell around a table spans its slots)
        slots = self.slots
        inside = 0  # slots read inside cells (and the caption)
        rows: list[list[Cell]] = []
        for row in table.rows:
            cells = []
            for first, end, colspan, rowspan, th in row:
                end = len(slots) if end is None else end
                inside += end - first
                text = " ".join(s[1] for s in slots[first:end] if isinstance(s[1], str)
                                and s[1]) if end - first != 1 else slots[first][1]
                cells.append(Cell(text if isinstance(text, str) else "", colspan, rowspan, th))
            rows.append(cells)
        caption = ""
        if table.caption is not None and table.caption < len(slots):
            caption = slots[table.caption][1] if isinstance(slots[table.caption][1], str) else ""
            inside += 1
        if not _is_data_table(table, rows, bool(caption)):
            return
        head = 0
        while head in table.head_rows:
            head += 1
        rows_out = grid_blocks(rows, head or None)
        # Text inside the table but in no cell (browsers show it above the table).
        stray: list[str] = []
        if inside < len(slots) - table.first_slot:
            in_cells = {table.caption} | {
                i for row in table.rows for first, end, *_ in row
                for i in range(first, len(slots) if end is None else end)}
            stray = [s[1] for i, s in enumerate(slots[table.first_slot:], table.first_slot)
                     if i not in in_cells and isinstance(s[1], str) and s[1]]
        in_body = bool(self.open.get("body")) or not self.body_seen
        del slots[table.first_slot:]
        if caption or stray or rows_out:
            slots.append(["#table", (caption, stray, rows_out), in_body])

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
        if self.tables:
            self._table_pop(tag)
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

    def finish(self) -> tuple[str, list[tuple[str, Any]]]:
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
    level = 1  # of the last heading
    for name, words in found:
        if name == "#table":
            caption, stray, rows = words
            if caption:  # a heading one level below the section the table is in
                blocks.append(Block(caption, "heading", min(level + 1, 6)))
            blocks.extend(Block(t, "para") for t in stray)
            blocks.extend(rows)
        elif name[:2] in _HEADINGS:
            level = int(name[1])
            anchor = name.partition("#")[2] or None  # the heading's id, for a link to it
            blocks.append(Block(words, "heading", level, anchor=anchor))
        elif name == "li":
            blocks.append(Block(words, "item"))
        else:
            blocks.append(Block(words, "para"))
    if with_title and title and not any(b.kind == "heading" for b in blocks[:1]):
        blocks.insert(0, Block(title, "heading", 1))
    return blocks
