"""The answer pipeline: `types` (Answer, Citation, stream events, modes), `evidence` (the one
evidence stage both modes start from), `extractive`, `generative` with `prompt`, `verify`
and the support checker `support`, and the rules they use (`context`, `quantities`,
`injection`).

May import app.llm, index/ and ingest/; never app.web or eval/.
"""
