"""The HTTP API, OpenAI-compatible, under `/v1` on the `citewise serve` server: `schema`
(requests, responses, the error JSON), `auth` (bearer keys, the start-up exposure check),
`slots` (the bounded pool answers run in), `turns` (a conversation from the messages, the
answer stream), `routes` (the FastAPI routes) and `server` (one app: /v1 beside the
mounted Gradio page, run by uvicorn). Composes no answers itself.

May import app.service, app.answer, app.conversation, app.config and app.web's serving
options; never eval/. fastapi, uvicorn and gradio are imported only by `routes`/`server`.
"""
