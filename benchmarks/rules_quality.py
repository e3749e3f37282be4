"""Score the shipped alert rules: precision / recall / F1 per rule on the labelled dev set, the two example
articles and the bundled demo site.

Usage::

    .venv/bin/python benchmarks/rules_quality.py [--rules config/rules.toml] [--shared ../shared] [-v]

* Dev set: ``<shared>/eval/relevance-dev/articles.jsonl`` (one JSON object a line with ``title``, ``text``,
  ``url`` and the boolean labels ``softbank_investment`` and ``ai_iot_investment``).
* Examples: ``<shared>/examples/*.txt`` (first line a title, the rest the body); both must match both rules.
* Demo site: every labelled story of ``crawler.demo``, fetched from a running ``SampleSite`` and extracted
  with ``crawler.extract.extract_page``, as the crawler would see it (skipped if the package is absent).

The rules are loaded with the real configuration loader (aliases, thresholds and ``[money]`` rates
included). With ``-v`` every misclassified item is listed with the terms that matched. Exits 1 if an example
is missed or a demo story is misclassified.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.config import ConfigError, compile_rules, load_rules  # noqa: E402
from crawler.rules import RuleSet  # noqa: E402

# Which label each shipped rule is judged against.
LABELS = {"softbank-investment": "softbank_investment", "ai-iot-investment": "ai_iot_investment"}


@dataclass
class Item:
    """One labelled article."""

    id: str
    title: str
    text: str
    labels: dict[str, bool]
    url: str | None = None


@dataclass
class Score:
    """Confusion counts of one rule on one set, plus the items it got wrong."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    wrong: list[str] = field(default_factory=list)

    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 0.0

    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 0.0

    def f1(self) -> float:
        p, r = self.precision(), self.recall()
        return 2 * p * r / (p + r) if p + r else 0.0


def load_ruleset(path: Path) -> RuleSet:
    """The rules of a rules.toml file, validated by the configuration loader."""
    problems: list[str] = []
    try:
        rules = load_rules(path, problems)
    except ConfigError as exc:
        problems.extend(exc.problems)
        rules = None
    if problems or rules is None:
        raise SystemExit("invalid rules:\n" + "\n".join(problems))
    return compile_rules(rules)


def dev_items(path: Path) -> list[Item]:
    """The labelled dev-set articles."""
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return [
        Item(r["id"], r["title"] or "", r["text"] or "", {k: bool(r[v]) for k, v in LABELS.items()}, r.get("url"))
        for r in records
    ]


def example_items(folder: Path) -> list[Item]:
    """The example articles: positives on both rules."""
    items = []
    for path in sorted(folder.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        items.append(Item(path.name, title.strip(), body, dict.fromkeys(LABELS, True)))
    return items


def demo_items() -> list[Item] | None:
    """The demo site's labelled stories as the crawler extracts them (None without crawler.demo)."""
    try:
        from crawler.demo import SampleSite
    except ImportError:
        return None
    import urllib.request
    from datetime import UTC, datetime

    from crawler.article import Skipped
    from crawler.extract import extract_page

    items: list[Item] = []
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: never via a proxy
    with SampleSite(now=datetime(2025, 11, 20, 6, 0, tzinfo=UTC)) as site:
        for article in site.articles:
            url = site.url(article)
            with opener.open(url, timeout=10) as response:
                page = response.read().decode("utf-8")
            result = extract_page(page, url)
            labels = {
                "softbank-investment": article.softbank_investment,
                "ai-iot-investment": article.ai_iot_investment,
            }
            if isinstance(result, Skipped):
                print(f"demo: {article.slug} was skipped by the extractor: {result.reason}")
                items.append(Item(article.slug, article.title, "", labels, url))
            else:
                items.append(Item(article.slug, result.title, result.text, labels, url))
    return items


def score(rules: RuleSet, items: Iterable[Item]) -> dict[str, Score]:
    """Per-rule confusion counts over ``items``."""
    scores = {rule_id: Score() for rule_id in LABELS}
    for item in items:
        matches = {m.rule_id: m for m in rules.match(item.title, item.text, url=item.url)}
        for rule_id in LABELS:
            result, wanted, got = scores[rule_id], item.labels[rule_id], rule_id in matches
            if wanted and got:
                result.true_positive += 1
            elif got:
                result.false_positive += 1
                result.wrong.append(
                    f"    FP {item.id}: {item.title[:80]!r}\n       [{', '.join(matches[rule_id].terms)}]"
                )
            elif wanted:
                result.false_negative += 1
                result.wrong.append(f"    FN {item.id}: {item.title[:80]!r}")
            else:
                result.true_negative += 1
    return scores


def report(name: str, scores: dict[str, Score], verbose: bool) -> None:
    print(name)
    print(f"  {'rule':<22} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} {'precision':>10} {'recall':>7} {'F1':>6}")
    for rule_id, result in scores.items():
        print(
            f"  {rule_id:<22} {result.true_positive:>4} {result.false_positive:>4} {result.false_negative:>4}"
            f" {result.true_negative:>4} {result.precision():>10.3f} {result.recall():>7.3f} {result.f1():>6.3f}"
        )
        if verbose and result.wrong:
            print("\n".join(result.wrong))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rules", type=Path, default=ROOT / "config" / "rules.toml")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misclassified items")
    args = parser.parse_args(argv)
    rules = load_ruleset(args.rules)
    ok = True
    dev = args.shared / "eval" / "relevance-dev" / "articles.jsonl"
    if dev.exists():
        items = dev_items(dev)
        report(f"dev set: {dev} ({len(items)} articles)", score(rules, items), args.verbose)
    else:
        print(f"dev set: {dev} not found")
    examples = example_items(args.shared / "examples")
    if examples:
        scores = score(rules, examples)
        report(f"examples: {len(examples)} articles (both must match both rules)", scores, args.verbose)
        ok = ok and all(result.false_negative == 0 for result in scores.values())
    else:
        print(f"examples: none found in {args.shared / 'examples'}")
    demo = demo_items()
    if demo is None:
        print("demo site: crawler.demo is not installed")
    else:
        scores = score(rules, demo)
        report(f"demo site: {len(demo)} stories (must be classified exactly)", scores, args.verbose)
        ok = ok and all(result.false_negative == result.false_positive == 0 for result in scores.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
