"""The web UI's conversation sidebar (Gradio): the chat history's conversations, newest
first; open one, rename it, delete it, start a new chat. The logic is in
`app.web.conversations`; this module only builds the components and wires their events.

API endpoints (for `gradio_client`): /conversations (JSON list), /list_conversations (the
sidebar's list for this session: call it before /open_conversation), /open_conversation,
/rename_conversation, /delete_conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from app.history import History
from app.web import conversations as saved
from app.web import render
from app.web import turn as chat
from ingest.errors import CitewiseError


class Sidebar:
    """Built inside the `gr.Blocks` context; `wire` once the chat's components exist."""

    def __init__(self, history: History | None, document_text: saved.DocumentText):
        self.history = history
        self.document_text = saved.safe_document_text(document_text)
        with gr.Sidebar(label="Conversations", elem_id="cw-sidebar",
                        visible=history is not None):
            gr.Markdown("### Conversations")
            self.new_btn = gr.Button("New chat", size="sm", elem_id="cw-side-new")
            self.list = gr.Radio(choices=[], value=None, show_label=False,
                                 label="Conversations", elem_id="cw-conversations")
            with gr.Accordion("Rename or delete this conversation", open=False):
                self.title = gr.Textbox(label="Title", max_lines=1, elem_id="cw-conv-title")
                self.rename_btn = gr.Button("Rename", size="sm")
                self.delete_btn = gr.Button("Delete conversation…", variant="stop",
                                            size="sm")
                with gr.Row(visible=False) as self.confirm_row:
                    self.confirm_btn = gr.Button("Yes, delete it", variant="stop",
                                                 size="sm", elem_id="cw-confirm-delete-conv")
                    self.cancel_btn = gr.Button("Cancel", size="sm")
            self.status = gr.HTML("", label="Conversation status", js_on_load=None)

    # -- handlers --------------------------------------------------------------------------
    def listing(self, conversation_id: str | None):
        return gr.Radio(choices=saved.choices(self.history), value=conversation_id)

    def conversations_json(self) -> list[dict]:
        """The web conversations in the chat history, the most recently active first: id,
        title, turns, created and updated (seconds since the epoch)."""
        if self.history is None:
            return []
        return [{"id": c.id, "title": c.title, "turns": c.turns, "created": c.created,
                 "updated": c.updated} for c in self.history.conversations(origin="web")]

    def open(self, conversation_id: str | None):
        """transcript, sources, turns, conversation id, title, status."""
        if self.history is None or not conversation_id:
            return (*(gr.skip(),) * 5, "")
        try:
            turns = saved.reopen(self.history, conversation_id, self.document_text)
            info = self.history.conversation(conversation_id)
        except CitewiseError as exc:
            return (*(gr.skip(),) * 5, render.status(False, str(exc)))
        return (chat.transcript_html(turns), chat.sources_html(turns), list(turns),
                conversation_id, info.title if info else "", "")

    def rename(self, conversation_id: str | None, title: str):
        if self.history is None or not conversation_id:
            return render.status(False, "Ask a question first: a new chat takes its title "
                                        "from it, and can be renamed after.")
        try:
            self.history.rename(conversation_id, title or "")
        except CitewiseError as exc:
            return render.status(False, str(exc))
        return render.status(True, "Renamed.")

    def ask_delete(self, conversation_id: str | None):
        if self.history is None or not conversation_id:
            return render.status(False, "Open a conversation first."), gr.Row()
        return (render.status(False, "Delete this conversation from the history? This "
                                     "cannot be undone."), gr.Row(visible=True))

    def delete(self, new_chat: Callable[[], tuple], conversation_id: str | None):
        skipped = (gr.skip(),) * len(new_chat())
        if self.history is None or not conversation_id:
            return (*skipped, render.status(False, "Open a conversation first."),
                    gr.Row(visible=False))
        try:
            self.history.delete(conversation_id)
        except CitewiseError as exc:
            return (*skipped, render.status(False, str(exc)), gr.Row(visible=False))
        return (*new_chat(), render.status(True, "Conversation deleted."),
                gr.Row(visible=False))

    # -- wiring ----------------------------------------------------------------------------
    def then_list(self, conversation: gr.State) -> dict[str, Any]:
        """Keyword arguments of a `.then()` that refreshes the list after an event."""
        return {"fn": self.listing, "inputs": conversation, "outputs": self.list,
                "api_visibility": "private", "show_progress": "hidden"}

    def wire(self, demo: gr.Blocks, conversation: gr.State, cleared: Sequence[Any],
             new_chat: Callable[[], tuple]) -> None:
        """`cleared`: the components `new_chat()` returns values for (transcript, sources,
        turns, question, conversation)."""
        listed = self.then_list(conversation)
        transcript, sources, turns = cleared[:3]
        self.new_btn.click(new_chat, None, list(cleared),
                           api_visibility="private").then(**listed)
        self.list.input(self.open, self.list, [transcript, sources, turns, conversation,
                                               self.title, self.status],
                        api_name="open_conversation")
        self.rename_btn.click(self.rename, [conversation, self.title], self.status,
                              api_name="rename_conversation").then(**listed)
        self.delete_btn.click(self.ask_delete, conversation,
                              [self.status, self.confirm_row], api_visibility="private")
        self.cancel_btn.click(lambda: ("", gr.Row(visible=False)), None,
                              [self.status, self.confirm_row], api_visibility="private")
        self.confirm_btn.click(lambda cid: self.delete(new_chat, cid), conversation,
                               [*cleared, self.status, self.confirm_row],
                               api_name="delete_conversation").then(**listed)
        gr.api(self.conversations_json, api_name="conversations")
        demo.load(self.listing, conversation, self.list, api_name="list_conversations")
