"""The product: `config` (Settings), `service` (the composition root, `Citewise`), `cli`,
`conversation` (chat history and follow-up rewriting), `environment`, `llama` (citewise as
llama-index components); the rooms `answer/` (composing and verifying answers), `llm/`
(language-model backends) and `web/` (the UI).

May import ingest/ and index/; never eval/ (the CLI's `eval` command alone, lazily).
"""
