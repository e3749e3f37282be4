"""How long matching takes: N realistic rules against real articles, median and p95 milliseconds per article.

Usage::

    .venv/bin/python benchmarks/rules_speed.py [--shared ../shared] [--sizes 100 500 1000 2000] [--repeat 3]

The articles are the dev set's texts (``<shared>/eval/relevance-dev/articles.jsonl``; a few synthetic
articles if it is absent). The rules are generated from a fixed seed to look like what users write: words,
prefixes and phrases drawn from the articles' own vocabulary (so that rules do match), aliases (50 shared
definitions of 3-8 terms), NEAR/n, MONEY and MONEY>=..., title:/body: fields, case-sensitive terms,
NOT clauses and thresholds; the two shipped rules are always included.

For each size it prints, per article:

* ``index``: tokenizing the title and body once (the same for any number of rules);
* ``ids``: :meth:`RuleSet.matching_ids` on that index (the fast path, which decides the matches);
* ``total``: both, i.e. the cost of deciding which of N rules an article matches;
* ``explain``: :meth:`RuleSet.match` end to end, with hits, snippets and amounts for the matched rules;

and the mean number of rules matched. The target is ``total`` <= 5 ms at 1,000 rules, growing at most
linearly with the number of rules. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.config import ConfigError, load_rules  # noqa: E402
from crawler.rules import DocumentIndex, Rule, RuleSet, Threshold  # noqa: E402
from crawler.rules.text import words  # noqa: E402

SEED = 20251120
DEAL_WORDS = [
    "invest*", "stake", "acquir*", "raises", "funding", '"funding round"', '"series a"', '"series b"', "buys",
    '"joint venture"', "merger", "valuation", "backed", "pledge*", "commit*", "spend*", "capex",
]  # fmt: skip
NEGATIVE_WORDS = ["layoffs", "lawsuit", "hawks", "outage", "recall", "review", "loss", "earnings", "sues"]


def load_articles(shared: Path) -> list[tuple[str, str]]:
    """(title, body) of the dev-set articles, or a few synthetic ones."""
    path = shared / "eval" / "relevance-dev" / "articles.jsonl"
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        return [(r["title"] or "", r["text"] or "") for r in records]
    print(f"({path} not found: using synthetic articles)")
    sentence = "SoftBank said it would invest $4.5B in AI chips and IoT-based robotics with a joint venture partner. "
    return [(f"Story {n}", sentence * (5 + n % 40)) for n in range(100)]


def vocabulary(articles: list[tuple[str, str]]) -> list[str]:
    """Alphabetic words of middling frequency in the articles (not stop words, not one-offs)."""
    counts: Counter[str] = Counter()
    for title, body in articles:
        counts.update({word for word in words(title + " " + body) if word.isalpha() and word.isascii()})
    ranked = [word for word, count in counts.most_common() if count >= 2 and len(word) >= 4]
    return ranked[60:3000]  # skip the most frequent (stop words)


def make_aliases(rng: random.Random, vocab: list[str]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for number in range(50):
        terms = []
        for _ in range(rng.randint(3, 8)):
            kind = rng.random()
            if kind < 0.6:
                terms.append(rng.choice(vocab))
            elif kind < 0.8:
                terms.append(f'"{rng.choice(vocab)} {rng.choice(vocab)}"')
            else:
                terms.append(rng.choice(vocab)[:5] + "*")
        aliases[f"topic{number}"] = " OR ".join(terms)
    return aliases


def make_rules(count: int, rng: random.Random, vocab: list[str], aliases: Mapping[str, object]) -> list[Rule]:
    """``count`` rules of varied shapes (see the module docstring)."""
    names = list(aliases)
    rules: list[Rule] = []
    for number in range(count):
        word, other, third = rng.choice(vocab), rng.choice(vocab), rng.choice(vocab)
        deal, negative, alias = rng.choice(DEAL_WORDS), rng.choice(NEGATIVE_WORDS), rng.choice(names)
        shape = number % 10
        threshold = None
        if shape == 0:
            query = f"@{alias} NEAR/10 ({deal} OR {rng.choice(DEAL_WORDS)}) -{negative}"
        elif shape == 1:
            query = f"({word} OR {other}) AND MONEY>={rng.choice(['1M', '10M', '100M', '1B'])} NEAR/15 {deal}"
        elif shape == 2:
            query = f'title:({word} OR "{other} {third}") AND ({deal} OR MONEY)'
        elif shape == 3:
            query = f"{word} {other[:4]}* NOT ({negative} OR {third})"
        elif shape == 4:
            query = f'"{word} {other}" OR ({third} AND {deal})'
        elif shape == 5:
            query = f"@{alias} AND @{rng.choice(names)} AND {deal}"
            threshold = Threshold(f"@{alias}", True, 2)
        elif shape == 6:
            query = f"={word.upper()[:3]} NEAR/5 ({deal} OR {word})"
        elif shape == 7:
            query = f"body:{word} NEAR/20 (MONEY OR {deal}) AND title:{other}"
        elif shape == 8:
            query = f"({word} NEAR/8 {other}) OR ({third} NEAR/3 {deal})"
        else:
            query = f"{word} AND ({other} OR {third} OR {deal}) -title:{negative}"
        rules.append(Rule(f"r{number}", query, threshold=threshold))
    return rules


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the articles (the best is kept)")
    args = parser.parse_args(argv)

    articles = load_articles(args.shared)
    vocab = vocabulary(articles)
    problems: list[str] = []
    try:
        shipped = load_rules(ROOT / "config" / "rules.toml", problems)
    except ConfigError as exc:
        problems.extend(exc.problems)
        shipped = None
    if problems or shipped is None:
        print("config/rules.toml is invalid:\n" + "\n".join(problems))
        return 1
    rng = random.Random(SEED)
    aliases: dict[str, str | tuple[str, ...]] = {**shipped.aliases, **make_aliases(rng, vocab)}
    generated = make_rules(max(args.sizes), rng, vocab, aliases)
    shipped_rules = [r.to_rule() for r in shipped]
    sizes = ", ".join(str(n) for n in args.sizes)
    median_size = statistics.median(len(body) for _, body in articles)
    print(f"{len(articles)} articles (median {median_size:.0f} characters); rule sets of {sizes}")
    heads = ("ids ms", "total ms", "explain ms")
    print(f"{'rules':>6} {'compile s':>9} {'index ms':>9} " + " ".join(f"{h:>13}" for h in heads) + f" {'matched':>8}")
    print(f"{'':>6} {'':>9} {'median':>9} {'median / p95':>13} {'median / p95':>13} {'median / p95':>13} {'mean':>8}")
    for size in args.sizes:
        rules = [*shipped_rules, *generated[: size - len(shipped_rules)]]
        started = time.perf_counter()
        rule_set = RuleSet.compile(rules, aliases=aliases, usd_rates=shipped.usd_rates)
        compile_seconds = time.perf_counter() - started
        index_ms: list[float] = []
        ids_ms: list[float] = []
        total_ms: list[float] = []
        explain_ms: list[float] = []
        matched = 0
        for title, body in articles:
            best = [float("inf")] * 3
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                index = DocumentIndex.build(title, body)
                t1 = time.perf_counter()
                found = rule_set.matching_ids(index)
                t2 = time.perf_counter()
                rule_set.match(title, body)
                t3 = time.perf_counter()
                best = [min(best[0], t1 - t0), min(best[1], t2 - t1), min(best[2], t3 - t2)]
            index_ms.append(best[0] * 1000)
            ids_ms.append(best[1] * 1000)
            total_ms.append((best[0] + best[1]) * 1000)
            explain_ms.append(best[2] * 1000)
            matched += len(found)
        print(
            f"{size:>6} {compile_seconds:>9.2f} {statistics.median(index_ms):>9.2f}"
            f" {statistics.median(ids_ms):>6.2f} / {percentile(ids_ms, 0.95):>5.2f}"
            f" {statistics.median(total_ms):>6.2f} / {percentile(total_ms, 0.95):>5.2f}"
            f" {statistics.median(explain_ms):>6.2f} / {percentile(explain_ms, 0.95):>5.2f}"
            f" {matched / len(articles):>8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
