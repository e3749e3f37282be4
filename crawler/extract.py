"""Turn a fetched HTML page into a clean Article: the body text without boilerplate, plus its metadata."""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import courlan
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.utils import detect_encoding, load_html
from w3lib.encoding import html_to_unicode

from crawler.article import Article, Skipped

try:  # optional: language detection when the page does not declare its language
    import py3langid
except ImportError:  # pragma: no cover - py3langid is a declared dependency
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
    repeats: bool = True  # text: lines that repeat an earlier line (captions, pull quotes)


DEFAULT_CLEANUP = Cleanup()
NO_CLEANUP = Cleanup(structure=False, headline=False, blocks=False, lines=False, repeats=False)


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

# Class/id names of page furniture, matched on whole dash-separated words of the normalised name
# ("td-post-sharing", "relatedPosts" -> "related-posts").
_FURNITURE_NAME = re.compile(
    r"-(?:"
    r"bread-?crumbs?|crumbs?|you-are-here"
    r"|about-(?:the-)?authors?|author-?(?:bio|box|info|card|details|profile|description|block)"
    r"|bio-?box|contributor-bio"
    r"|related(?:-[a-z]+)?|recent-(?:posts|articles|stories|news)|more-(?:stories|articles|posts|news|from)"
    r"|(?:most|top)-(?:read|popular|viewed|shared|stories)|popular-(?:posts|stories|articles)|trending"
    r"|read-(?:more|next|also)|also-read|further-reading|you-(?:may|might)-(?:also-)?like"
    r"|recommended|recommendations?|outbrain|taboola"
    r"|share|shares|sharing|share-?(?:bar|buttons?|tools|links|icons)|social(?:-[a-z]+)?"
    r"|addthis|sharethis|sharedaddy"
    r"|newsletters?|subscribe|subscription|sign-?up|opt-?in|mailchimp|mc4wp"
    r"|comments?|disqus"
    r"|cookies?|consent|gdpr"
    r"|print-(?:header|footer|only)|visible-print"
    r")-"
)
# WordPress adds taxonomy classes to the article itself ("category-social-media", "tag-newsletter").
_TAXONOMY_CLASS = re.compile(r"^(?:category|tag|tags|format|post|postid|type|status)-", re.IGNORECASE)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NAME_SEPARATORS = re.compile(r"[^a-z0-9]+")
_FURNITURE_ROLES = {"complementary", "navigation", "banner", "contentinfo", "search", "dialog", "alertdialog"}
_FURNITURE_LABEL = re.compile(r"\b(?:breadcrumb|related|share|sharing|social|newsletter|comments?)\b", re.I)
_NEVER_DROP = {"html", "body", "main"}
# An element holding this share of the page's paragraph text is the content, whatever its name says
# ("entry-content read-more", "article js-breadcrumb").
_MAX_DROP_SHARE = 0.3
_MIN_PARAGRAPH_CHARS = 100


def _normalised_names(element: HtmlElement) -> str:
    """The element's class and id as one dash-framed lower-case name list ("-related-posts-widget-")."""
    classes = [c for c in (element.get("class") or "").split() if not _TAXONOMY_CLASS.match(c)]
    raw = " ".join([*classes, element.get("id") or ""])
    return "-" + _NAME_SEPARATORS.sub("-", _CAMEL.sub(r"\1-\2", raw).lower()).strip("-") + "-"


def _is_furniture(element: HtmlElement) -> bool:
    """Whether the element's class, id, role or aria-label name it as page furniture."""
    if element.get("role") in _FURNITURE_ROLES:
        return True
    label = element.get("aria-label")
    if label and _FURNITURE_LABEL.search(label):
        return True
    if "BreadcrumbList" in (element.get("itemtype") or ""):
        return True
    names = _normalised_names(element)
    return names != "--" and _FURNITURE_NAME.search(names) is not None


def _text_length(element: HtmlElement) -> int:
    return len("".join(element.itertext()).strip())


def _paragraph_chars(element: HtmlElement) -> int:
    """Characters in the element's real paragraphs (<p> of 100+ characters)."""
    lengths = (_text_length(paragraph) for paragraph in element.iter("p"))
    return sum(length for length in lengths if length >= _MIN_PARAGRAPH_CHARS)


def mark_furniture(tree: HtmlElement) -> int:
    """Mark page furniture (breadcrumbs, author boxes, related lists, share bars, newsletter and
    comment blocks, cookie notices) for pruning, and figure captions. Returns how many were marked.

    Elements are only marked, not removed, so trafilatura still reads metadata (author, date) from them.
    """
    body = tree.find("body")
    root = body if body is not None else tree
    total = _paragraph_chars(root)
    marked = 0
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag in _NEVER_DROP:
            continue
        if element.tag == "figcaption" or _is_furniture(element):
            if total and _paragraph_chars(element) > _MAX_DROP_SHARE * total:
                continue
            element.set(_DROP_ATTR, "1")
            marked += 1
    return marked


# ---------------------------------------------------------------------------
# Text cleanup (body lines, after trafilatura)
# ---------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?。！？…\"”’»)\]]\s*$")

# Breadcrumbs that survive as text: "You are at: APAC", "Home > News > Tech".
_BREADCRUMB = re.compile(r"^\W*(?:you are (?:at|here)\b|home\s*[>»›/|]\s*\w)", re.I)
_BYLINE = re.compile(r"^\W*(?:by|written by|posted by|von|por|par)\s+\w", re.I)

# A label line that opens a block of links or an author box.
_BLOCK_LABEL = re.compile(
    r"^\W*(?:"
    r"recent (?:posts|articles|stories|news)|related(?: (?:posts?|articles?|stories|content|news|coverage|reading|links))?"
    r"|(?:most )?popular(?: (?:posts|stories|articles|now|news))?|latest (?:news|posts|stories|articles|headlines)"
    r"|trending(?: (?:now|stories|news))?|more (?:from|stories|news|on|in|articles|to read|like this)\b.{0,40}"
    r"|most (?:read|viewed|popular|shared|commented)|(?:you|we think you) (?:may|might|will) (?:also )?(?:like|enjoy)"
    r"|recommended(?: (?:for you|stories|articles|reading))?|read (?:more|next|also)|see (?:also|more)|also read"
    r"|further reading|don[’']?t miss|what to read next|top stories|editor[’']?s picks|in other news"
    r"|about (?:the )?(?:author|writer)s?|author bio"
    r")\W*$",
    re.I,
)
# A promo line pointing to another story: "Read more: Alibaba poised to ...", "Related: ...".
_PROMO_LINE = re.compile(
    r"^\W*(?:read (?:more|next|also)|related|see (?:more|also)|also read|more|watch|listen|recommended"
    r"|also on [\w.]+|don[’']?t miss)\s*[:|–—-]\s*\S",
    re.I,
)
_RELATIVE_TIME = re.compile(
    r"^\W*(?:(?:updated|posted|published)\s*:?\s*)?(?:\d+|an?|one)\s*"
    r"(?:s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|months?|y|years?)\s+ago\W*$",
    re.I,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_ONLY = re.compile(
    r"^\W*(?:(?:published|updated|posted|last updated)\s*(?:on|at)?\s*:?\s*)?(?:[a-z]+day,?\s*)?(?:"
    r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.+-]+Z?)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
    rf"|{_MONTH} \d{{1,2}},? \d{{4}}|\d{{1,2}} {_MONTH},? \d{{4}}"
    r")(?:,?\s*(?:at\s*)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?\W*$",
    re.I,
)
_SHARE_LINE = re.compile(
    r"^\W*(?:(?:share|tweet|email|e-mail|print|facebook|twitter|linkedin|whatsapp|pinterest|reddit|flipboard"
    r"|copy link|comment|comments|share this(?: article| story| post| page)?|share on \w+|click to \w+"
    r"|opens in a new window)[\W_]*)+$",
    re.I,
)
_FOLLOW_LINE = re.compile(
    r"\bfollow (?:us|me|him|her|them|[\w@.]+(?: [\w@.]+)?) on (?:twitter|facebook|instagram|linkedin|x\b)"
    r"|\bfollow @\w+|\blike us on facebook\b",
    re.I,
)
_NEWSLETTER_LINE = re.compile(
    r"\b(?:sign up|signing up|subscribe|subscribing|newsletters?|in(?:to)? your inbox|download (?:the|our) app)\b",
    re.I,
)
_COOKIE_LINE = re.compile(r"\bcookies?\b.*\b(?:use|uses|accept|consent|policy|browsing|experience)\b", re.I)
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
    r"|scroll to continue(?: with content)?|skip (?:to )?(?:content|ad)|tags?|topics?|comments?)\W*$",
    re.I,
)
# A sentence introducing the writer, typical of author boxes ("Jane is a freelance tech writer ...").
_BIO_LINE = re.compile(
    r"\b(?:is|was|has been) an? (?:[\w’'-]+ ){0,5}(?:writer|reporter|journalist|editor|correspondent"
    r"|contributor|freelancer?|columnist|author|blogger)\b|\b(?:covers|has covered|writes about)\b",
    re.I,
)

# Short lines only: a long paragraph mentioning "subscribe" or "cookies" is body text.
_MAX_BOILERPLATE_WORDS = 30
_MAX_LIST_LINE_WORDS = 25
# Blocks that start this late in the body are taken to run to its end (author box, sidebar lists).
_TAIL_SHARE = 0.5


def _words(line: str) -> int:
    return len(_WORD.findall(line))


def _compact(text: str) -> str:
    """Lower-case letters and digits only, for loose comparisons ("YOU ARE AT:APAC…" vs the title)."""
    return "".join(_WORD.findall(text)).casefold()


def _is_prose(line: str) -> bool:
    """A sentence-like paragraph: long enough and ending like a sentence."""
    return _words(line) > _MAX_LIST_LINE_WORDS or (_words(line) >= 8 and _SENTENCE_END.search(line) is not None)


def _is_list_line(line: str) -> bool:
    """A line of a headline list: a short headline, a teaser cut with an ellipsis, a time, a bullet."""
    if _RELATIVE_TIME.match(line) or _DATE_ONLY.match(line):
        return True
    if line.rstrip().endswith(("…", "...")) and _words(line) <= _MAX_LIST_LINE_WORDS + 10:
        return True
    return not _is_prose(line)


def _drop_headline(lines: list[str], title: str | None, author: str | None) -> list[str]:
    """Drop the breadcrumb, the repeated headline and the byline from the first lines."""
    title_key = _compact(title or "")
    author_key = _compact(author or "")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index < 4 and not kept:
            key = _compact(line)
            if _BREADCRUMB.match(line):
                continue
            if (
                title_key
                and len(key) >= 12
                and (
                    key == title_key
                    or (key.endswith(title_key) and len(key) - len(title_key) <= 40)
                    or (title_key.startswith(key) and len(key) >= 0.6 * len(title_key))
                )
            ):
                continue
            if author_key and (key == author_key or (_BYLINE.match(line) and author_key in key)):
                continue
            if _BYLINE.match(line) and _words(line) <= 8:
                continue
        kept.append(line)
    return kept


def _drop_blocks(lines: list[str], author: str | None) -> list[str]:
    """Drop labelled blocks ("Related", "Recent Posts", "About the author") with the list under them,
    and one-line promos ("Read more: <headline>"). A label in the second half of the body cuts the tail.
    """
    total = sum(len(line) for line in lines) or 1
    kept: list[str] = []
    position = 0
    skipping = False
    for line in lines:
        position += len(line)
        if _BLOCK_LABEL.match(line) and _words(line) <= 10:
            if (position - len(line)) / total >= _TAIL_SHARE:
                break
            skipping = True
            continue
        if skipping and _is_list_line(line):
            continue
        skipping = False
        if _PROMO_LINE.match(line) and _words(line) <= _MAX_LIST_LINE_WORDS:
            continue
        kept.append(line)
    return _drop_author_box(kept, author)


def _drop_author_box(lines: list[str], author: str | None) -> list[str]:
    """Drop a trailing author box: the writer's name and a short bio at the very end of the body."""
    author_key = _compact(author or "")
    while lines:
        last = lines[-1]
        key = _compact(last)
        if (author_key and key == author_key) or (_words(last) <= 60 and _BIO_LINE.search(last) and len(lines) > 1):
            lines = lines[:-1]
        else:
            break
    return lines


def _is_boilerplate_line(line: str) -> bool:
    """A short line that is page furniture wherever it appears."""
    if _RELATIVE_TIME.match(line) or _DATE_ONLY.match(line) or _SHARE_LINE.match(line):
        return True
    if _FURNITURE_LINE.match(line) or _COMMENT_LINE.search(line) or _TAGS_LINE.match(line):
        return True
    if _words(line) > _MAX_BOILERPLATE_WORDS:
        return False
    return any(
        pattern.search(line)
        for pattern in (_FOLLOW_LINE, _NEWSLETTER_LINE, _COOKIE_LINE, _CREDIT_LINE, _COPYRIGHT_LINE)
    )


def _drop_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if not _is_boilerplate_line(line)]


def _drop_repeats(lines: list[str]) -> list[str]:
    """Drop a line of three words or more that repeats an earlier one (captions, pull quotes)."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in lines:
        key = _compact(line)
        if _words(line) >= 3 and key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return kept


def clean_body(text: str, title: str | None, author: str | None, cleanup: Cleanup = DEFAULT_CLEANUP) -> str:
    """Remove the boilerplate trafilatura left in a body: one paragraph per line in, and out."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if _WORD.search(line)]
    steps: list[tuple[bool, Callable[[list[str]], list[str]]]] = [
        (cleanup.headline, lambda ls: _drop_headline(ls, title, author)),
        (cleanup.lines, _drop_lines),
        (cleanup.blocks, lambda ls: _drop_blocks(ls, author)),
        (cleanup.repeats, _drop_repeats),
    ]
    for enabled, step in steps:
        if enabled:
            lines = step(lines)
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------

_LANG_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.I)
_ERROR_TITLE = re.compile(r"^\W*(?:404|403|410|500|error|page not found|not found|access denied)\b", re.I)
_MIN_LANGID_CHARS = 100


def _date_params() -> dict[str, object]:
    """htmldate options: publication (not modification) date; accept dates up to tomorrow (UTC), since
    htmldate's default limit is today in the server's time zone, which rejects fresh east-Asian stories."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    return {"original_date": True, "extensive_search": True, "max_date": tomorrow}


def _parse_date(value: str | None) -> datetime | None:
    """trafilatura's date ("YYYY-MM-DD") as midnight UTC."""
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


def _canonical_url(tree: HtmlElement, url: str | None) -> str:
    """The page's <link rel=canonical> when it is on the same registrable domain as ``url``, else ``url``."""
    hrefs: list[str] = tree.xpath(
        "//link[contains(concat(' ', translate(normalize-space(@rel), 'CANONICAL', 'canonical'), ' '),"
        " ' canonical ')]/@href"
    )
    page_url = url or ""
    canonical = urljoin(page_url, hrefs[0].strip()) if hrefs and hrefs[0].strip() else ""
    if urlsplit(canonical).scheme not in ("http", "https"):
        canonical = ""
    if canonical and page_url:
        if _registrable_domain(canonical) != _registrable_domain(page_url):
            LOGGER.info("ignoring canonical %s on another domain: %s", canonical, page_url)
            canonical = ""
    chosen = canonical or page_url
    return _normalise_url(chosen) if chosen else ""


# ---------------------------------------------------------------------------
# Page checks
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")
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


def _listing_reason(lines: Iterable[str]) -> str | None:
    """A body made of headlines and teasers rather than paragraphs is a listing page."""
    lines = list(lines)
    prose = sum(len(line) for line in lines if _is_prose(line) and not line.rstrip().endswith(("…", "...")))
    total = sum(len(line) for line in lines) or 1
    if len(lines) >= 8 and prose / total < 0.4:
        return "listing page (headlines, no article body)"
    return None


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def extract_page(html: str, url: str | None = None, *, cleanup: Cleanup = DEFAULT_CLEANUP) -> Article | Skipped:
    """Extract the article of one page, or say why the page is not one.

    Never raises on hostile input (garbage, binary, empty, huge): such pages come back as Skipped.
    trafilatura reads the decoded text only; it never fetches anything.
    """
    page_url = url or ""
    reason = _unusable_reason(html)
    if reason:
        LOGGER.info("skipped %s: %s", page_url, reason)
        return Skipped(page_url, reason)
    try:
        tree = load_html(html)
        if tree is None:
            return Skipped(page_url, "not HTML")
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
    except Exception:  # hostile pages must not stop the crawl: log and skip
        LOGGER.exception("extraction failed: %s", page_url)
        return Skipped(page_url, "extraction failed")
    if document is None or not isinstance(document.text, str) or not document.text.strip():
        LOGGER.info("skipped %s: no article body", page_url)
        return Skipped(page_url, "no article body")
    title = (document.title or "").strip()
    if _ERROR_TITLE.match(title):
        return Skipped(page_url, f"error page ({title[:60]})")
    text = clean_body(document.text, title, document.author, cleanup)
    if len(text) < MIN_BODY_CHARS:
        LOGGER.info("skipped %s: body too short (%d chars)", page_url, len(text))
        return Skipped(page_url, f"body too short ({len(text)} chars)")
    listing = _listing_reason(text.splitlines())
    if listing:
        LOGGER.info("skipped %s: %s", page_url, listing)
        return Skipped(page_url, listing)
    return Article(
        url=page_url,
        canonical_url=_canonical_url(tree, url),
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
