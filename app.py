"""QuoteBot web chat: ``python app.py [--host H] [--port P] [--share] [--data D] [--index I]
[--model M] [--upload | --no-upload]``. The index is loaded (built first if missing) before
the server starts."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1",
                    help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    ap.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    ap.add_argument("--share", action="store_true",
                    help="also open a public Gradio share link (off by default)")
    ap.add_argument("--data", type=Path, default=None, help="data directory (default: data/)")
    ap.add_argument("--index", type=Path, default=None, help="index directory (default: index/)")
    ap.add_argument("--model", default=None,
                    help="sentence-transformers model id or folder (default: bundled e5-small)")
    ap.add_argument("--upload", action=argparse.BooleanOptionalAction, default=None,
                    help="show the control that adds articles to data/ and the index "
                    "(default: only when serving on a loopback address without --share)")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO)  # bm25s sets DEBUG on its own logger
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[handler],
    )
    for noisy in ("httpx", "faiss.loader"):  # a line per request / per CPU feature probed
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from bot.errors import MissingExtraError, QuoteBotError

    try:
        from bot.ui import serve

        serve(args.host, args.port, args.share, args.data, args.index, args.model, args.upload)
    except (MissingExtraError, QuoteBotError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
