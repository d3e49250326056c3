"""The evaluation suite: gold sets, metrics, the runner, reports, the gate, the stock
llama-index baseline, distractor corpora, tuning, and the labelled pairs that measure the
support checker.

Sits on top: may import app/, index/ and ingest/; nothing of the runtime imports it.
"""
