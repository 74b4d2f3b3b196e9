"""Command line: ``python -m bot`` / ``quotebot`` (build, ask, eval, list, add, remove, bench)."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

log = logging.getLogger(__name__)


# the scale benchmark's smallest index: below it there is nothing to time at scale (and no
# IVF index to train)
MIN_SCALE = 500


def _sizes(text: str) -> str:
    """``--scale``: sizes such as "10000,100_000" (checked here, parsed by the benchmark)."""
    parts = [p.strip().replace("_", "") for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) >= MIN_SCALE for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give whole numbers of at least {MIN_SCALE:,} separated by commas, "
            "e.g. --scale 10000,100000"
        )
    return ",".join(parts)


def _positive(text: str) -> int:
    """A whole number of at least 1 (``--queries``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least 1")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="data directory (default: data/)")
    p.add_argument("--index", type=Path, default=None, help="index directory (default: index/)")
    p.add_argument(
        "--model",
        default=None,
        help="sentence-transformers model id or folder (default: bundled multilingual-e5-small)",
    )


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    ap = _Parser(prog="quotebot", description=__doc__)
    ap.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("build", help="build the index from the data directory")
    _common(p)

    p = sub.add_parser("ask", help="print the cited passages that answer a question")
    _common(p)
    p.add_argument("question", nargs="*", help="the question (none: ask interactively)")
    p.add_argument("-k", type=int, default=5, help="number of passages (1-50, default 5)")
    p.add_argument("--json", action="store_true", help="print JSON (a list of Hit objects)")
    p.add_argument("--lang", action="append", choices=["en", "zh-Hans", "zh-Hant"],
                   help="only passages in this language (repeatable)")
    p.add_argument("--doc", action="append", help="only this document id (repeatable)")
    p.add_argument("--speaker", help="only passages attributed to this person, e.g. 'Fang Han'")
    p.add_argument("--min-score", type=float, default=None,
                   help="how likely (0..1) the articles must be to answer the question before "
                   "any passage is shown (default 0.5; lower answers more; not a per-passage "
                   "score)")

    p = sub.add_parser("eval", help="retrieval figures on a JSONL question set")
    _common(p)
    p.add_argument("file", type=Path, help="JSONL with query, expect[, abstain] per line")
    p.add_argument("-k", type=int, default=5,
                   help="passages per question that count as found (default 5, as recall@5)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")

    p = sub.add_parser("list", help="list the documents in the catalog")
    p.add_argument("--data", type=Path, default=None, help="data directory (default: data/)")
    p.add_argument("--json", action="store_true",
                   help="print the documents as JSON (a list of their catalog fields)")

    p = sub.add_parser("add", help="add documents (.txt .md .html .htm .pdf) and update the index")
    _common(p)
    p.add_argument("files", nargs="+", type=Path, help="the files to add (copied into data/)")
    p.add_argument("--outlet", help="who published it, e.g. 'Jiemian News' (cited)")
    p.add_argument("--date", help="publication date, YYYY-MM-DD")
    p.add_argument("--title", help="the article's title (default: its own, else its headline)")
    p.add_argument("--url", help="where it was published")
    p.add_argument("--author", help="who wrote it")
    p.add_argument("--lang", choices=["en", "zh-Hans", "zh-Hant"],
                   help="its language (default: detected)")

    p = sub.add_parser("remove", help="remove a document (and its passages) by id")
    _common(p)
    p.add_argument("doc_id", nargs="+", help="document ids, as `python -m bot list` shows them")

    p = sub.add_parser("bench", help="latency, build, memory and scale benchmark")
    _common(p)
    p.add_argument("--scale", type=_sizes, default=None,
                   help=f"comma-separated synthetic index sizes, each at least {MIN_SCALE:,}")
    p.add_argument("--queries", type=_positive, default=200,
                   help="generated questions to time (default 200)")
    p.add_argument("--out", type=Path, default=None, help="results file (default bench/RESULTS.md)")
    return ap


# the Python API's argument names in error messages, and the flags that set them: the names
# anywhere, and the one-word names (speaker, lang, title ...) where a message opens with one
# (after "file.txt: " too) or says to leave one out
_FLAGS = {"doc_ids": "--doc", "min_score": "--min-score", "langs": "--lang"}
_API_ARGS = re.compile(r"\b(?:doc_ids|min_score|langs)\b")
_OPENING_ARG = re.compile(
    r"(^|: |; )(speaker|lang|title|outlet|author|date|url)(?= (?:is|'|\"|must|was))"
)
_API_PHRASES = (
    (re.compile(r" \(model=None\)"), " (without --model)"),
    (re.compile(r"(^|: )model name is empty"), r"\1--model is empty"),
    (re.compile(r"\bleave (lang|speaker) out\b"), r"leave --\1 out"),
    (re.compile(r"\) or None$"), r") or leave --speaker out"),
)


def as_flags(message: str) -> str:
    """An error message of the Python API as the command line says it: flags for argument
    names ("--speaker is empty", "without --model")."""
    message = _API_ARGS.sub(lambda m: _FLAGS[m.group()], message)
    message = _OPENING_ARG.sub(r"\1--\2", message)
    for pattern, flag in _API_PHRASES:
        message = pattern.sub(flag, message)
    return message


def _printable(text: str, limit: int = 300) -> str:
    """``text`` as it can be printed: bytes that were not UTF-8 (lone surrogates) become "?",
    control characters are dropped (they would move the terminal's cursor, or ring it), and a
    text longer than ``limit`` is cut (a 10 MB line is not echoed back)."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = "".join(c for c in text if c in "\t\n" or unicodedata.category(c) != "Cc")
    text = text.replace("\ufeff", "").strip()  # (a byte-order mark is invisible, and no text)
    return text if len(text) <= limit else text[:limit] + "…"


_CJK_TEXT = re.compile(r"[\u3400-\u9fff]")


_UTF16 = "the input is UTF-16 text; convert it to UTF-8 first: iconv -f UTF-16 -t UTF-8"


def _is_utf16(line: str) -> bool:
    """Whether a line read as UTF-8 (bad bytes as lone surrogates) starts a UTF-16 text: a
    byte-order mark and more."""
    raw = line.encode("utf-8", "surrogateescape")
    return raw.startswith((b"\xff\xfe", b"\xfe\xff")) and len(raw) > 2


def _not_utf8(line: str) -> str | None:
    """What to say of a line read with bytes that are not UTF-8 (lone surrogates): a GBK or
    Big5 file piped in would otherwise be asked as the few bytes that happen to read as UTF-8
    ("? ٶΪʲôԴ?"), and "answered"; None for a line that is UTF-8."""
    bad = bytes(ord(c) - 0xDC00 for c in line if 0xDC80 <= ord(c) <= 0xDCFF)
    if not bad:
        return None
    raw = line.encode("utf-8", "surrogateescape")
    # Chinese in GBK or Big5 reads as Chinese in one of them (a stray byte in a question,
    # which is dropped as in an argument, reads in neither: \xff, or an accent at the end)
    # ("München" in Latin-1, ü then n, reads as one Chinese character in GBK: one byte is
    # too few to tell)
    legacy = len(bad) > 1 and any(_CJK_TEXT.search(_decoded(raw, enc))
                                  for enc in ("gb18030", "big5"))
    if not legacy and (len(bad) < 4 or len(bad) < len(line) / 4):
        return None
    shown = bad[:8].hex(" ")
    return (f"the line is not UTF-8 text (bytes {shown}{' …' if len(bad) > 8 else ''}); "
            "convert the input to UTF-8 first, e.g. iconv -f GBK -t UTF-8 (or -f BIG5)")


def _decoded(raw: bytes, encoding: str) -> str:
    """``raw`` read strictly in ``encoding``; "" when it does not read."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return ""


def _echo(question: str) -> str:
    """A question as it was asked (cleaned: control characters and bad bytes dropped), for
    heading its answer; as read when nothing of it is left to ask."""
    from .errors import QuoteBotError
    from .retrieve import clean_query

    try:
        return _printable(clean_query(question))
    except QuoteBotError:
        return _printable(question)


def _ask(args: argparse.Namespace, question: str, piped: bool = False) -> int:
    """Answer one question on stdout. ``piped`` (questions read from a file): each answer
    says which question it answers; with --json, one JSON object per line (JSON Lines)."""
    from .errors import InvalidQueryError
    from .format import FILTERED_NOTES, hits_to_json, hits_to_text
    from .passages import detect_lang
    from .retrieve import retrieve

    try:
        hits = retrieve(
            question, args.k, data_dir=args.data, index_dir=args.index, model=args.model,
            min_score=args.min_score, speaker=args.speaker, langs=args.lang, doc_ids=args.doc,
        )
    except InvalidQueryError as exc:
        # the message names retrieve's arguments; here they are flags
        raise InvalidQueryError(as_flags(str(exc))) from exc
    if piped and args.json:
        record = {"question": _echo(question), "hits": [h.to_dict() for h in hits]}
        print(json.dumps(record, ensure_ascii=False))
    elif piped:
        print(f"? {_echo(question)}\n{hits_to_text(hits, detect_lang(question))}\n")
    else:
        print(hits_to_json(hits) if args.json else hits_to_text(hits, detect_lang(question)))
    # (with --json too: the note goes to stderr, the JSON to stdout)
    if not hits and (args.speaker or args.lang or args.doc):
        from .retrieve import get_engine

        # the filters, not the articles, may be why: say so (on stderr, as a note, in the
        # question's language)
        engine = get_engine(args.data, args.index, args.model)
        missing = engine.filtered_away(question, args.lang, args.doc, args.speaker)
        lang = detect_lang(question)
        widen, unnamed = FILTERED_NOTES.get(lang, FILTERED_NOTES["en"])
        flags = "/".join(f for f, used in (("--speaker", args.speaker), ("--lang", args.lang),
                                            ("--doc", args.doc)) if used)
        if missing == []:
            print(widen.format(flags=flags), file=sys.stderr)
        elif missing:
            sep = ", " if lang == "en" else "、"
            print(unnamed.format(flags=flags, names=sep.join(missing)), file=sys.stderr)
    return 0


def _interactive(args: argparse.Namespace) -> int:
    from .errors import InvalidQueryError, QuoteBotError

    # typed at a terminal, an empty line quits; a file of questions piped in is read to its
    # end, its blank lines skipped (one between two questions must not drop the rest)
    typed = sys.stdin.isatty()
    # stdout carries only the answers when a reader parses them (--json) or they go to a file
    # (piped in): the talk goes to stderr
    talk = sys.stderr if args.json or not typed else sys.stdout
    # questions of a file that could not be asked: the exit status says so (1)
    failed = 0
    print("Ask a question (English, 简体, 繁體); an empty line or Ctrl-D quits."
          if typed else "Reading questions from standard input, one per line.", file=talk)
    if isinstance(sys.stdin, io.TextIOWrapper):
        # bytes that are not UTF-8 become lone surrogates, which the question cleaner drops
        # (as for command-line arguments), instead of ending the session with a traceback
        sys.stdin.reconfigure(errors="surrogateescape")
    number = 0  # the line's, for the errors of a file of questions
    while True:
        try:
            if args.json and typed:
                print("? ", end="", file=talk, flush=True)
            line = input("? " if typed and not args.json else "")
        except EOFError:
            return _piped_status(failed)
        number += 1
        if number == 1:
            line = line.removeprefix("\ufeff")  # a UTF-8 file's byte-order mark
        if not line.strip():
            if typed:
                return 0
            continue
        where = "" if typed else f"line {number}: "
        if _is_utf16(line):
            # (every line after it is as unreadable: one error, not one per line)
            print(f"error: {where}{_UTF16}", file=sys.stderr)
            return 2
        undecoded = _not_utf8(line)
        try:
            if undecoded is not None:
                raise InvalidQueryError(undecoded)
            _ask(args, line, piped=not typed)
        except (QuoteBotError, TypeError) as exc:
            print(f"error: {where}{_printable(str(exc))}", file=sys.stderr)
            failed += not typed
            # the answers stay in step with the questions: a refused one is headed by its
            # question too (with --json, one line per question); one that is not UTF-8 by
            # that, not by the characters its bytes happen to make
            echo = _echo(line) if undecoded is None else "(not UTF-8)"
            if not typed and args.json:
                print(json.dumps({"question": echo, "error": _printable(str(exc))},
                                 ensure_ascii=False))
            elif not typed:
                print(f"? {echo}\nerror: {_printable(str(exc))}\n")


def _check_ask_flags(args: argparse.Namespace) -> None:
    """The flags of a stream of questions, checked once before the first is read: a bad -k,
    --speaker, --lang or --doc is one error and exit status 2, not one per question (a
    tester's: a 10,000-line file got 10,000 of them)."""
    from .errors import InvalidQueryError
    from .retrieve import check_k, get_engine

    try:
        check_k(args.k)
        if args.speaker is not None or args.lang or args.doc:
            get_engine(args.data, args.index, args.model).filter_mask(
                args.lang, args.doc, args.speaker)
    except InvalidQueryError as exc:
        raise InvalidQueryError(as_flags(str(exc))) from exc


def _piped_status(failed: int) -> int:
    """The exit status of a file of questions read to its end: 1 when some could not be
    asked (each is in the answers, in step, and its error on stderr), else 0."""
    if failed:
        print(f"error: {failed} question{'s' if failed > 1 else ''} could not be asked",
              file=sys.stderr)
    return 1 if failed else 0


def _check_index_for_data(args: argparse.Namespace) -> None:
    """Another corpus (``--data``) with the default index: refused. ``index/`` is ``data/``'s;
    building, adding or removing would replace it with the other corpus's index, and asking
    would build one there or be refused for a corpus that does not match."""
    from .errors import IndexLocationError
    from .settings import SETTINGS

    data = getattr(args, "data", None)
    if "index" not in vars(args) or args.index is not None or data is None:
        return
    if Path(data).resolve() != SETTINGS.data_dir.resolve():
        from .corpus import CATALOG_NAME, load_catalog

        if not (Path(data) / CATALOG_NAME).is_file():
            load_catalog(data)  # what is wrong with the folder comes first: no catalog there
        raise IndexLocationError(
            f"--data {data} is another corpus than {SETTINGS.data_dir}, whose index is "
            f"{SETTINGS.index_dir}: give it an index folder of its own with --index DIR"
        )


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    # the handler has the level too: some libraries (bm25s) set DEBUG on their own logger
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler]
    )
    # a damaged PDF gets its one `error:` line from us; pypdf's own notes ("EOF marker not
    # found") would come before it
    logging.getLogger("pypdf").setLevel(logging.INFO if args.verbose else logging.ERROR)
    _check_index_for_data(args)
    if args.cmd == "build":
        from .indexing import build_index
        from .ingest import recover

        recover(args.data)  # an add or remove killed halfway is undone, not built in
        report = build_index(args.data, args.index, args.model, show_progress=True)
        print(
            f"built {report.index_dir}: {report.passages} passages, dim {report.dim}, "
            f"model {report.model_id}, {report.seconds_total:.1f}s "
            f"(encoding {report.seconds_encode:.1f}s)"
        )
        return 0
    if args.cmd == "ask":
        if not args.question:
            _check_ask_flags(args)
            return _interactive(args)
        return _ask(args, " ".join(args.question))
    if args.cmd == "eval":
        from .evaluate import evaluate
        from .retrieve import check_k, retrieve

        k = check_k(args.k)

        def retriever(q: str) -> list:
            return retrieve(q, k, data_dir=args.data, index_dir=args.index, model=args.model)

        summary, text = evaluate(args.file, retriever, k)
        print(json.dumps(summary, indent=2) if args.json else text)
        return 0
    if args.cmd == "list":
        from .corpus import load_catalog

        docs = load_catalog(args.data)
        if args.json:
            fields = ("doc_id", "title", "outlet", "author", "date", "lang", "url",
                      "source_path")
            print(json.dumps([{f: getattr(d, f) for f in fields} for d in docs],
                             ensure_ascii=False, indent=2))
            return 0
        for doc in docs:
            meta = ", ".join(x for x in (doc.outlet, doc.date, doc.lang) if x)
            name = doc.title or ("(no title)" if doc.outlet else f"(no title: {doc.label})")
            print(f"{doc.doc_id}\t{name}\t{meta}")
        return 0
    if args.cmd in ("add", "remove"):
        from . import ingest

        command = ingest.add_command if args.cmd == "add" else ingest.remove_command
        return command(args, out=print, err=lambda line: print(as_flags(line), file=sys.stderr))
    if args.cmd == "bench":
        from . import bench

        return bench.run_command(args)
    raise AssertionError(args.cmd)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: known errors become a one-line message and exit status 2."""
    from .errors import QuoteBotError

    try:
        return run(argv)
    except BrokenPipeError:
        # the reader went away (`quotebot ask ... | head -1`): nothing left to say to it
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (QuoteBotError, TypeError, ImportError, OSError) as exc:
        message = as_flags(" ".join(str(exc).splitlines()))
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
