"""`citewise eval`: run a gold set, score it, write the report and apply the gate."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import Settings
from app.service import Citewise
from eval import gate, report, scoring
from eval.gold import GoldQuestion, load_gold
from eval.runner import Record, run_baseline, run_citewise
from ingest.errors import IndexMismatchError
from ingest.loaders import is_supported

CACHE = Path(".cache")


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    failures: list[str]


def distractor_corpus(settings: Settings, n: int, seed: int = 0) -> Settings:
    """Settings for the sources plus `n` PubMed abstracts, built once into .cache/eval/."""
    from eval.distractors import build

    base = CACHE / "eval" / f"distractors-{n}-seed{seed}"
    folder = base / "sources"
    build(folder, n, seed=seed, cache_dir=CACHE / "wheels")
    for path in sorted(settings.sources_dir.rglob("*")):
        if path.is_file() and is_supported(path):
            target = folder / path.relative_to(settings.sources_dir)
            if not target.exists() or target.read_bytes() != path.read_bytes():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    return settings.model_copy(update={"sources_dir": folder,
                                       "index_dir": base / distractor_index_name(settings)})


def distractor_index_name(settings: Settings) -> str:
    """The distractor index's folder, one per way of making vectors (embedding model and
    sentence vectors), so a changed method builds its own instead of reusing another's."""
    from app.service import embedding_model

    name = embedding_model(settings)
    if (name, settings.sentence_vectors) == ("all-MiniLM-L6-v2", "separate"):
        return "index"  # the folder of the indexes built before there was a choice
    model = re.sub(r"[^A-Za-z0-9.-]+", "_", name)
    return f"index-{model}-{settings.sentence_vectors}"


def subset(gold: list[GoldQuestion], per_kind: int) -> list[GoldQuestion]:
    """The first `per_kind` questions of each kind, in file order: a fixed subset that
    keeps every kind (for runs too slow for the whole set, such as generative mode in CI)."""
    seen: dict[str, int] = {}
    out = []
    for q in gold:
        seen[q.kind] = seen.get(q.kind, 0) + 1
        if seen[q.kind] <= per_kind:
            out.append(q)
    return out


def run_eval(settings: Settings, gold_path: Path, mode: str = "extractive",
             distractors: int = 0, with_baseline: bool = False, out: Path | None = None,
             progress: bool = False, per_kind: int | None = None) -> EvalResult:
    from app.answer.support import SupportChecker
    from eval.pairs import (
        balanced_accuracy,
        balanced_accuracy_of,
        build_labelled_pairs,
        judged,
        load_labelled_pairs,
        right_by_kind,
    )

    gold = load_gold(gold_path)
    if per_kind:
        gold = subset(gold, per_kind)
    original_sources = settings.sources_dir
    if distractors:
        settings = distractor_corpus(settings, distractors)
    service = Citewise(settings)
    try:
        service.ingest(progress=progress)
    except IndexMismatchError:
        if not distractors:
            raise
        # the distractor index is the eval's own cache: made with another model, rebuild it
        service.ingest(progress=progress, rebuild=True)
    mode = service.mode(mode)  # "auto" resolved
    records = run_citewise(service, gold, mode=mode, progress=progress)

    checker = SupportChecker()
    metrics = scoring.score(records, checker.supports, mode)
    if mode == "generative":  # extractive answers to the same questions, side by side
        extractive = run_citewise(service, gold, mode="extractive", progress=progress)
        metrics["extractive"] = {"answer": scoring.answer_metrics(extractive, checker.supports),
                                 "latency": scoring.latency(extractive)}
        metrics["latency"].update(scoring.first_token(records))
        metrics["config"] = {"generator": service.generator.name if service.generator else ""}
    texts = [p.read_text(errors="replace") for p in sorted(original_sources.rglob("*.txt"))]
    pairs = build_labelled_pairs(texts, seed=0, progress=progress)
    generated = load_labelled_pairs()
    said = judged(checker, pairs, progress=progress)
    metrics["support_checker"] = {
        "balanced_accuracy": round(balanced_accuracy_of(pairs, said), 4),
        "pairs": len(pairs),
        "right_by_kind": right_by_kind(pairs, said),
        "generated_balanced_accuracy": round(balanced_accuracy(checker, generated), 4),
        "generated_pairs": len(generated)}
    metrics["config"] = {
        **metrics.get("config", {}), "gold": str(gold_path), "mode": mode,
        "per_kind": per_kind, "distractors": distractors,
        "top_k": settings.top_k, "chunk_tokens": settings.chunk_tokens,
        "embedding_model": service.embedder.name,
        "sentence_vectors": settings.sentence_vectors,
        "documents": len(service.index.manifest.docs()),
    }
    baseline_records: list[Record] | None = None
    if with_baseline:
        from eval.baseline import StockBaseline
        from index.embedder import INT8_MODEL, PACKAGED_MODEL, resolve_model

        files = [p for p in sorted(settings.sources_dir.rglob("*")) if p.is_file()
                 and is_supported(p)]
        model = settings.embedding_model  # the stock pipeline runs it as fp32
        stock = StockBaseline(files, resolve_model(PACKAGED_MODEL if model == INT8_MODEL
                                                   else model)[0])
        baseline_records = run_baseline(stock, gold, progress=progress)
        metrics["baseline"] = scoring.score_baseline(baseline_records)
        metrics["baseline"]["description"] = (
            "llama-index's stock pipeline: VectorStoreIndex over the same files, "
            "SentenceSplitter defaults, the same embedding model, dense top-2 retrieval, "
            "the answer being the retrieved text.")
        from eval import llama_eval

        metrics["llama_index_evaluator"] = llama_eval.run(service, stock, gold,
                                                          progress=progress)
    thresholds = gate.load_thresholds()
    failures = gate.check(metrics, gate.gate_for(thresholds, distractors, mode))
    targets = {**thresholds["targets"], **thresholds.get("mode_targets", {}).get(mode, {})}
    metrics["gate"] = {"passed": not failures, "failures": failures,
                       "targets_missed": gate.check(metrics, targets)}
    if out is not None:
        report.write(out, metrics, records, baseline_records, failures)
    service.index.close()
    return EvalResult(metrics, failures)
