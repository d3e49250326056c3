"""`citewise history`: list the chat history's conversations, delete one, or clear it all.

A command of its own module (added to the CLI by `app.cli`), so that `app/cli.py` stays
small. It reads the same settings as every command (`CITEWISE_HISTORY_PATH`,
`CITEWISE_INDEX_DIR`) and is safe while `citewise serve` runs: SQLite locks the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click


def make_history_command(settings_of: Callable[[click.Context], Any]) -> click.Command:
    """The `history` command; `settings_of(ctx)` builds the settings as the CLI does."""

    @click.command("history")
    @click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
    @click.option("--delete", "delete_id", metavar="ID", default=None,
                  help="Delete the conversation with this id (ids are in the list).")
    @click.option("--clear", is_flag=True, help="Delete every conversation, web and API.")
    @click.option("--yes", is_flag=True, help="Do not ask before --clear.")
    @click.pass_context
    def history(ctx: click.Context, as_json: bool, delete_id: str | None, clear: bool,
                yes: bool) -> None:
        """List the conversations kept in the chat history, newest first, or delete them.

        The history is one SQLite file, CITEWISE_HISTORY_PATH (default: history.sqlite3 in the
        index folder; `ingest --rebuild` keeps it). Deleting that file while nothing runs
        deletes it all too.
        """
        from app.history import History

        settings = settings_of(ctx)
        path = settings.history_file
        if not path.exists():
            if as_json:
                click.echo("[]")
            else:
                click.echo(f"No chat history yet ({path} does not exist).")
            return
        with History(path) as store:
            if clear:
                if not yes:
                    click.confirm(f"Delete every conversation in {path}?", abort=True, err=True)
                n = store.clear()
                click.echo(f"Deleted {n} conversation{'s' if n != 1 else ''} from {path}.")
                return
            if delete_id is not None:
                store.delete(delete_id)
                click.echo(f"Deleted conversation {delete_id}.")
                return
            listed = store.conversations()
        if as_json:
            click.echo(json.dumps([{"id": c.id, "title": c.title, "origin": c.origin,
                                    "turns": c.turns, "created": c.created,
                                    "updated": c.updated} for c in listed], ensure_ascii=False))
            return
        if not listed:
            click.echo(f"No conversations in {path}.")
        for c in listed:
            when = datetime.fromtimestamp(c.updated)
            click.echo(f"{c.id}  {when:%Y-%m-%d %H:%M}  {c.origin:<3}  {c.turns:>3} turns  "
                       f"{c.title}")

    return history
