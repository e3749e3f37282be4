"""Turn a fetched HTML page into a clean Article: the body text without boilerplate, plus its metadata."""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import courlan
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.settings import Document
from trafilatura.utils import detect_encoding, load_html
from w3lib.encoding import html_to_unicode

from crawler.article import Article, Skipped

try:  # language detection for pages that do not declare their language (optional dependency)
    import py3langid
except ImportError:  # pragma: no cover - without it, undeclared languages stay None
    py3langid = None

LOGGER = logging.getLogger(__name__)

# A body shorter than this is a stub (paywall teaser, error page, photo page), not an article.
MIN_BODY_CHARS = 300
# Pages larger than this are not news articles; parsing them would stall a worker.
MAX_HTML_CHARS = 10_000_000

_GZIP_MAGIC = b"\x1f\x8b"
# The attribute that marks boilerplate elements for trafilatura's prune step (after metadata extraction).
_DROP_ATTR = "data-newswatch-drop"
_PRUNE_XPATH = f"//*[@{_DROP_ATTR}]"


@dataclass(frozen=True)
class Cleanup:
    """Which boilerplate-cleanup groups run on top of trafilatura (all on by default).

    Switch groups off to measure what each one buys (see benchmarks/extraction.py).
    """

    structure: bool = True  # HTML: drop containers whose class/id/role mark them as page furniture
    headline: bool = True  # text: breadcrumb, repeated headline and byline at the top of the body
    blocks: bool = True  # text: "Related" / "Recent Posts" / "About the author" blocks and their lists
    lines: bool = True  # text: share, follow, subscribe, timestamp, caption-credit, copyright lines


DEFAULT_CLEANUP = Cleanup()
NO_CLEANUP = Cleanup(structure=False, headline=False, blocks=False, lines=False)


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _sniff_encoding(body: bytes) -> str | None:
    """Guess the encoding of an undeclared body: UTF-8 when it decodes, else charset detection."""
    guesses = detect_encoding(body)
    return guesses[0] if guesses else None


def decode_html(body: bytes, declared_encoding: str | None = None) -> str:
    """Decode an HTML body to text.

    Order of trust (w3lib, like a browser): byte-order mark, ``declared_encoding`` (the HTTP
    ``Content-Type`` charset), ``<meta charset>`` / XML declaration, detection, UTF-8.
    Undecodable bytes become U+FFFD; this never raises.
    """
    content_type = f"text/html; charset={declared_encoding}" if declared_encoding else None
    _, text = html_to_unicode(content_type, body, auto_detect_fun=_sniff_encoding)
    return text


def load_html_file(path: Path) -> str:
    """Read a saved page, plain or gzip-compressed (detected by its magic bytes), as text."""
    data = Path(path).read_bytes()
    if data.startswith(_GZIP_MAGIC):
        data = gzip.decompress(data)
    return decode_html(data)


# ---------------------------------------------------------------------------
# Structural cleanup (HTML, before trafilatura)
# ---------------------------------------------------------------------------

# Class/id names of page furniture, matched as whole dash-separated words of the normalised names
# ("td-post-sharing", "relatedPosts" -> "-td-post-sharing-related-posts-").
_FURNITURE_NAME = re.compile(
    r"-(?:"
    r"breadcrumbs?|bread-crumbs?|crumbs?|you-are-here"  # breadcrumbs
    r"|about-(?:the-)?authors?|author-?(?:bio|box|info|card|details|profile|description|block)"  # author boxes
    r"|bio-?box|contributor-bio"
    r"|related|recent-(?:posts|articles|stories|news)|more-(?:stories|articles|posts|news|from)"  # other stories
    r"|(?:most|top)-(?:read|popular|viewed|shared|stories)|popular-(?:posts|stories|articles)|trending"
    r"|read-(?:more|next|also)|also-read|further-reading|you-(?:may|might)-(?:also-)?like"
    r"|recommended|recommendations?|outbrain|taboola"
    r"|share|shares|sharing|sharebar|sharebuttons?|social|addthis|sharethis|sharedaddy"  # share bars
    r"|newsletters?|subscribe|subscription|sign-?up|opt-?in|mailchimp|mc4wp"  # newsletter prompts
    r"|comments?|disqus"  # comments
    r"|cookies?|consent|gdpr"  # cookie notices
    r"|print-(?:header|footer|only)|visible-print"  # print-only copies of page furniture
    r")-"
)
# WordPress adds taxonomy classes to the article itself ("category-social-media", "tag-newsletter").
_TAXONOMY_CLASS = re.compile(r"^(?:category|tag|tags|format|post|postid|type|status)-", re.IGNORECASE)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NAME_SEPARATORS = re.compile(r"[^a-z0-9]+")
_FURNITURE_ROLES = {"complementary", "navigation", "banner", "contentinfo", "search", "dialog", "alertdialog"}
_FURNITURE_LABEL = re.compile(r"\b(?:breadcrumb|related|share|sharing|social|newsletter|comments?)\b", re.I)
_NEVER_DROP = {"html", "body", "main"}
# Text runs shorter than this are labels, links or buttons, not paragraphs.
_MIN_RUN_CHARS = 40


def _normalised_names(classes: str, ident: str) -> str:
    """Class and id as one dash-framed lower-case name list: "td-post relatedPosts" -> "-td-post-related-posts-"."""
    kept = [name for name in classes.split() if not _TAXONOMY_CLASS.match(name)]
    raw = " ".join([*kept, ident])
    return "-" + _NAME_SEPARATORS.sub("-", _CAMEL.sub(r"\1-\2", raw).lower()).strip("-") + "-"


@lru_cache(maxsize=4096)
def _is_furniture_name(classes: str, ident: str) -> bool:
    names = _normalised_names(classes, ident)
    return names != "--" and _FURNITURE_NAME.search(names) is not None


def _main_container(root: HtmlElement) -> HtmlElement | None:
    """The element holding the most paragraph text directly: its <p> children, or its text runs
    between <br>s. Marking never removes it or its ancestors, whatever their names say
    ("entry-content read-more", "article js-breadcrumb")."""
    scores: dict[HtmlElement, int] = {}
    for paragraph in root.iter("p"):
        length = len(paragraph.text_content().strip())
        parent = paragraph.getparent()
        if parent is not None and length >= _MIN_RUN_CHARS:
            scores[parent] = scores.get(parent, 0) + length
    for line_break in root.iter("br"):
        length = len((line_break.tail or "").strip())
        parent = line_break.getparent()
        if parent is not None and length >= _MIN_RUN_CHARS:
            scores[parent] = scores.get(parent, 0) + length
    return max(scores, key=scores.__getitem__) if scores else None


def _is_link_list(element: HtmlElement) -> bool:
    """A list whose every item is just a link: a list of other stories."""
    items = [child for child in element if child.tag == "li"]
    if len(items) < 2:
        return False
    for item in items:
        text = _compact(item.text_content())
        linked = _compact("".join(link.text_content() for link in item.iter("a")))
        if not text or linked != text:
            return False
    return True


_CANDIDATES = XPath(".//*[@class or @id or @role or @aria-label or @itemtype] | .//figcaption | .//ul | .//ol")


def _is_furniture(element: HtmlElement) -> bool:
    """Whether the element is page furniture: named so by its class, id, role, aria-label or schema type;
    a figure caption; a list made only of links."""
    get = element.get
    classes, ident = get("class"), get("id")
    if (classes or ident) and _is_furniture_name(classes or "", ident or ""):
        return True
    label = get("aria-label")
    return (
        element.tag == "figcaption"
        or get("role") in _FURNITURE_ROLES
        or (label is not None and _FURNITURE_LABEL.search(label) is not None)
        or "BreadcrumbList" in (get("itemtype") or "")
        or (element.tag in ("ul", "ol") and _is_link_list(element))
    )


def mark_furniture(tree: HtmlElement) -> int:
    """Mark page furniture (breadcrumbs, author boxes, related lists, share bars, newsletter and
    comment blocks, cookie notices), lists of links and figure captions for pruning.
    Returns how many elements were marked.

    Elements are only marked, not removed, so trafilatura still reads metadata (author, date) from them.
    The element holding the article's paragraphs and its ancestors are never marked.
    """
    body = tree.find("body")
    root = body if body is not None else tree
    main = _main_container(root)
    protected = set() if main is None else {main, *main.iterancestors()}
    marked = 0
    for element in _CANDIDATES(root):
        if _is_furniture(element) and element.tag not in _NEVER_DROP and element not in protected:
            element.set(_DROP_ATTR, "1")
            marked += 1
    return marked


# ---------------------------------------------------------------------------
# Text cleanup (body lines, after trafilatura)
# ---------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?。！？…][\"”’»)\]]*\s*$")

# Breadcrumbs that survive as text: "You are at: APAC", "Home > News > Tech".
_BREADCRUMB = re.compile(r"^\W*(?:you are (?:at|here)\b|home\s*[>»›/|]\s*\w)", re.I)
# "By Jane Doe", "Written by Jane Doe and John Roe": a capitalised name after the word.
_BYLINE = re.compile(r"^\W*(?i:by|written by|posted by|von|por|par)\s+[A-Z]")
# Lines above the headline (kicker, category, breadcrumb) are at most this long.
_MAX_KICKER_WORDS = 6
# The headline is looked for in the first lines of the body only.
_HEADLINE_WINDOW = 5
# Shorter "headlines" ("Review", "News") are section labels, too loose to compare lines with.
_MIN_HEADLINE_CHARS = 12

# A label line that opens a list of links to other stories.
_BLOCK_LABEL = re.compile(
    r"^\W*(?:"
    r"recent (?:posts|articles|stories|news)"
    r"|related(?: (?:posts?|articles?|stories|content|news|coverage|reading|links))?"
    r"|(?:most )?popular(?: (?:posts|stories|articles|now|news))?|latest (?:news|posts|stories|articles|headlines)"
    r"|trending(?: (?:now|stories|news))?|more (?:from|stories|news|on|in|articles|to read|like this)\b.{0,40}"
    r"|most (?:read|viewed|popular|shared|commented)|(?:you|we think you) (?:may|might|will) (?:also )?(?:like|enjoy)"
    r"|recommended(?: (?:for you|stories|articles|reading))?|read (?:more|next|also)|see (?:also|more)|also read"
    r"|further reading|don[’']?t miss|what to read next|top stories|editor[’']?s picks|in other news|more"
    r")\W*$",
    re.I,
)
# The label of an author box; the name and a short bio follow it.
_AUTHOR_LABEL = re.compile(r"^\W*(?:about (?:the )?(?:author|writer)s?|author bio(?:graphy)?)\W*$", re.I)
_MAX_BIO_LINES = 3
_MAX_BIO_WORDS = 120
# A promo line pointing to another story: "Read more: Alibaba poised to ...", "Related: ...".
_PROMO_LINE = re.compile(
    r"^\W*(?:read (?:more|next|also)|related(?: (?:posts?|articles?|stories|links?|reading))?|see (?:more|also)"
    r"|also read|more|watch|listen|recommended"
    r"|also on [\w.]+|don[’']?t miss)\s*(?::|\||\s[–—-]\s)\s*\S",
    re.I,
)
# A sentence introducing the writer, typical of author boxes ("Jane is a freelance tech writer ...").
_BIO_LINE = re.compile(
    r"\b(?:is|was|has been) an? (?:[\w’'-]+ ){0,5}(?:writer|reporter|journalist|editor|correspondent"
    r"|contributor|freelancer?|columnist|author|blogger)\b|\b(?:covers|has covered|writes about)\b",
    re.I,
)

_RELATIVE_TIME = re.compile(
    r"^\W*(?:(?:updated|posted|published)\s*:?\s*)?(?:\d+|an?|one)\s*"
    r"(?:s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|months?|y|years?)\s+ago\W*$",
    re.I,
)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}[.:]\d{2}\s*[ap]\.?m\b", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_NUMBER = re.compile(r"^\d+$")
_MONTH_NAME = re.compile(
    r"^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*$|^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*$",
    re.I,
)
_TIMESTAMP_WORDS = re.compile(r"\b(?:updated|published|posted|am|pm|a\.m|p\.m|gmt|utc|[a-z]st|[a-z]dt)\b", re.I)
_READING_TIME = re.compile(r"^\W*(?:\d+\s*min(?:ute)?s?\s*(?:read|reading)\b|reading time\b)", re.I)
_SHARE_LINE = re.compile(
    r"^\W*(?:(?:share|tweet|email|e-mail|print|facebook|twitter|linkedin|whatsapp|pinterest|reddit|flipboard"
    r"|copy link|comment|comments|share this(?: article| story| post| page)?|share on \w+|click to \w+"
    r"|opens in a new window)[\W_]*)+$",
    re.I,
)
_SHARE_PROMPT = re.compile(
    r"\bshare (?:it|this(?: story| article| post)?) with (?:a friend|your friends|others)\b", re.I
)
_FOLLOW_LINE = re.compile(
    r"\bfollow (?:us|me|him|her|them|[\w@.’']+(?: [\w@.’']+){0,6}) on (?:twitter|facebook|instagram|linkedin|x\b)"
    r"|\bfollow @\w+|\blike us on facebook\b",
    re.I,
)
# Contact and credit lines: "Write to Jane at jane@example.com", "Reporting by ...; Editing by ...".
_CONTACT_LINE = re.compile(
    r"^\W*(?:write to|email|e-mail|contact|reach)\b.*(?:@|https?://)"
    r"|^\W*(?:\(?\s*)?(?:reporting|additional reporting|writing|editing|compiled) by\b"
    r"|\bcontributed (?:to )?this (?:report|story|article)\W*$"
    r"|^\W*(?:[\w.+-]+@[\w-]+\.[\w.]+|(?:https?://)?(?:www\.)?(?:twitter|x|facebook|instagram|linkedin)\.com/\S+)\W*$",
    re.I,
)
_NEWSLETTER_LINE = re.compile(
    r"\bnewsletters?\b|\bin(?:to)? your inbox\b|\bdownload (?:the|our) app\b"
    r"|\bdelivered (?:to|into) your inbox\b"
    r"|\b(?:sign up|subscribe)\b.{0,60}\b(?:e-?mails?|alerts|updates|briefing|digest|podcast)\b",
    re.I,
)
_COOKIE_LINE = re.compile(
    r"\bcookies?\b.*\b(?:website|site|browser|browsing|consent|accept|privacy|policy)\b"
    r"|\b(?:website|site|we) uses? cookies\b",
    re.I,
)
_CREDIT_LINE = re.compile(
    r"\b(?:image|photo|picture|pic|video|illustration)s?\s*(?:credit|courtesy|source|by)s?\s*:"
    r"|\((?:photo|image|picture|credit)s?\b[^)]*\)\s*$|\b(?:getty images|shutterstock|istock(?:photo)?)\b"
    r"|^\W*(?:photo|image|credit|source)\s*:",
    re.I,
)
_COPYRIGHT_LINE = re.compile(r"^\W*(?:©|ⓒ|\(c\)\s|copyright\b)|\ball rights reserved\b", re.I)
_COMMENT_LINE = re.compile(
    r"^\W*\d*\s*comments?\W*$|^\W*(?:leave|post|add|write) a (?:comment|reply)\b|\bcomments are closed\b"
    r"|^\W*(?:join|start) the (?:discussion|conversation)\b|^\W*tell us what you think\b",
    re.I,
)
_TAGS_LINE = re.compile(r"^\W*(?:tags?|topics?|filed under|categories|category)\s*:", re.I)
_FURNITURE_LINE = re.compile(
    r"^\W*(?:advertisement|sponsored(?: content)?|story continues below(?: advertisement)?|continue reading"
    r"|scroll to continue(?: with content)?|skip (?:to )?(?:content|ad)|tags?|topics?|comments?"
    r"|an error (?:has )?occurred\b.*|something went wrong\b.*|loading\W*|please enable javascript\b.*"
    r")\W*$",
    re.I,
)

# Short lines only: a long paragraph mentioning "subscribe" or "cookies" is body text.
_MAX_BOILERPLATE_WORDS = 30
_MAX_LIST_LINE_WORDS = 25
_MAX_TIMESTAMP_WORDS = 12


def _words(line: str) -> int:
    return len(_WORD.findall(line))


def _compact(text: str) -> str:
    """Lower-case letters and digits only, for loose comparisons ("YOU ARE AT:APAC…" vs the title)."""
    return "".join(_WORD.findall(text)).casefold()


def _is_prose(line: str) -> bool:
    """A sentence-like paragraph: long enough and ending like a sentence."""
    return _words(line) > _MAX_LIST_LINE_WORDS or (_words(line) >= 8 and _SENTENCE_END.search(line) is not None)


def _is_timestamp(line: str) -> bool:
    """A line that only dates the story: "2 days ago", "November 20, 2019 - 11:28 AMT", "Updated 1:23 p.m."."""
    if _RELATIVE_TIME.match(line) or _READING_TIME.match(line):
        return True
    tokens = _WORD.findall(line)
    if not tokens or len(tokens) > _MAX_TIMESTAMP_WORDS or line.startswith("|") or "@" in line:
        return False  # table rows; embedded-tweet signatures ("— Name (@handle) May 1, 2019") are quotes
    datelike = sum(1 for token in tokens if _NUMBER.match(token) or _MONTH_NAME.match(token))
    if _CLOCK.search(line):
        return bool(_YEAR.search(line) or _TIMESTAMP_WORDS.search(line)) or datelike * 2 >= len(tokens)
    return len(tokens) >= 2 and bool(_YEAR.search(line)) and datelike * 2 >= len(tokens)


def _is_list_line(line: str) -> bool:
    """A line of a headline list: a short headline, a teaser cut with an ellipsis, a time, a bullet."""
    if _is_timestamp(line):
        return True
    if line.rstrip().endswith(("…", "...")) and _words(line) <= _MAX_LIST_LINE_WORDS + 10:
        return True
    return not _is_prose(line)


def _matches_headline(line: str, headlines: Iterable[str]) -> bool:
    """Whether the line is the headline, loosely: with a glued breadcrumb before it ("YOU ARE AT:APAC…")
    or a site name after it in the <title>."""
    key = _compact(line)
    if len(key) < _MIN_HEADLINE_CHARS:
        return False
    for headline in headlines:
        title = _compact(headline)
        if not title:
            continue
        if key == title or (key.endswith(title) and len(key) - len(title) <= 40):
            return True
        if title.startswith(key) and len(key) >= 0.6 * len(title):
            return True
    return False


def _drop_headline(lines: list[str], headlines: list[str], description: str | None, author: str | None) -> list[str]:
    """Drop the headline repeated at the top of the body, with what sits above it (breadcrumb, kicker)
    and the standfirst under it when that is the page description; drop bylines and breadcrumbs."""
    author_key = _compact(author or "")
    exact = {key for key in map(_compact, headlines) if len(key) >= _MIN_HEADLINE_CHARS}
    position = next((i for i, line in enumerate(lines[:_HEADLINE_WINDOW]) if _matches_headline(line, headlines)), None)
    kept: list[str] = []
    for index, line in enumerate(lines):
        key = _compact(line)
        if position is not None and index < position and _words(line) <= _MAX_KICKER_WORDS:
            continue
        if index == position or key in exact:
            continue
        if index < _HEADLINE_WINDOW:
            if _BREADCRUMB.match(line) or (_BYLINE.match(line) and _words(line) <= 8):
                continue
            if author_key and key == author_key:
                continue
        if (
            position is not None
            and index == position + 1
            and description
            and key == _compact(description)
            and not _SENTENCE_END.search(line)
        ):
            continue
        kept.append(line)
    return kept


def _is_name_line(line: str) -> bool:
    """A line that could be a person's name: two to four capitalised words, nothing else."""
    words = line.split()
    return 2 <= len(words) <= 4 and all(word[:1].isupper() for word in words) and not _SENTENCE_END.search(line)


def _drop_author_box(lines: list[str], author: str | None) -> list[str]:
    """Drop a trailing author box: a short bio of the writer at the very end of the body, with the
    writer's name above it."""
    author_key = _compact(author or "")
    while len(lines) > 1:
        last = lines[-1]
        if author_key and _compact(last) == author_key:
            lines = lines[:-1]
        elif _words(last) <= 60 and _BIO_LINE.search(last):
            lines = lines[:-1]
            if len(lines) > 1 and _is_name_line(lines[-1]):
                lines = lines[:-1]
        else:
            break
    return lines


def _drop_blocks(lines: list[str], author: str | None) -> list[str]:
    """Drop labelled blocks ("Related", "Recent Posts", "Don't miss") with the headline list under them,
    author boxes ("About the author" with the name and bio), and one-line promos ("Read more: <headline>").
    """
    kept: list[str] = []
    skipping = False
    bio_lines = 0
    for line in lines:
        if _words(line) <= 10 and _AUTHOR_LABEL.match(line):
            bio_lines, skipping = _MAX_BIO_LINES, False
            continue
        if bio_lines and _words(line) <= _MAX_BIO_WORDS:
            bio_lines -= 1
            continue
        bio_lines = 0
        if _words(line) <= 10 and _BLOCK_LABEL.match(line):
            skipping = True
            continue
        if skipping and _is_list_line(line):
            continue
        skipping = False
        if _PROMO_LINE.match(line) and _words(line) <= _MAX_LIST_LINE_WORDS:
            continue
        kept.append(line)
    return _drop_author_box(kept, author)


_SHORT_LINE_PATTERNS = (
    _FOLLOW_LINE,
    _CONTACT_LINE,
    _NEWSLETTER_LINE,
    _COOKIE_LINE,
    _CREDIT_LINE,
    _COPYRIGHT_LINE,
    _SHARE_PROMPT,
)


def _is_boilerplate_line(line: str) -> bool:
    """A line that is page furniture wherever it appears (short lines only for the looser patterns)."""
    if _is_timestamp(line) or _SHARE_LINE.search(line) or _FURNITURE_LINE.match(line):
        return True
    if _COMMENT_LINE.search(line) or _TAGS_LINE.match(line):
        return True
    return _words(line) <= _MAX_BOILERPLATE_WORDS and any(p.search(line) for p in _SHORT_LINE_PATTERNS)


def _drop_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if not _is_boilerplate_line(line)]


@dataclass(frozen=True)
class PageFacts:
    """What the cleanup knows about the page besides its body."""

    headlines: tuple[str, ...] = ()  # the title and the page's <h1>s
    description: str | None = None
    author: str | None = None


def clean_body(text: str, facts: PageFacts, cleanup: Cleanup = DEFAULT_CLEANUP) -> str:
    """Remove the boilerplate trafilatura left in a body: one paragraph per line in, and out."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if _WORD.search(line)]
    if cleanup.headline:
        lines = _drop_headline(lines, list(facts.headlines), facts.description, facts.author)
    if cleanup.lines:
        lines = _drop_lines(lines)
    if cleanup.blocks:
        lines = _drop_blocks(lines, facts.author)
    return "\n".join(lines)


def _page_headlines(tree: HtmlElement, title: str) -> tuple[str, ...]:
    """The headline as the page spells it: metadata title, first <h1>, og:title."""
    found: list[str] = [title] if title else []
    heading = next(tree.iter("h1"), None)  # the first only: some sites use <h1> for every section
    if heading is not None:
        found.append(" ".join("".join(heading.itertext()).split()))
    found += tree.xpath("//meta[@property='og:title']/@content")[:1]
    return tuple(headline for headline in found if headline)


# ---------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------

_LANG_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.I)
_ERROR_TITLE = re.compile(
    r"^\W*(?:(?:error\s*)?(?:400|401|403|404|410|500|502|503)\b|page not found\b|not found\W*$|access denied\b)", re.I
)
_MIN_LANGID_CHARS = 100


def _date_params() -> dict[str, object]:
    """htmldate options: publication (not modification) date; accept dates up to tomorrow (UTC), since
    htmldate's default limit is today in the server's time zone, which rejects fresh east-Asian stories."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    return {
        "original_date": True,
        "extensive_search": True,
        "max_date": tomorrow,
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",  # keep the time and offset when the page states them
    }


def _parse_date(value: str | None) -> datetime | None:
    """trafilatura's date as an aware UTC datetime; a date without a time (or offset) counts as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _primary_language(tag: str | None) -> str | None:
    """ "en-US" / "pt_BR" / "EN" -> "en"; None for anything that is not a language tag."""
    match = _LANG_TAG.match((tag or "").strip())
    return match.group(1).lower() if match else None


def _declared_language(tree: HtmlElement) -> str | None:
    """The language the page declares: <html lang>, then Content-Language, then og:locale."""
    candidates: list[str | None] = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += tree.xpath(
        "//meta[translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')='content-language']/@content"
        "|//meta[@property='og:locale']/@content"
    )
    for candidate in candidates:
        language = _primary_language(candidate)
        if language:
            return language
    return None


def _detect_language(text: str) -> str | None:
    if py3langid is None or len(text) < _MIN_LANGID_CHARS:
        return None
    language, _score = py3langid.classify(text[:5000])
    return str(language)


def _registrable_domain(url: str) -> str | None:
    return courlan.extract_domain(url)


def _normalise_url(url: str) -> str:
    """courlan's normalisation (lower-case host, no default port, sorted query, no trackers), no fragment."""
    try:
        return urldefrag(courlan.normalize_url(url)).url
    except ValueError:
        return url


def _web_url(url: str | None) -> str | None:
    """The URL if it is a well-formed http(s) URL, else None."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _canonical_url(tree: HtmlElement, url: str | None) -> str | None:
    """The page's <link rel=canonical> when it is on the same registrable domain as ``url``, else ``url``;
    normalised. Without a page URL the canonical is taken as it is."""
    hrefs: list[str] = tree.xpath(
        "//link[contains(concat(' ', translate(normalize-space(@rel), 'CANONICAL', 'canonical'), ' '),"
        " ' canonical ')]/@href"
    )
    href = hrefs[0].strip() if hrefs else ""
    try:
        canonical = _web_url(urljoin(url or "", href)) if href else None
    except ValueError:
        canonical = None
    if canonical and url and _registrable_domain(canonical) != _registrable_domain(url):
        LOGGER.info("ignoring canonical %s on another domain: %s", canonical, url)
        canonical = None
    chosen = canonical or url
    return _normalise_url(chosen) if chosen else None


# ---------------------------------------------------------------------------
# Page checks
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_HTML_TAG = re.compile(r"<(?:!doctype|html|head|body|div|p|article|main|section|span|h[1-6]|title|meta|table)\b", re.I)
_MAX_CONTROL_SHARE = 0.05


def _unusable_reason(html: object) -> str | None:
    """Why the input cannot be an HTML page, if it cannot."""
    if not isinstance(html, str) or not html.strip():
        return "empty page"
    if len(html) > MAX_HTML_CHARS:
        return f"page too large ({len(html)} chars)"
    head = html[:8192]
    if len(_CONTROL.findall(head)) > _MAX_CONTROL_SHARE * len(head) or not _HTML_TAG.search(html[:100_000]):
        return "not HTML"
    return None


_ARTICLE_TYPES = re.compile(r"article|posting|blog|report|story", re.I)
# Index pages: the site root, "/category/apac/", "/tag/iot/", "/author/jane/", "/news/page/2/".
_LISTING_PATH = re.compile(
    r"^/*$|/(?:tags?|topics?|category|categories|authors?|archives?|page|search|sections?)(?:/[^/]+)?/*$", re.I
)
_SLUG_SEPARATORS = re.compile(r"[-_]+")
# The last path segment of an article URL is usually a slug of words ("softbank-plans-to-invest-in-korea").
_MIN_SLUG_WORDS = 4
_HEADLINE_LINKS = XPath("count(//h1//a[@href] | //h2//a[@href] | //h3//a[@href] | //h4//a[@href])")
_MIN_HEADLINE_LINKS = 5
_PROSE_END = re.compile(r"[.!?。！？;:\"”’»)]\s*$")
_MIN_PROSE_SHARE = 0.5


def _prose_share(lines: list[str]) -> float:
    """Share of the body's characters in sentence-like paragraphs (not headlines, teasers or labels)."""
    total = sum(len(line) for line in lines)
    prose = sum(len(line) for line in lines if (len(line) >= 60 and _PROSE_END.search(line)) or len(line) >= 200)
    return prose / total if total else 0.0


def _listing_reason(tree: HtmlElement, url: str | None, pagetype: str | None, text: str) -> str | None:
    """Why the page is a listing (home, section, tag or author page) rather than an article, if it is.

    A page that calls itself an article (og:type, JSON-LD) never is. Otherwise an index URL is enough;
    on other URLs without an article slug, the body must be headlines and teasers on a page full of
    headline links.
    """
    if pagetype and _ARTICLE_TYPES.search(pagetype):
        return None
    path = urlsplit(url).path if url else ""
    if url and _LISTING_PATH.search(path):
        return "listing page (index URL)"
    slug = path.rstrip("/").rpartition("/")[2]
    if len(_SLUG_SEPARATORS.split(slug)) >= _MIN_SLUG_WORDS or _prose_share(text.splitlines()) >= _MIN_PROSE_SHARE:
        return None
    if _HEADLINE_LINKS(tree) >= _MIN_HEADLINE_LINKS:
        return "listing page (headline links, no article body)"
    return None


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _skip(url: str, reason: str) -> Skipped:
    LOGGER.info("skipped %s: %s", url, reason)
    return Skipped(url, reason)


def _run_trafilatura(html: str, url: str | None, cleanup: Cleanup) -> tuple[HtmlElement, Document] | str:
    """Parse the page, mark its furniture and run trafilatura once (body and metadata): the parsed tree
    and trafilatura's document, or why there is none."""
    tree = load_html(html)
    if tree is None:
        return "not HTML"
    if cleanup.structure:
        mark_furniture(tree)
    document = bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        favor_precision=True,
        include_comments=False,
        date_extraction_params=_date_params(),
        prune_xpath=_PRUNE_XPATH if cleanup.structure else None,
    )
    if not isinstance(document, Document) or not document.text or not document.text.strip():
        return "no article body"
    return tree, document


def extract_page(html: str, url: str | None = None, *, cleanup: Cleanup = DEFAULT_CLEANUP) -> Article | Skipped:
    """Extract the article of one page, or say why the page is not one.

    Never raises on hostile input (garbage, binary, empty, huge): such pages come back as Skipped.
    trafilatura reads the decoded text only; it never fetches anything. ``url`` is the address the page
    was fetched from (None for a saved file).
    """
    page_url = url or ""
    web_url = _web_url(url)
    if url and not web_url:
        LOGGER.info("not an http(s) URL, extracting without it: %r", url)
    reason = _unusable_reason(html)
    if reason:
        return _skip(page_url, reason)
    # libxml2 reads a NUL as the end of the document (the rest of the body would be lost), PostgreSQL text
    # refuses it, and a lone surrogate cannot be encoded at all: none of them survive past here.
    html = _UNSTORABLE.sub("", html)
    try:
        extracted = _run_trafilatura(html, web_url, cleanup)
    except Exception:  # a hostile page must not stop the crawl: log it and skip it
        LOGGER.exception("extraction failed: %s", page_url)
        return Skipped(page_url, "extraction failed")
    if isinstance(extracted, str):
        return _skip(page_url, extracted)
    tree, document = extracted
    title = (document.title or "").strip()
    if _ERROR_TITLE.match(title):
        return _skip(page_url, f"error page ({title[:60]})")
    facts = PageFacts(_page_headlines(tree, title), document.description, document.author)
    text = clean_body(document.text or "", facts, cleanup)
    if len(text) < MIN_BODY_CHARS:
        return _skip(page_url, f"body too short ({len(text)} chars)")
    listing = _listing_reason(tree, web_url, document.pagetype, text)
    if listing:
        return _skip(page_url, listing)
    return Article(
        url=page_url,
        canonical_url=_canonical_url(tree, web_url) or page_url,
        title=title,
        text=text,
        author=document.author or None,
        published=_parse_date(document.date),
        language=_declared_language(tree) or _detect_language(text),
        sitename=document.sitename or None,
    )


def extract_article(html: str, url: str | None = None) -> Article | None:
    """The article of one page, or None when the page is not an article (see extract_page)."""
    result = extract_page(html, url)
    return result if isinstance(result, Article) else None


def extract_text(html: str, url: str) -> str | None:
    """The clean body text only, or None: the adapter the extraction benchmark scores."""
    result = extract_page(html, url)
    return result.text if isinstance(result, Article) else None


_WARM_UP_PAGE = (
    "<html lang='en'><head><title>Warm-up</title><meta name='author' content='A. Writer'>"
    "<meta property='article:published_time' content='2024-01-02T03:04:05Z'></head><body><article>"
    "<h1>Warm-up</h1>" + "<p>A sentence of plain English text, long enough to be read as a paragraph.</p>" * 12
    + "</article></body></html>"
)


def warm_up() -> None:
    """Load what extraction otherwise loads on its first page (the language model, parsers' tables), so that
    processes forked after this share it instead of each loading a copy."""
    if py3langid is not None:
        py3langid.classify("A sentence of plain English text for the language model.")
    extract_page(_WARM_UP_PAGE, "https://warm-up.invalid/article")
