"""Print article-extraction quality (F1, precision, recall, accuracy) and speed: ours vs plain trafilatura.

Uses the project's scorer and benchmark pages in ../shared/eval (181 real news pages):

    .venv/bin/python benchmarks/extraction.py              # ours vs trafilatura
    .venv/bin/python benchmarks/extraction.py --ablation   # plus ours with each cleanup group off / alone
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "eval" / "score_extraction.py"
sys.path.insert(0, str(ROOT))

from crawler.article import Article  # noqa: E402
from crawler.extract import DEFAULT_CLEANUP, NO_CLEANUP, Cleanup, extract_page  # noqa: E402

Extractor = Callable[[str, str], "str | None"]
GROUPS = [field.name for field in dataclasses.fields(Cleanup)]


def load_scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_extraction", SCORER)
    if spec is None or spec.loader is None:
        raise SystemExit(f"scorer not found: {SCORER}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_extraction"] = module
    spec.loader.exec_module(module)
    return module


def ours(cleanup: Cleanup) -> Extractor:
    def run(html: str, url: str) -> str | None:
        result = extract_page(html, url, cleanup=cleanup)
        return result.text if isinstance(result, Article) else None

    return run


def trafilatura_extractor(favor_precision: bool = False, include_comments: bool = True) -> Extractor:
    import trafilatura

    def run(html: str, url: str) -> str | None:
        return trafilatura.extract(
            html, url=url or None, favor_precision=favor_precision, include_comments=include_comments
        )

    return run


def candidates(ablation: bool) -> list[tuple[str, Extractor]]:
    rows = [
        ("trafilatura", trafilatura_extractor()),
        ("trafilatura precision nocomments", trafilatura_extractor(favor_precision=True, include_comments=False)),
        ("ours, no cleanup", ours(NO_CLEANUP)),
        ("ours", ours(DEFAULT_CLEANUP)),
    ]
    if ablation:
        for group in GROUPS:
            rows.append((f"ours without {group}", ours(dataclasses.replace(DEFAULT_CLEANUP, **{group: False}))))
        for group in GROUPS:
            rows.append((f"ours with {group} only", ours(dataclasses.replace(NO_CLEANUP, **{group: True}))))
    return rows


def best_cpu_ms(extract: Extractor, pages: list[Any], repeat: int) -> float:
    """CPU milliseconds per page, best of ``repeat`` passes (other processes on the machine add noise)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for page in pages:
            extract(page.html, page.url)
        best = min(best, time.process_time() - start)
    return best * 1000 / len(pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", action="store_true", help="also score each cleanup group off and alone")
    parser.add_argument("--limit", type=int, help="only the first N pages")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes per extractor (best is shown)")
    args = parser.parse_args()

    scorer = load_scorer()
    pages = scorer.load_pages(scorer.DEFAULT_DATA_DIR, args.limit)
    print(f"{len(pages)} pages from {scorer.DEFAULT_DATA_DIR}; ms/page = best CPU time of {args.repeat} passes\n")
    print(f"{'extractor':<34} {'F1':>6} {'prec':>6} {'recall':>6} {'acc':>6} {'ms/page':>8} {'empty':>5}")
    for name, extract in candidates(args.ablation):
        for page in pages[:3]:  # warm-up: imports, dateparser and language models load once
            extract(page.html, page.url)
        result = scorer.run_extractor(name, extract, pages, n_bootstrap=0)
        ms = best_cpu_ms(extract, pages, args.repeat)
        m = result.metrics
        print(
            f"{name:<34} {m['f1']:>6.3f} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['accuracy']:>6.3f}"
            f" {ms:>8.1f} {result.empty:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
