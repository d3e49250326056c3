"""The Gradio app: a thin layer over `app.web.turn`, `app.web.documents` and `app.web.feedback`.

Only `citewise serve` (and the UI tests) import this module, so only they load gradio.
One `Citewise` serves every session; each browser session keeps its own conversation in a
`gr.State`. Chat handlers run `Settings.concurrency_limit` at a time; document changes
(upload, delete, re-ingest) one at a time, while questions go on.

API endpoints (for `gradio_client`): /chat (streams), /upload_documents,
/delete_document, /reingest, /view_document, /documents (JSON list), /rate_up,
/rate_down, /export_conversation, /new_chat, and the sidebar's (`app.web.sidebar`).

Each session also keeps, in a `gr.State`, the id of the conversation it shows in the chat
history (None for a new chat); a turn is stored when it completes, before the page shows
it complete (`app.web.conversations`).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr  # the entry point has set the quiet environment (`app.environment`)

from app.service import Citewise
from app.web import conversations as saved
from app.web import render
from app.web import turn as chat
from app.web.documents import ALLOWED_SUFFIXES, Documents, Outcome
from app.web.feedback import record_feedback, write_export
from app.web.sidebar import Sidebar
from ingest.errors import CitewiseError

log = logging.getLogger(__name__)

EXAMPLES = ("What causes paraneoplastic muscle weakness?",
            "How common is LEMS in small cell lung cancer?",
            "Which drug improved the neuromyopathy in the sicca syndrome case?")
STREAM_PAUSE_S = 0.015  # between extractive steps, so an answer visibly builds up
MAX_K = 20
# Gradio finds the progress bar by this default value; tqdm bars of the ingest feed it.
TRACKED = gr.Progress(track_tqdm=True)


def build_app(service: Citewise) -> gr.Blocks:
    settings = service.settings
    documents = Documents(service)
    export_dir = Path(tempfile.mkdtemp(prefix="citewise-export-"))
    history = service.history

    def ask(question: str, history_turns: list[chat.Turn] | None, k: float,
            doc_ids: list[str] | None, mode: str | None, conversation_id: str | None):
        # While the answer streams only the conversation changes: the sources and the
        # session's turns are skipped (each costs Gradio processing, the state a deep
        # copy) until the last step, which sends everything (an API client's result).
        shown_sources = None
        before = len(history_turns or [])
        for view in chat.chat_turn(service, question or "", history_turns or [], int(k),
                                   doc_ids or None, mode or None):
            for note in view.notes:
                gr.Info(note)
            if view.done:
                turns, cid = list(view.turns), conversation_id
                if len(view.turns) > before:  # a completed turn: kept before it is shown
                    recorded = saved.record_turn(history, conversation_id, view.turns)
                    turns, cid = list(recorded.turns), recorded.conversation_id
                    if recorded.note:
                        gr.Warning(recorded.note)
                yield view.transcript_html, view.sources_html, turns, "", cid
                return
            sources = view.sources_html
            yield (view.transcript_html, sources if sources != shown_sources else gr.skip(),
                   gr.skip(), "" if shown_sources is None else gr.skip(), gr.skip())
            shown_sources = sources
            if view.draft is None:  # a draft comes at the model's pace already
                time.sleep(STREAM_PAUSE_S)

    def ask_example(question: str):
        def run(history_turns: list[chat.Turn] | None, k: float, doc_ids: list[str] | None,
                mode: str | None, conversation_id: str | None):
            yield from ask(question, history_turns, k, doc_ids, mode, conversation_id)
        return run

    def new_chat():
        """A new conversation: it joins the history with its first completed turn."""
        return (chat.transcript_html([]), chat.sources_html([]), [], "", None)

    def refresh():
        rows = documents.rows()
        options = [(f"{r.title} ({r.file})", r.doc_id) for r in rows]
        return (render.documents_table(rows), gr.Dropdown(choices=options),
                gr.Dropdown(choices=options))

    def shown(outcome: Outcome):
        return (render.status(outcome.ok, outcome.message, outcome.errors), *refresh())

    def progress_fn(progress: gr.Progress):
        return lambda fraction, what: progress(fraction, desc=what)

    def upload(files: list[str] | None, progress=TRACKED):
        outcome = documents.upload(files or [], progress_fn(progress))
        return (*shown(outcome), None)

    def reingest(progress=TRACKED):
        return shown(documents.reingest(progress_fn(progress)))

    def delete(doc_id: str | None, progress=TRACKED):
        outcome = documents.delete(doc_id or "", progress_fn(progress))
        return (*shown(outcome), gr.Row(visible=False), "" if outcome.ok else gr.skip())

    def ask_delete(doc_id: str | None):
        if not doc_id:
            return render.status(False, "Choose a document to delete first."), gr.Row()
        return (render.status(False, f"Delete {doc_id}? This removes the file from the "
                                     f"sources folder ({settings.sources_dir}) and its "
                                     "passages from the index."), gr.Row(visible=True))

    def view(doc_id: str | None) -> str:
        if not doc_id:
            return ""
        text = documents.text(doc_id)
        return text if text is not None else f"{doc_id} is not in the index."

    def documents_json() -> list[dict]:
        """The indexed documents: doc_id, title, file, chunks, ingested (local time)."""
        return [{"doc_id": r.doc_id, "title": r.title, "file": r.file, "chunks": r.chunks,
                 "ingested": r.ingested} for r in documents.rows()]

    def rate(rating: str):
        def run(history_turns: list[chat.Turn] | None, comment: str):
            message = record_feedback(settings.feedback_dir, history_turns or [], rating,
                                      comment or "")
            turn_id = history_turns[-1].history_id if history_turns else None
            if history is not None and turn_id is not None:
                try:  # kept with the turn in the chat history too
                    history.set_feedback(turn_id, "up" if rating == "up" else "down",
                                         comment or "")
                except CitewiseError as exc:
                    message += f" {exc}"
            return render.status(bool(history_turns), message), ""
        return run

    def export(history: list[chat.Turn] | None):
        if not history:
            gr.Info("Ask a question first: there is nothing to export yet.")
            return gr.File(visible=False)
        return gr.File(value=str(write_export(history, export_dir)), visible=True)

    upload_mb = f"{settings.max_upload_mb:g}"
    with gr.Blocks(title="citewise", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        conversation = gr.State(None)  # the id of the conversation shown, None: a new chat
        side = Sidebar(service.history, service.document_text)
        gr.Markdown("## citewise\nAnswers from your documents. Every sentence is cited [n] "
                    "to the passage it comes from; generated sentences are checked against "
                    "it first.")
        with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                transcript = gr.HTML(chat.transcript_html([]), label="Conversation",
                                     js_on_load=None, elem_id="cw-chat", min_height=320,
                                     autoscroll=True)
                with gr.Row():
                    question = gr.Textbox(placeholder="Ask a question about your "
                                          "documents, then press Enter", show_label=False,
                                          scale=6, elem_id="cw-question", max_lines=4)
                    ask_btn = gr.Button("Ask", variant="primary", scale=1,
                                        elem_id="cw-ask")
                with gr.Row(elem_id="cw-examples"):
                    example_btns = [gr.Button(q, size="sm", variant="secondary")
                                    for q in EXAMPLES]
                with gr.Accordion("Settings", open=False, elem_id="cw-settings"):
                    mode = gr.Radio(list(chat.MODES), value=settings.answer_mode,
                                    label="Answer mode", info=mode_info(service),
                                    elem_id="cw-mode")
                    top_k = gr.Slider(1, MAX_K, value=min(settings.top_k, MAX_K), step=1,
                                      label="Passages to retrieve (top-k)")
                    doc_filter = gr.Dropdown(choices=[], value=[], multiselect=True,
                                             allow_custom_value=True,
                                             label="Documents to search",
                                             info="None chosen: all documents.")
                with gr.Row():
                    new_btn = gr.Button("New chat", size="sm")
                    export_btn = gr.Button("Export conversation (Markdown)", size="sm")
                export_file = gr.File(label="Conversation", visible=False,
                                      interactive=False)
                with gr.Accordion("Rate the last answer", open=False,
                                  elem_id="cw-feedback"):
                    comment = gr.Textbox(label="Comment (optional)", max_lines=4)
                    with gr.Row():
                        up_btn = gr.Button("👍 Helpful", size="sm", elem_id="cw-up")
                        down_btn = gr.Button("👎 Not helpful", size="sm",
                                             elem_id="cw-down")
                    feedback_status = gr.HTML("", label="Feedback", js_on_load=None)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(chat.sources_html([]), label="Sources", js_on_load=None,
                                  elem_id="cw-sources-panel")
        with gr.Tab("Documents", id="documents"):
            doc_status = gr.HTML("", label="Status", js_on_load=None, elem_id="cw-doc-status")
            table = gr.HTML(render.documents_table([]), label="Documents", js_on_load=None,
                            elem_id="cw-doc-table")
            with gr.Row():
                files = gr.File(label=f"Upload documents ({' '.join(ALLOWED_SUFFIXES)}; up "
                                      f"to {upload_mb} MB each)", file_count="multiple",
                                type="filepath", elem_id="cw-upload")
                with gr.Column():
                    reingest_btn = gr.Button("Re-ingest now", variant="primary",
                                             elem_id="cw-reingest")
                    gr.Markdown("Re-ingest syncs the index to the sources folder "
                                f"(`{settings.sources_dir}`): new and changed files are "
                                "indexed, deleted ones removed.")
            doc_pick = gr.Dropdown(choices=[], label="Document", allow_custom_value=True,
                                   elem_id="cw-doc-pick")
            with gr.Row():
                delete_btn = gr.Button("Delete document…", variant="stop", size="sm")
            with gr.Row(visible=False) as confirm_row:
                confirm_btn = gr.Button("Yes, delete it", variant="stop", size="sm",
                                        elem_id="cw-confirm-delete")
                cancel_btn = gr.Button("Cancel", size="sm")
            doc_text = gr.Textbox(label="Cleaned text (what citations point into)", lines=14,
                                  max_lines=30, interactive=False, elem_id="cw-doc-text")

        chat_io: dict[str, Any] = {"outputs": [transcript, sources, turns, question,
                                               conversation],
                                   "concurrency_limit": settings.concurrency_limit,
                                   "concurrency_id": "chat", "show_progress": "hidden"}
        options = [turns, top_k, doc_filter, mode, conversation]
        listed = side.then_list(conversation)
        question.submit(ask, [question, *options], api_name="chat", **chat_io).then(**listed)
        ask_btn.click(ask, [question, *options], api_visibility="private",
                      **chat_io).then(**listed)
        for btn, q in zip(example_btns, EXAMPLES, strict=True):
            btn.click(ask_example(q), options, api_visibility="private",
                      **chat_io).then(**listed)
        cleared = [transcript, sources, turns, question, conversation]
        new_btn.click(new_chat, None, cleared, api_name="new_chat").then(**listed)
        side.wire(demo, conversation, cleared, new_chat)
        export_btn.click(export, turns, export_file, api_name="export_conversation")
        up_btn.click(rate("up"), [turns, comment], [feedback_status, comment],
                     api_name="rate_up")
        down_btn.click(rate("down"), [turns, comment], [feedback_status, comment],
                       api_name="rate_down")

        doc_views = [doc_status, table, doc_pick, doc_filter]
        writes: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "documents"}
        files.upload(upload, files, [*doc_views, files], api_name="upload_documents", **writes)
        reingest_btn.click(reingest, None, doc_views, api_name="reingest", **writes)
        delete_btn.click(ask_delete, doc_pick, [doc_status, confirm_row],
                         api_visibility="private")
        cancel_btn.click(lambda: ("", gr.Row(visible=False)), None, [doc_status, confirm_row],
                         api_visibility="private")
        confirm_btn.click(delete, doc_pick, [*doc_views, confirm_row, doc_text],
                          api_name="delete_document", **writes)
        doc_pick.change(view, doc_pick, doc_text, api_name="view_document")
        gr.api(documents_json, api_name="documents")
        demo.load(refresh, None, [table, doc_pick, doc_filter], api_visibility="private")
    demo.queue(max_size=settings.queue_size,
               default_concurrency_limit=settings.concurrency_limit)
    return demo


def mode_info(service: Citewise) -> str:
    """What the answer modes do, and which language model `generative` would use."""
    generator = service.generator
    model = (f"the language model {generator.name}" if generator is not None else
             "a language model (none is configured or installed here, so auto means "
             "extractive)")
    return ("extractive: sentences quoted from the sources. generative: answers written by "
            f"{model}, each sentence checked against the sources it cites. auto: generative "
            "when a model is available, else extractive.")
