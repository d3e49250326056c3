"""The web UI: `app` (the thin Gradio layer, imported only by `citewise serve`), `turn` (one
chat turn as plain Python), `render` and `style` (safe HTML), `documents`, `feedback` and
`server` (serving options, the guard middleware). Composes no answers itself.

May import app.service, app.answer.types, app.conversation and app.config; never eval/.
"""
