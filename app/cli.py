"""The `citewise` command line: ingest, ask, chat, eval, serve, mcp, history.

Heavy libraries (torch, sentence-transformers, chromadb) are imported inside the commands
that need them, so `citewise --help` and configuration errors stay fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


def _settings(ctx: click.Context, **overrides: Any):
    """Settings from the environment; `overrides` (command-line options) win when not None."""
    from pydantic import ValidationError

    from app.config import Settings, setting_error

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:  # one line: the variable, the value, the allowed range
        raise click.ClickException(setting_error(exc)) from None


def _service(ctx: click.Context, **overrides: Any):
    from app.service import Citewise

    if ctx.obj is None:
        ctx.obj = Citewise(_settings(ctx, **overrides))
    return ctx.obj


_chroma_url_option = click.option(
    "--chroma-url", metavar="URL", default=None,
    help="Keep the vectors on the Chroma server at URL (`chroma run`) instead of the "
         "embedded store; default: CITEWISE_CHROMA_URL.")


class _Group(click.Group):
    """Turns citewise's own errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context):
        from ingest.errors import CitewiseError

        try:
            return super().invoke(ctx)
        except CitewiseError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """citewise: answers from your documents, every sentence cited to an exact passage.

    Settings come from CITEWISE_* environment variables (or a .env file); the main ones are
    CITEWISE_SOURCES_DIR (default data/sources) and CITEWISE_INDEX_DIR (default data/index).
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--rebuild", is_flag=True,
              help="Delete the index and build it again (needed after changing the "
                   "embedding model; new chunk settings need only a plain ingest).")
@click.option("--watch", is_flag=True,
              help="Keep running: sync again whenever the sources folder changes (Ctrl-C "
                   "stops). With --json, one summary line per sync.")
@_chroma_url_option
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], as_json: bool, rebuild: bool,
           watch: bool, chroma_url: str | None) -> None:
    """Sync the index to the sources folder (or ingest just PATHS).

    New documents are added, changed ones re-embedded, deleted ones removed; unchanged
    documents cost nothing, and a renamed or copied file reuses the vectors it has.
    Unreadable files are listed with the reason and skipped. One ingest at a time may
    write an index; a second one stops with the pid of the first.

    Without PATHS the whole index is brought in line with what exists: a document whose
    file is gone is removed wherever it was, and so is one from an earlier sources folder;
    a file ingested by PATH from outside the sources folder stays while it exists (listed
    as kept; --rebuild drops it). With PATHS only documents under them are looked at.
    """
    if watch and paths:
        raise click.UsageError("--watch follows the whole sources folder: drop the PATHS "
                               "(or set CITEWISE_SOURCES_DIR).")
    service = _service(ctx, chroma_url=chroma_url)
    progress = not as_json  # on stderr; a CI log gets a line every 10 s
    summary = service.ingest(list(paths) or None, rebuild=rebuild, progress=progress)
    _print_summary(summary, as_json)
    if not watch:
        return
    if not as_json:
        click.echo(f"Watching {service.settings.sources_dir} for changes (Ctrl-C to stop).")

    failed = summary.failed

    def changed(s) -> None:  # quiet when a sync changed nothing and no new file failed
        nonlocal failed
        if s.added or s.updated or s.removed or s.failed != failed:
            _print_summary(s, as_json)
        failed = s.failed

    def report(error: Exception) -> None:
        click.echo(f"Error: {error}", err=True)

    try:
        service.watch(changed, on_error=report, progress=progress)
    except KeyboardInterrupt:
        if not as_json:
            click.echo("Stopped watching.")


def _print_summary(s, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(s.to_json()))
        return
    reused = f" ({s.chunks_reused} reused)" if s.chunks_reused else ""
    click.echo(f"{len(s.added)} added, {len(s.updated)} updated, {len(s.removed)} removed, "
               f"{len(s.unchanged)} unchanged, {len(s.failed)} failed; "
               f"{s.chunks_embedded} chunks embedded{reused}, {s.chunks_total} chunks in the "
               "index.")
    if s.pages_ocr:
        click.echo(f"  {s.pages_ocr} of {s.pdf_pages} PDF pages had no text layer and were "
                   "read by OCR.")
    for path, reason in s.removed_docs:
        click.echo(f"  removed: {path}: {reason}")
    for path, reason in s.kept_outside:
        click.echo(f"  kept:    {path}: {reason}")
    for path, reason in s.failed:
        click.echo(f"  failed:  {path}: {reason}", err=True)
    for path, reason in s.warnings:
        click.echo(f"  partly:  {path}: {reason}", err=True)
    for path, reason in s.skipped:
        click.echo(f"  skipped: {path}: {reason}", err=True)


_mode_option = click.option(
    "--mode", type=click.Choice(["auto", "extractive", "generative"]), default=None,
    help="extractive: source sentences verbatim; generative: the language model's words, "
         "each sentence checked against its citations; auto: generative when a model is "
         "installed (default: CITEWISE_ANSWER_MODE, auto).")


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True,
              help="Print the answer as one JSON object (with per-sentence `supported` "
                   "flags and scores).")
@click.option("--k", "k", type=click.IntRange(1, 100), default=None,
              help="Passages to retrieve (default: CITEWISE_TOP_K, 5).")
@_mode_option
@_chroma_url_option
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, k: int | None, mode: str | None,
        chroma_url: str | None) -> None:
    """Answer QUESTION from the indexed sources, with citations.

    A generative answer streams as the model writes it, then is shown again as checked
    against the sources: unsupported sentences are removed (and listed).
    """
    if not question.strip():
        raise click.UsageError("The question is empty: pass it in quotes, e.g. "
                               "citewise ask \"What causes paraneoplastic muscle weakness?\"")
    service = _service(ctx, chroma_url=chroma_url)
    if as_json:
        answer = service.ask(question, k, mode=mode)
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        _stream_answer(service, question, k, mode)


@cli.command()
@click.option("--k", "k", type=click.IntRange(1, 100), default=None,
              help="Passages to retrieve (default: CITEWISE_TOP_K, 5).")
@_mode_option
@_chroma_url_option
@click.pass_context
def chat(ctx: click.Context, k: int | None, mode: str | None, chroma_url: str | None) -> None:
    """Chat in the terminal; also reads one question per line from a pipe.

    Follow-ups ("and how is it treated?") are rewritten into standalone questions from
    the conversation (by the language model when there is one, else by rules) and the
    query searched is shown. An empty line, "exit" or "quit" (or end of input) ends it.
    """
    from app.conversation import Conversation

    service = _service(ctx, chroma_url=chroma_url)
    conversation = Conversation()
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Ask a question about your documents (empty line or Ctrl-D to quit).")
        service.load_index()  # fail now, not after the first question, if no index
    while True:
        try:
            line = input("\n> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and not line:
            break
        question = line.strip()
        if question.lower() in {"exit", "quit"} or (interactive and not question):
            break
        if not question:
            continue
        if not interactive:
            click.echo(f"> {question}")
        query = service.standalone_question(question, conversation, mode)
        if query != question:
            click.secho(f"(searching: {query})", dim=True)
        answer = _stream_answer(service, query, k, mode)
        conversation = conversation.add(question, query, answer.text)
        if not interactive:
            click.echo()


@cli.command("eval")
@click.option("--gold", "gold", type=click.Path(path_type=Path),
              default=Path("eval/gold/questions.jsonl"), show_default=True,
              help="Gold question set (JSONL).")
@click.option("--mode", type=click.Choice(["extractive", "generative", "auto"]),
              default="extractive", show_default=True,
              help="Answer mode to evaluate; generative also scores extractive answers to "
                   "the same questions, side by side.")
@click.option("--per-kind", type=click.IntRange(1), default=None,
              help="Only the first N questions of each kind (a fixed subset, for slow "
                   "modes).")
@click.option("--distractors", type=click.IntRange(0), default=0, show_default=True,
              help="Add N PubMed abstracts as distractors (own index in .cache/eval/).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write metrics.json, answers.jsonl, report.md and plots to this folder.")
@click.option("--baseline", is_flag=True,
              help="Also run the stock llama-index pipeline and report it side by side, "
                   "and llama-index's RetrieverEvaluator (hit_rate, mrr) on both retrievers.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics.json to stdout.")
@click.pass_context
def eval_command(ctx: click.Context, gold: Path, mode: str, per_kind: int | None,
                 distractors: int, out: Path | None, baseline: bool, as_json: bool) -> None:
    """Score answers on a gold question set; exit 1 when a gate threshold is missed.

    Thresholds live in eval/thresholds.toml; every metric that falls short is named.
    """
    from eval.command import run_eval  # eval sits above app; imported only for this command

    result = run_eval(_settings(ctx), gold, mode=mode, distractors=distractors,
                      with_baseline=baseline, out=out, progress=True,
                      per_kind=per_kind)
    if as_json:
        click.echo(json.dumps(result.metrics, indent=2))
    else:
        from eval.report import summary_lines

        click.echo("\n".join(summary_lines(result.metrics)))
        if out is not None:
            click.echo(f"Report written to {out / 'report.md'}")
    if result.failures:
        raise click.ClickException(
            "Eval gate failed: " + "; ".join(result.failures) + " (see eval/thresholds.toml).")


def _stream_answer(service, question: str, k: int | None, mode: str | None):
    """Print a generative draft as it streams, then the final answer; return the answer."""
    from app.answer.types import Answer, Draft, Final, Retry

    answer: Answer | None = None
    drafted = False
    for event in service.stream(question, k, mode=mode):
        match event:
            case Draft(text):
                if not drafted:
                    click.secho("Draft (being checked against the sources):", dim=True)
                    drafted = True
                click.secho(text, dim=True, nl=False)
                sys.stdout.flush()
            case Retry(reason):
                click.secho(f"\n{reason}", fg="yellow")
                drafted = False
            case Final(answer=answer):
                pass
    if drafted:
        click.echo("\n")
    _print_answer(answer)
    return answer


def _print_answer(answer) -> None:
    # Sentence by sentence, so a long answer shows as it is formed.
    if answer.note:
        click.secho(answer.note, fg="yellow")
    if answer.abstained:
        click.secho(answer.text, fg="yellow")
        return
    checked = answer.mode == "generative"
    for sentence in answer.final_sentences:
        marks = "".join(f" [{n}]" for n in sentence.citations)
        badge = click.style("✓ ", fg="green") if checked else ""
        click.echo(badge + sentence.text + click.style(marks, fg="cyan"))
    for sentence in answer.removed_sentences:
        click.secho(f"✗ removed, not supported by the sources: {sentence.text}", fg="red")
    click.echo()
    for c in answer.citations:
        # the path without the document's title (a slide's or sheet's own heading stays)
        path = c.heading_path[1:] if c.heading_path[:1] == (c.title,) else c.heading_path
        where = " > ".join(path) or c.title
        click.echo(click.style(f"[{c.id}] ", fg="cyan") + f"{c.title} — {where}")
        page = ("" if c.page is None else f", page {c.page}" if c.page_end in (None, c.page)
                else f", pages {c.page}-{c.page_end}")
        ocr = " (read by OCR)" if c.ocr else ""
        click.echo(f"    {c.doc_id}{page}{ocr}, characters {c.start}-{c.end}")
        click.echo(f"    \"{c.quote}\"")


@cli.command()
@click.option("--host", default=None, metavar="ADDRESS",
              help="Address to listen on (default: CITEWISE_HOST, 127.0.0.1: this machine "
                   "only; 0.0.0.0 opens it to the network).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port to listen on (default: CITEWISE_PORT, 7860).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web UI (cited chat with a source viewer, and the documents) and, on the
    same address, the OpenAI-compatible HTTP API under /v1.

    Open the address it prints in a browser; Ctrl-C stops it. API keys: CITEWISE_API_KEYS.
    On an address other than 127.0.0.1 it needs an API key or a web UI login to start.
    """
    from app.api.auth import exposure_check
    from app.service import Citewise
    from app.web.server import auth_pair

    settings = _settings(ctx, host=host, port=port)
    auth_pair(settings)  # both or neither, before anything slow
    warning = exposure_check(settings)
    if warning:
        click.secho(warning, fg="yellow", err=True)
    service = ctx.obj = Citewise(settings)
    click.echo("Loading the model and the index...", err=True)
    import threading

    from app.api.server import serve as start
    from app.web.warm import warm_up_in_thread, warm_up_model

    warmed = warm_up_in_thread(service)  # while the UI is imported and built
    try:
        running = start(service)
    except OSError as exc:
        raise click.ClickException(
            f"Cannot listen on {settings.host}:{settings.port} ({exc}): stop what uses the "
            "port, or pass --port N.") from None
    warmed()
    click.echo(f"citewise is running: open {running.url} in a browser (Ctrl-C stops it); "
               f"the API is at {running.url}/v1.")
    threading.Thread(target=warm_up_model, args=(service,), daemon=True,
                     name="warm-up-model").start()
    sys.stdout.flush()
    running.block_thread()


@cli.command("mcp")
@_mode_option
@_chroma_url_option
@click.pass_context
def mcp_command(ctx: click.Context, mode: str | None, chroma_url: str | None) -> None:
    """Serve the index to an MCP client (an agent, an editor) over stdio.

    Tools: search (passages with spans), ask (the verified answer with its citations),
    documents; each indexed document's cleaned text is a resource. Register the command
    `citewise mcp` with the client (see README, "MCP"); it runs until the client closes
    it. stdout carries only the protocol: messages and progress go to stderr.
    """
    service = _service(ctx, chroma_url=chroma_url)
    settings = service.settings
    # A client starts the server in a folder of its choosing: say which index it reads.
    click.echo(f"citewise mcp: index {settings.index_dir.resolve()}, sources "
               f"{settings.sources_dir.resolve()} (stdio; messages on stderr).", err=True)
    from app.mcp_server import serve  # imports the mcp SDK: only for this command

    serve(service, mode)


from app.history_command import make_history_command  # noqa: E402  (cli.py stays small)

cli.add_command(make_history_command(_settings))


def main() -> None:
    from app.environment import quiet_environment

    quiet_environment()  # before any library that reads it is imported
    cli(prog_name="citewise")


if __name__ == "__main__":
    main()
