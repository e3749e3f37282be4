"""Score the shipped alert rules: precision/recall/F1 on the labelled dev set, and the two example articles.

Usage::

    .venv/bin/python benchmarks/rules_quality.py [--rules config/rules.toml] [--shared ../shared] [-v]

The dev set is ``<shared>/eval/relevance-dev/articles.jsonl`` (one JSON object a line with ``title``,
``text`` and the boolean labels ``softbank_investment`` and ``ai_iot_investment``); the examples are
``<shared>/examples/*.txt`` (first line a title, the rest the body) and must match both rules.
With ``-v`` every false positive and false negative is listed. Exits 1 if an example is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.rules import Rule, RuleSet  # noqa: E402

# Which dev-set label each shipped rule is judged against.
LABELS = {"softbank-investment": "softbank_investment", "ai-iot-investment": "ai_iot_investment"}


@dataclass
class Score:
    """Confusion counts of one rule on the dev set, plus the ids it got wrong."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0

    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 0.0

    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 0.0

    def f1(self) -> float:
        p, r = self.precision(), self.recall()
        return 2 * p * r / (p + r) if p + r else 0.0


def load_rules(path: Path) -> RuleSet:
    """The rules of a rules.toml file (``[[rule]]`` tables with ``id`` and ``query``)."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    rules = [
        Rule(
            id=table["id"],
            query=table["query"],
            mode=table.get("mode", "digest"),
            recipients=tuple(table.get("recipients", ())),
        )
        for table in data.get("rule", [])
    ]
    return RuleSet.compile(rules)


def read_example(path: Path) -> tuple[str, str]:
    """An example article: its first line as title, the rest as body."""
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title.strip(), body


def score_dev_set(rules: RuleSet, path: Path, verbose: bool) -> dict[str, Score]:
    """Score every shipped rule on the dev set at ``path``."""
    scores = {rule_id: Score() for rule_id in LABELS}
    wrong: dict[str, list[str]] = {rule_id: [] for rule_id in LABELS}
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    for record in records:
        matches = {match.rule_id: match for match in rules.match(record["title"] or "", record["text"] or "")}
        for rule_id, label in LABELS.items():
            score, wanted, got = scores[rule_id], bool(record[label]), rule_id in matches
            if wanted and got:
                score.true_positive += 1
            elif got:
                score.false_positive += 1
                terms = ", ".join(matches[rule_id].terms)
                wrong[rule_id].append(f"  FP {record['id']}: {record['title'][:70]!r} [{terms}]")
            elif wanted:
                score.false_negative += 1
                wrong[rule_id].append(f"  FN {record['id']}: {record['title'][:70]!r}")
            else:
                score.true_negative += 1
    print(f"dev set: {path} ({len(records)} articles)")
    print(f"{'rule':<22} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>7} {'F1':>6}")
    for rule_id, score in scores.items():
        print(
            f"{rule_id:<22} {score.true_positive:>4} {score.false_positive:>4} {score.false_negative:>4}"
            f" {score.precision():>10.3f} {score.recall():>7.3f} {score.f1():>6.3f}"
        )
        if verbose:
            print("\n".join(wrong[rule_id]))
    return scores


def check_examples(rules: RuleSet, folder: Path) -> bool:
    """True if every example article matches every shipped rule; prints one line per example."""
    paths = sorted(folder.glob("*.txt"))
    if not paths:
        print(f"examples: none found in {folder}")
        return False
    ok = True
    for path in paths:
        title, body = read_example(path)
        matched = {match.rule_id: match.terms for match in rules.match(title, body)}
        missing = [rule_id for rule_id in LABELS if rule_id not in matched]
        ok = ok and not missing
        status = "ok" if not missing else "MISSED by " + ", ".join(missing)
        print(f"example {path.name}: {status}")
        for rule_id, terms in matched.items():
            print(f"  {rule_id}: {', '.join(terms)}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=ROOT / "config" / "rules.toml")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("-v", "--verbose", action="store_true", help="list false positives and negatives")
    args = parser.parse_args(argv)
    rules = load_rules(args.rules)
    score_dev_set(rules, args.shared / "eval" / "relevance-dev" / "articles.jsonl", args.verbose)
    return 0 if check_examples(rules, args.shared / "examples") else 1


if __name__ == "__main__":
    sys.exit(main())
