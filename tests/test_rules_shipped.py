"""The shipped config/rules.toml: valid, flags the two example stories, classifies the demo site exactly, holds
up on the dev set, and judges hand-written stories (written for these tests) as a reader would."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.config import RulesConfig, compile_rules, load_rules
from crawler.rules import RuleSet

ROOT = Path(__file__).resolve().parents[1]
RULES_TOML = ROOT / "config" / "rules.toml"
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "examples"
DEV_SET = SHARED / "eval" / "relevance-dev" / "articles.jsonl"
IDS = ("softbank-investment", "ai-iot-investment")
SOFTBANK, AI_IOT = IDS


def shared_or_skip(path: Path) -> Path:
    """``path`` if it exists; otherwise skip (fail on CI, where shared/ must be beside the clone)."""
    if not path.exists():
        message = f"{path} is not there (the shared/ folder beside the repository)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def shipped_config() -> RulesConfig:
    problems: list[str] = []
    rules = load_rules(RULES_TOML, problems)
    assert problems == []
    return rules


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return compile_rules(shipped_config())


def matched(rules: RuleSet, title: str, body: str) -> set[str]:
    return {match.rule_id for match in rules.match(title, body)}


def test_rules_file_is_valid_and_uses_the_language() -> None:
    config = shipped_config()
    assert tuple(rule.id for rule in config) == IDS
    assert {rule.mode for rule in config} <= {"instant", "digest"}
    assert all(rule.threshold is not None for rule in config)
    assert {"softbank", "ai_iot"} <= set(config.aliases)
    assert config.usd_rates["KRW"] == pytest.approx(0.00072)
    text = RULES_TOML.read_text(encoding="utf-8")
    for construct in ("NEAR/", "title:", "MONEY", "@softbank"):
        assert construct in text


def test_example_articles_match_both_rules_with_explanations(rules: RuleSet) -> None:
    paths = sorted(shared_or_skip(EXAMPLES).glob("*.txt"))
    assert len(paths) == 2
    for path in paths:
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        found = {match.rule_id: match for match in rules.match(title.strip(), body)}
        assert set(found) == set(IDS), path.name
        for match in found.values():
            assert match.terms and match.hits and match.snippet and "<mark>" in match.snippet
            assert match.amounts, path.name  # both stories name the money


def demo_stories() -> list[tuple[str, str, str, bool, bool]]:
    """(slug, title, body, softbank label, ai-iot label) of the demo site, as the crawler extracts them."""
    demo = pytest.importorskip("crawler.demo")
    from crawler.article import Skipped
    from crawler.extract import extract_page

    stories = []
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: never via a proxy
    with demo.SampleSite(now=datetime(2025, 11, 20, 6, 0, tzinfo=UTC)) as site:
        for article in site.articles:
            url = site.url(article)
            with opener.open(url, timeout=10) as response:
                page = response.read().decode("utf-8")
            result = extract_page(page, url)
            assert not isinstance(result, Skipped), article.slug
            stories.append(
                (article.slug, result.title, result.text, article.softbank_investment, article.ai_iot_investment)
            )
    return stories


@pytest.mark.timeout(120)  # a hang guard
def test_demo_site_is_classified_exactly(rules: RuleSet) -> None:
    stories = demo_stories()
    assert len(stories) >= 30
    wrong = []
    for slug, title, body, softbank, ai_iot in stories:
        found = matched(rules, title, body)
        expected = {rule_id for rule_id, label in ((SOFTBANK, softbank), (AI_IOT, ai_iot)) if label}
        if found != expected:
            wrong.append(f"{slug}: expected {sorted(expected)}, got {sorted(found)}")
    assert wrong == []


def f1(found: list[bool], wanted: list[bool]) -> float:
    true_positive = sum(f and w for f, w in zip(found, wanted, strict=True))
    return 2 * true_positive / (sum(found) + sum(wanted)) if any(found) or any(wanted) else 1.0


def test_dev_set_quality_floor(rules: RuleSet) -> None:
    """The targets of the issue (current figures: benchmarks/rules_quality.py)."""
    with shared_or_skip(DEV_SET).open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    found = [matched(rules, r["title"] or "", r["text"] or "") for r in records]
    softbank = f1([SOFTBANK in m for m in found], [bool(r["softbank_investment"]) for r in records])
    ai_iot = f1([AI_IOT in m for m in found], [bool(r["ai_iot_investment"]) for r in records])
    assert softbank >= 0.95, softbank
    assert ai_iot >= 0.92, ai_iot


BOTH, SB, AI, NONE = {SOFTBANK, AI_IOT}, {SOFTBANK}, {AI_IOT}, set[str]()

STORIES = [
    (
        "SoftBank to invest $3bn in Japanese AI data centres",
        "SoftBank Group said on Monday it would invest about $3 billion over three years to build data centres in "
        "Japan for training artificial intelligence models. The sites will use Nvidia GPUs. SoftBank shares rose 2%.",
        BOTH,
    ),
    (
        "Robotics startup Nimbus raises $120 million in Series B led by SoftBank Vision Fund 2",
        "Nimbus, which makes robotic arms for warehouses, said it raised $120 million in a Series B round led by "
        "SoftBank Vision Fund 2, with participation from existing investors. SoftBank's Vision Fund has invested "
        "in several robotics companies this year.",
        BOTH,
    ),
    (
        "SoftBank Vision Fund leads $300m round in Indian hotel chain",
        "The SoftBank Vision Fund led a $300 million investment in hotel operator Roomly, the company said. "
        "SoftBank now owns 40%. The funds will be used to add hotels.",
        SB,
    ),
    (
        "ソフトバンク、AI半導体新興企業に1000億円出資",
        "ソフトバンクグループは、人工知能向け半導体を開発する新興企業に約1000億円を出資すると発表した。"
        "孫正義社長はAIへの投資を加速させる方針だ。",
        BOTH,
    ),
    (
        "소프트뱅크, 한국 AI 스타트업에 5000억원 투자",
        "소프트뱅크그룹이 한국의 인공지능 스타트업에 5000억원을 투자한다고 밝혔다. "
        "손정의 회장은 AI 투자를 확대하겠다고 말했다.",
        BOTH,
    ),
    (
        "SoftBank Group reports ¥500bn net loss as Vision Fund valuations fall",
        "SoftBank Group posted a net loss of ¥500bn for the quarter as the value of its investments fell. The Vision "
        "Fund has invested in hundreds of start-ups including AI firms. Son said SoftBank would keep investing in AI.",
        NONE,
    ),
    (
        "SoftBank shares jump 10% after Arm results beat forecasts",
        "Shares in SoftBank Group jumped 10 per cent in Tokyo after Arm, in which SoftBank holds a 90% stake, "
        "reported results above expectations. Investors bought the stock on hopes for AI chip demand.",
        NONE,
    ),
    (
        "Masayoshi Son says artificial superintelligence will arrive within ten years",
        "SoftBank founder Masayoshi Son told shareholders that artificial superintelligence would arrive within a "
        "decade. Son, whose SoftBank has invested in OpenAI, did not announce any new investment.",
        NONE,
    ),
    (
        "SoftBank to sell part of its T-Mobile stake for $4bn",
        "SoftBank Group plans to sell part of its stake in T-Mobile US for about $4 billion to fund its investments "
        "in AI, people familiar with the matter said. The sale would cut SoftBank's stake to 3%.",
        NONE,
    ),
    (
        "Fukuoka SoftBank Hawks sign slugger on three-year deal",
        "The Fukuoka SoftBank Hawks have signed the outfielder on a contract worth ¥1.5bn. SoftBank Group owns the "
        "Hawks; owner Masayoshi Son attended the press conference.",
        NONE,
    ),
    (
        "Cloud firm Vireo, backed by SoftBank, raises $80m for edge computing",
        "Vireo, a cloud start-up whose investors include SoftBank, has raised $80m in a round led by Atlas Ventures. "
        "SoftBank did not take part in the round.",
        NONE,
    ),
    (
        "Anthropic raises $4 billion from Amazon",
        "Anthropic, the maker of the Claude AI chatbot, said it had raised $4 billion from Amazon, which takes a "
        "minority stake. The money will fund AI research and computing.",
        AI,
    ),
    (
        "Smart-home platform Hearthly acquired by Samsung for $300 million",
        "Samsung Electronics has agreed to acquire Hearthly, an IoT platform that connects smart home devices such "
        "as thermostats and locks, for $300 million. Hearthly's software runs on 20 million connected devices.",
        AI,
    ),
    (
        "Hyundai and Aptiv form $4bn autonomous driving joint venture",
        "Hyundai Motor Group and Aptiv will form a joint venture worth $4 billion to develop self-driving technology. "
        "Hyundai will invest $1.6 billion in cash. The venture aims to commercialise autonomous vehicles.",
        AI,
    ),
    (
        "OpenAI launches GPT-5 with better reasoning",
        "OpenAI released GPT-5 on Thursday, saying the AI model reasons better. OpenAI, which was valued at $300 "
        "billion in its last funding round, said more features would come.",
        NONE,
    ),
    (
        "Authors sue AI startup for $1 billion over training data",
        "A group of authors sued the AI startup, seeking $1 billion in damages for training its models on their "
        "books. The startup, which raised $500 million last year, will fight the lawsuit.",
        NONE,
    ),
    (
        "Hackers hijack 500,000 smart cameras to build botnet",
        "Hackers took over about 500,000 internet-connected cameras and IoT devices to launch attacks.",
        NONE,
    ),
    (
        "Review: the Nestor smart speaker is good value at $99",
        "The Nestor smart speaker costs $99 and works with most smart home devices. Should you buy it?",
        NONE,
    ),
    (
        "Fintech Lendro raises $200m Series C to expand in Europe",
        "Lendro, a lending platform for small businesses, raised $200m in a Series C round led by General Catalyst. "
        "The company uses machine learning to assess credit risk.",
        NONE,
    ),
    (
        "Chipmaker Axon invests $20bn in new Arizona fab",
        "Axon Semiconductor will invest $20 billion in a new chip factory in Arizona. The plant will make processors "
        "for cars and phones.",
        NONE,
    ),
]


@pytest.mark.parametrize(("title", "body", "expected"), STORIES, ids=[story[0][:40] for story in STORIES])
def test_hand_written_stories(rules: RuleSet, title: str, body: str, expected: set[str]) -> None:
    assert matched(rules, title, body) == expected
