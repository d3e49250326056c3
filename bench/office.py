"""What reading each office format costs: a fresh process's first file (the format's
libraries imported) and the same file read again, and a sheet at the cell limit.

    .venv/bin/python -m bench.office [--repeat 3]

Each sample is the small real file the tests build (tests/office_samples.py). Every
measurement runs `ingest.loaders.load` in a new interpreter, as the reader child
(ingest/worker.py) does once per sync: "first" is that child's first file of the format,
imports included; "again" the same file read a second time in the same process. The sheet
rows: `ingest.sheets.MAX_SHEET_CELLS` cells (5,000 rows of 20 columns) as .xlsx and .csv,
read whole, and one cell more, refused. Prints a table and writes bench/out/office.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import load_now, table, write_json

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from ingest.errors import LoadError
from ingest.loaders import load
path = Path(sys.argv[1])
t1 = time.perf_counter()
try:
    blocks = len(load(path)); outcome = "read"
except LoadError as exc:
    blocks = 0; outcome = str(exc)[:60]
t2 = time.perf_counter()
if outcome == "read":
    load(path)
t3 = time.perf_counter()
print(json.dumps({"first": t2 - t1, "again": t3 - t2, "blocks": blocks, "outcome": outcome}))
"""


def probe(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                         text=True, cwd=ROOT, check=True).stdout
    return json.loads(out)


def big_sheets(folder: Path, cells: int) -> list[Path]:
    import openpyxl

    columns = 20
    rows = cells // columns
    header = [f"Column {c}" for c in range(columns)]
    data = [[f"r{r}c{c}" for c in range(columns)] for r in range(rows - 1)]
    paths = []
    for name, extra in (("limit", 0), ("over", 1)):
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Data")
        for row in [header, *data]:
            sheet.append(row)
        if extra:
            sheet.append(["one cell more"])
        xlsx = folder / f"{name}.xlsx"
        book.save(xlsx)
        csv = folder / f"{name}.csv"
        lines = [",".join(row) for row in [header, *data]] + (["one cell more"] * extra)
        csv.write_text("\n".join(lines) + "\n")
        paths += [xlsx, csv]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per file (median kept)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ingest.sheets import MAX_SHEET_CELLS
    from tests import office_samples

    before = load_now()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [build(folder / f"sample{ext}") for ext, build in
                 office_samples.BUILDERS.items()]
        files += big_sheets(folder, MAX_SHEET_CELLS)
        for path in files:
            runs = [probe(path) for _ in range(args.repeat)]
            results.append({
                "file": path.name, "kb": round(path.stat().st_size / 1000, 1),
                "first_s": statistics.median(r["first"] for r in runs),
                "again_s": statistics.median(r["again"] for r in runs),
                "blocks": runs[0]["blocks"], "outcome": runs[0]["outcome"]})
    print(table(["file", "kB", "first read (s)", "read again (s)", "blocks", "outcome"],
                [[r["file"], r["kb"], r["first_s"], r["again_s"], r["blocks"], r["outcome"]]
                 for r in results]))
    after = load_now()
    print(f"load average before {before}, after {after}")
    print(write_json("office", {"results": results, "load_before": before,
                                "load_after": after, "repeat": args.repeat}))


if __name__ == "__main__":
    main()
