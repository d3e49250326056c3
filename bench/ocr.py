"""OCR engines on scanned pages: character accuracy, seconds per page, peak memory.

    .venv/bin/python -m bench.ocr [--pages N] [--engines tesseract,rapidocr] [--dpi 200]
                                  [--threads 2] [--read-dpi 300]

The pages are the default sources' text (`data/sources/*.txt`) rendered here with Pillow
as a scanner would give them (black text on white, 11 pt, A4, `--dpi` pixels an inch,
a little noise and a slight tilt), saved as an image-only PDF (no text layer), then read
back page by page the way `citewise ingest` reads a scanned PDF (`ingest.ocr`: the page
rendered from the PDF, then the engine). Each engine runs in its own child process (so its
peak RSS is its own), with `--threads` threads (2). Character accuracy is 1 - Levenshtein distance /
reference length on whitespace-normalised text (`char_accuracy`).

Writes bench/out/ocr.json.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "data" / "sources"
ENGINES = ("tesseract", "rapidocr")

A4_INCHES = (8.27, 11.69)
FONT_POINTS = 11


# -- pages rendered from text -------------------------------------------------------------


def source_text(sources: Path = SOURCES) -> str:
    """The default sources' text, file after file, one paragraph a line."""
    return "\n".join(p.read_text(encoding="utf-8").strip() for p in sorted(sources.glob("*.txt")))


def render_pages(text: str, pages: int, dpi: int = 200, seed: int = 0,
                 noise: bool = True) -> tuple[list, list[str]]:
    """Lay `text` out on up to `pages` A4 pages as images (Pillow), like a scan: returns
    the images and, for each, the text it shows (the reference for accuracy)."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = random.Random(seed)
    width, height = int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi)
    margin = dpi  # one inch
    font = ImageFont.load_default(size=round(FONT_POINTS * dpi / 72))
    line_height = round(FONT_POINTS * 1.45 * dpi / 72)
    lines_per_page = (height - 2 * margin) // line_height
    lines: list[str] = []
    for paragraph in text.splitlines():
        words, line = paragraph.split(), ""
        for word in words:
            trial = f"{line} {word}" if line else word
            if line and font.getlength(trial) > width - 2 * margin:
                lines.append(line)
                line = word
            else:
                line = trial
        if line:
            lines.append(line)
        lines.append("")  # a blank line between paragraphs
    images, references = [], []
    for n in range(pages):
        page_lines = lines[n * lines_per_page:(n + 1) * lines_per_page]
        if not any(page_lines):
            break
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(page_lines):
            draw.text((margin, margin + i * line_height), line, fill=0, font=font)
        if noise:
            image = image.rotate(rng.uniform(-0.6, 0.6), fillcolor=255, resample=Image.BICUBIC)
            image = image.filter(ImageFilter.GaussianBlur(0.6))
            pixels = image.load()
            for _ in range(width * height // 2000):  # specks of dust
                pixels[rng.randrange(width), rng.randrange(height)] = rng.randrange(0, 160)
        images.append(image)
        references.append("\n".join(page_lines).strip())
    return images, references


def image_pdf(images: list, dpi: int = 200) -> bytes:
    """An image-only PDF (one image a page, no text layer), as a scanner saves one."""
    out = io.BytesIO()
    first, *rest = [im.convert("RGB") for im in images]
    first.save(out, format="PDF", save_all=True, append_images=rest, resolution=dpi)
    return out.getvalue()


# -- accuracy -------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), two rows at a time."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_accuracy(reference: str, read: str) -> float:
    """1 - edit distance / reference length, on whitespace-normalised text (floor 0)."""
    ref, got = normalise(reference), normalise(read)
    if not ref:
        return 1.0 if not got else 0.0
    return max(0.0, 1 - levenshtein(ref, got) / len(ref))


# -- the engines ----------------------------------------------------------------------------


class RapidOcr:
    """The engine measured against tesseract and not chosen (README "Scanned PDFs"):
    PP-OCRv4 as ONNX inside the `rapidocr-onnxruntime==1.4.4` wheel, which citewise does
    not install (`pip install rapidocr-onnxruntime==1.4.4` to measure it again)."""

    def __init__(self, threads: int) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def __call__(self, image) -> str:
        import numpy as np

        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        return boxes_to_text([(box, text) for box, text, _score in result or []])


def boxes_to_text(found: list) -> str:
    """Boxes of text read anywhere on the page, in reading order: boxes that overlap
    vertically make a line; a gap taller than a line starts a paragraph."""
    items = sorted(((min(p[1] for p in box), max(p[1] for p in box), min(p[0] for p in box),
                     text) for box, text in found), key=lambda t: (t[0], t[2]))
    lines: list[list[tuple]] = []
    for item in items:
        if lines and item[0] < (lines[-1][0][0] + lines[-1][0][1]) / 2:
            lines[-1].append(item)
        else:
            lines.append([item])
    out: list[str] = []
    previous_bottom = None
    for line in lines:
        top, bottom = line[0][0], line[0][1]
        if previous_bottom is not None and top - previous_bottom > bottom - top:
            out.append("")
        out.append(" ".join(t for *_, t in sorted(line, key=lambda t: t[2])))
        previous_bottom = bottom
    return "\n".join(out)


def engine(name: str, threads: int):
    if name == "tesseract":
        from ingest.ocr import Tesseract

        return Tesseract(threads)
    if name == "rapidocr":
        return RapidOcr(threads)
    raise SystemExit(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")


def available(name: str) -> bool:
    import importlib.util

    module = {"tesseract": "pytesseract", "rapidocr": "rapidocr_onnxruntime"}[name]
    return importlib.util.find_spec(module) is not None


# -- one engine, in a child process ---------------------------------------------------------


def _child(name: str, pdf_path: str, threads: str, read_dpi: str) -> None:
    """Read every page of the PDF with engine `name`; print one JSON line of results.
    Peak RSS is this process's or its largest child's (tesseract runs as one), whichever
    is larger."""
    sys.path.insert(0, str(ROOT))
    from ingest import ocr

    data = Path(pdf_path).read_bytes()
    started = time.perf_counter()
    reader = engine(name, threads=int(threads))
    load_s = time.perf_counter() - started
    texts, seconds = [], []
    for image in ocr.page_images(data, dpi=int(read_dpi) or None):
        t0 = time.perf_counter()
        texts.append(reader(image))
        seconds.append(time.perf_counter() - t0)
    peak_mb = max(resource.getrusage(who).ru_maxrss
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(json.dumps({"engine": name, "load_s": load_s, "seconds": seconds,
                      "texts": texts, "peak_rss_mb": peak_mb}))


def run_engine(engine: str, pdf_path: Path, threads: int, read_dpi: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.ocr", "--child", engine, str(pdf_path),
                          str(threads), str(read_dpi)],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=4, help="pages to render (default 4)")
    parser.add_argument("--engines", default=",".join(e for e in ENGINES if available(e)),
                        help="comma-separated (default: those installed, of "
                             f"{', '.join(ENGINES)})")
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2, help="threads per engine (2)")
    parser.add_argument("--read-dpi", type=int, default=None,
                        help="dpi the PDF's pages are rendered at to be read (default: "
                             "that of each page's scan, what citewise does)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return

    from bench.common import load_now, table, write_json
    read_dpi = args.read_dpi or 0  # 0: the scan's own (ingest.ocr.scan_dpi)

    images, references = render_pages(source_text(), args.pages, dpi=args.dpi)
    rows, results = [], []
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "scanned.pdf"
        pdf.write_bytes(image_pdf(images, dpi=args.dpi))
        for engine in args.engines.split(","):
            load = load_now()
            result = run_engine(engine, pdf, args.threads, read_dpi)
            pairs = list(zip(references, result["texts"], strict=True))
            accuracies = [char_accuracy(ref, got) for ref, got in pairs]
            # All pages together: their edit distances over their reference lengths.
            lengths = [len(normalise(ref)) for ref, _ in pairs]
            whole = 1 - sum((1 - a) * n for a, n in zip(accuracies, lengths, strict=True)) \
                / sum(lengths)
            per_page = sum(result["seconds"]) / len(result["seconds"])
            rows.append([engine, len(references), f"{whole:.4f}", f"{min(accuracies):.4f}",
                         f"{per_page:.2f}", f"{result['load_s']:.2f}",
                         f"{result['peak_rss_mb']:.0f}", f"{load[0]:.2f}"])
            results.append({**result, "accuracy": whole, "page_accuracy": accuracies,
                            "load_before": load, "load_after": load_now()})
    read_at = f"{read_dpi} dpi" if read_dpi else "the scan's resolution"
    print(f"{len(references)} pages scanned at {args.dpi} dpi, read at {read_at}, "
          f"{args.threads} threads")
    print(table(["engine", "pages", "char accuracy", "worst page", "s/page", "engine load s",
                 "peak RSS MB", "load avg"], rows))
    write_json("ocr", {"dpi": args.dpi, "read_dpi": read_dpi, "threads": args.threads,
                       "pages": len(references),
                       "results": results})


if __name__ == "__main__":
    main()
