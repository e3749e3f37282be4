"""Hostile content never becomes live markup on the review pages, and the exports stay plain data.

About a hundred classic payloads are stored wherever the crawler or a reader puts text (titles, bodies, URLs,
authors, site ids and names, rule ids and names, terms, snippets, amounts, notes, crawl errors, alert
recipients) and sent as every query parameter and as the list a verdict form comes from. Each page is parsed
with html5lib and must hold only the application's own markup: its two scripts (htmx, the keys) in the head,
no event-handler or style attribute, no link, source or form target with a script scheme, no element outside
the application's own set, htmx attributes only on the application's forms, and no template expression
evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree.ElementTree import Element

import html5lib
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crawler.alerts.recorder import AlertSetup
from crawler.article import Amount, Article, Hit, Match
from crawler.config import Config, RuleConfig, RulesConfig, SiteConfig
from crawler.models import AlertRow, ArticleRow, OutboxAlertRow, OutboxRow
from crawler.store import finish_run, open_database, save_article, start_run
from tests.web_data import BASE, form_token, web_client, web_settings

# --------------------------------------------------------------------------- the payloads

TEMPLATE_PAYLOADS = [
    "tpl[{{7*7}}]",
    "tpl[{{ 7*191 }}]",
    "tpl[{{7*'7'}}]",
    "tpl[${7*7}]",
    "tpl[#{7*7}]",
    "tpl[<%= 7*7 %>]",
    "tpl[{% print(7*7) %}]",
    "tpl[{{ config }}] tpl[{{ request }}] tpl[{{ self.__init__.__globals__ }}]",
    "tpl[{{ csrf_token }}]",
    "{% raw %}tpl[{{7*7}}]{% endraw %}",
]
# What an evaluated template expression above would have produced.
EVALUATED = ("tpl[49]", "tpl[1337]", "tpl[7777777]", "<Config", "<starlette")

URL_PAYLOADS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "\x00javascript:alert(1)",
    "javascript\x00:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript&colon;alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x.js",
    "http:javascript:alert(1)",
    'https://evil.example/"><script>alert(1)</script>',
    "https://evil.example/' onmouseover='alert(1)",
    "https://evil.example/?q=<img src=x onerror=alert(1)>",
    "https://evil.example\\@good.example/",
    "https://evil.example/\u202egnp.exe",
    "  https://fine.example/news/1  ",
]

MARKUP_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    "<img src=x onerror=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    '"/><img/src/onerror=alert(1)>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    '"autofocus onfocus=alert(1) x="',
    '<a href="javascript:alert(1)">click</a>',
    "<a href=javascript&colon;alert(1)>x</a>",
    '<a href="&#106;avascript:alert(1)">x</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</code></details><script>alert(1)</script>",
    "</option></select><script>alert(1)</script>",
    "</mark><script>alert(1)</script><mark>",
    "<mark onclick=alert(1)>x</mark>",
    "<mark><img src=x onerror=alert(1)></mark>",
    "<mark>unbalanced",
    "</mark></mark></mark>",
    "<!--",
    "-->",
    "<!-- <script>alert(1)</script> -->",
    "--!><script>alert(1)</script>",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<iframe src=javascript:alert(1)>",
    "<object data=javascript:alert(1)>",
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">',
    "<embed src=javascript:alert(1)>",
    "<base href=//evil.example/>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<meta name="htmx-config" content=\'{"allowEval": true}\'>',
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<button formaction=javascript:alert(1)>x</button>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<isindex action=javascript:alert(1) type=image>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<xmp><script>alert(1)</script></xmp>",
    "<plaintext>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<scr\x00ipt>alert(1)</scr\x00ipt>",
    "\x00<script>alert(1)</script>",
    '<x hx-get="/logout" hx-trigger="load">htmx</x>',
    '<div hx-post="/stories/1/triage" hx-vals=\'{"state":"relevant"}\' hx-trigger=load>x</div>',
    '<div data-hx-get="/stories" data-hx-trigger="load">x</div>',
    "<div hx-on:click=alert(1)>x</div>",
    "＜script＞alert(1)＜/script＞",
    "\ufe64script\ufe65alert(1)\ufe64/script\ufe65",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "';alert(1);//",
    '";alert(1);//',
    "`${alert(1)}`",
    "\r\n\r\n<script>alert(1)</script>",
    "line one\nline two <b>bold</b>\n\n<i>third</i>",
]

TEXT_PAYLOADS = [
    "\u202eevil\u202c text",
    "\u2066\u2067\u2068 isolates \u2069",
    "zero\u200bwidth\u200d\ufeffjoiners",
    "e\u0301\u0301\u0301 combining",
    "\U0001f4a9 astral \U0001d54f",
    "\x1b[31mred\x1b[0m terminal",
    "null\x00byte",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "",
    " ",
    "x" * 20_000 + "<script>alert(1)</script>",
    "<b>" * 5_000,
]

PAYLOADS = [*MARKUP_PAYLOADS, *TEMPLATE_PAYLOADS, *URL_PAYLOADS, *TEXT_PAYLOADS]
assert len(PAYLOADS) >= 100 and len(set(PAYLOADS)) == len(PAYLOADS)

HOSTILE_SITE_IDS = [
    '<script>alert("site")</script>',
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "tpl[{{7*7}}]",
    "=cmd|' /C calc'!A0",
    "\u202eetis",
    "</option><script>alert(1)</script>",
]
HOSTILE_RULE_IDS = [
    '<script>alert("rule")</script>',
    '" onmouseover="alert(1)',
    "javascript:alert(1)",
    "tpl[{{7*7}}]",
    '=HYPERLINK("http://evil.example")',
    "-rule",
    "@rule",
]
EVIL_RULE = "evil-rule"
EVIL_QUERY = '"<script>alert(1)</script>" OR "</code><img src=x onerror=alert(1)>" OR robots'
SNIPPETS = [
    "before <mark><script>alert(1)</script></mark> after",
    "<mark>robots</mark> and <img src=x onerror=alert(1)>",
    "&lt;img src=x onerror=alert(1)&gt; <mark>robots</mark>",
    "<mark onclick=alert(1)>robots</mark>",
    "<mark>robots</mark></mark><script>alert(1)</script>",
    "<MARK>robots</MARK><svg onload=alert(1)>",
]

# --------------------------------------------------------------------------- what a page may contain

# Every element the templates use; content must never add another kind.
TAGS = {
    "html", "head", "meta", "title", "link", "script", "body", "header", "a", "nav", "form", "input", "button",
    "main", "p", "h1", "h2", "h3", "section", "label", "select", "option", "textarea", "div", "span", "ol", "li",
    "b", "code", "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "ul", "br", "article",
    "aside", "mark", "kbd",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "data", "poster", "background", "cite", "ping", "srcset", "lowsrc",
    "dynsrc", "manifest", "codebase", "longdesc", "icon", "profile", "usemap", "srcdoc", "xmlns",
}  # fmt: skip
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")
URL_CHARS = 4000  # request values are cut to what fits in a URL
HTMX_FORM = re.compile(r"^/stories(/\d+/triage)?$")
SCRIPTS = ("/static/htmx.min.js", "/static/keys.js")  # the application's scripts, in the head of every page
EVIL_RULE_NAME = '<script>alert("rule name")</script> tpl[{{7*7}}]'

_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _local(name: object) -> str:
    return str(name).rsplit("}", 1)[-1].lower()


def url_problem(value: str) -> str | None:
    """Why a link / source / form target is unsafe: a script scheme, or not a local or http(s) URL."""
    cleaned = _INVISIBLE.sub("", value).lower()  # browsers ignore these inside a scheme
    if cleaned.startswith(BAD_SCHEMES):
        return "script scheme"
    if cleaned.startswith(("http://", "https://", "#", "?")) or (
        cleaned.startswith("/") and not cleaned.startswith("//")
    ):
        return None
    return "neither a local nor an http(s) URL"


def page_problems(html: str, fragment: bool = False) -> list[str]:
    """What in ``html`` is not the application's own markup (empty: the page is inert); a ``fragment`` (the
    answer to an htmx request) has no scripts of its own."""
    root: Element = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    problems: list[str] = []
    parents = {child: parent for parent in root.iter() for child in parent}
    scripts: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):  # a comment
            continue
        tag = _local(element.tag)
        attributes = {_local(name): value for name, value in element.attrib.items()}
        where = f"<{tag} {attributes}>"[:300]
        if tag not in TAGS:
            problems.append(f"foreign element {where}")
        if tag == "script":
            scripts.append(attributes.get("src", ""))
            parent = parents.get(element)
            if attributes not in [{"src": src, "defer": ""} for src in SCRIPTS] or (element.text or "").strip():
                problems.append(f"script {where}")
            if parent is None or _local(parent.tag) != "head":
                problems.append(f"script outside the head {where}")
        if tag == "meta":
            if "http-equiv" in attributes:
                problems.append(f"meta http-equiv {where}")
            if attributes.get("name") == "htmx-config":
                config = json.loads(attributes["content"])
                if config.get("allowEval") is not False or config.get("allowScriptTags") is not False:
                    problems.append(f"htmx config allows scripts {where}")
        if tag == "link" and attributes != {"rel": "stylesheet", "href": "/static/style.css"}:
            problems.append(f"link {where}")
        for name, value in attributes.items():
            if name.startswith("on") or name == "style":
                problems.append(f"attribute {name} {where}")
            if name.startswith(("hx-", "data-hx-")) and not (
                tag == "form" and HTMX_FORM.match(attributes.get("action", ""))
            ):
                problems.append(f"htmx attribute {name} outside the application's forms {where}")
            if name in URL_ATTRIBUTES and (why := url_problem(value)):
                problems.append(f"{name}: {why} {where}")
    if scripts != ([] if fragment else list(SCRIPTS)):
        problems.append(f"scripts {scripts} (expected {'none' if fragment else SCRIPTS})")
    problems.extend(f"template evaluated: {mark}" for mark in EVALUATED if mark in html)
    return problems


def text_of(element: Element) -> str:
    return "".join(element.itertext())


def find(html: str, element_id: str) -> Element:
    root: Element = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    for element in root.iter():
        if element.get("id") == element_id:
            return element
    raise AssertionError(f"no #{element_id} on the page")


# --------------------------------------------------------------------------- the hostile database


@dataclass
class Hostile:
    """A web client over a database full of hostile content."""

    client: TestClient
    engine: Engine
    config: Config
    titles: dict[int, str] = field(default_factory=dict)  # flagged article id -> title
    notes: dict[int, str] = field(default_factory=dict)

    def get(self, path: str, params: dict[str, str] | None = None, **kwargs: Any) -> Any:
        response = self.client.get(path, params=params, headers={"accept": "text/html"}, **kwargs)
        assert response.status_code < 500, (path, params, response.text[-2000:])
        assert "Traceback" not in response.text
        return response

    def inert(self, path: str, params: dict[str, str] | None = None) -> str:
        """The page at ``path``, which must be 200 or 4xx HTML made of the application's markup only."""
        response = self.get(path, params)
        assert response.headers["content-type"].startswith("text/html"), (path, params, response.headers)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        problems = page_problems(response.text)
        assert problems == [], (path, params, problems[:5])
        return str(response.text)

    def row_verdict(self, article_id: int, state: str, back: str) -> None:
        """A verdict from a row of the list, without and with htmx: a redirect to a list of this site, or an
        inert page (400) or row (htmx)."""
        token = form_token(self.client, "/stories")
        for htmx in (False, True):
            response = self.client.post(
                f"/stories/{article_id}/triage",
                data={"state": state, "csrf_token": token, "back": back, "to": "list"},
                headers={"accept": "text/html", **({"HX-Request": "true"} if htmx else {})},
            )
            assert response.status_code in (200, 303, 400), (back, response.text[-2000:])
            if response.status_code == 303:
                location = response.headers["location"]
                assert not htmx and location.startswith("/stories") and url_problem(location) is None, location
                continue
            assert response.headers["content-type"].startswith("text/html")
            fragment = response.status_code == 200
            assert htmx or not fragment, back
            problems = page_problems(response.text, fragment=fragment)
            assert problems == [], (back, problems[:5])


def hostile_config(folder: Path) -> Config:
    sites = tuple(
        SiteConfig.model_validate({"id": f"evil-site-{n}", "name": name, "feeds": [f"https://evil{n}.example/feed"]})
        for n, name in enumerate(['<script>alert("name")</script>', '"><svg onload=alert(1)>', "tpl[{{7*7}}]"])
    )
    rules = RulesConfig([RuleConfig(id=EVIL_RULE, name=EVIL_RULE_NAME, query=EVIL_QUERY, mode="instant")])
    config = Config(folder=folder, sites=sites, rules=rules)
    config.ruleset()  # the hostile query is a valid rule
    return config


def store_hostile(engine: Engine, config: Config) -> dict[int, str]:
    """One flagged article per payload (pairs share a body, so each has another outlet); returns id -> title."""
    setup = AlertSetup(modes={EVIL_RULE: "instant", **{rule: "digest" for rule in HOSTILE_RULE_IDS}})
    recorder = setup.for_site(config.sites[0], first_crawl=False)
    site_ids = [site.id for site in config.sites] + HOSTILE_SITE_IDS
    titles: dict[int, str] = {}
    for n, payload in enumerate(PAYLOADS):
        other = PAYLOADS[(n * 7 + 3) % len(PAYLOADS)]
        text = f"Robots story {n // 2}: {other}\n{PAYLOADS[(n // 2 * 2 + 5) % len(PAYLOADS)]}\nrobots are here"
        url = URL_PAYLOADS[n % len(URL_PAYLOADS)]
        article = Article(
            url=url if n % 3 else payload,
            canonical_url=f"https://canonical.example/{n}",
            title=payload,
            text=text,
            author=other,
            language=other[:16],
        )
        rule_id = EVIL_RULE if n % 4 == 0 else HOSTILE_RULE_IDS[n % len(HOSTILE_RULE_IDS)]
        match = Match(
            rule_id,
            terms=[payload, other, "robots"],
            hits=[
                Hit(payload, "title", 0, max(1, len(payload) // 2)),
                Hit("robots", "body", 3, 9),
                Hit("x", "body", -5, 10**9),
            ],
            snippet=SNIPPETS[n % len(SNIPPETS)] if n % 2 else payload,
            amounts=[Amount(payload, 5e6, "USD", 5e6), Amount(other, 1.0, "<b>XYZ</b>", None)],
        )
        with Session(engine) as session:
            article_id = save_article(session, site_ids[n % len(site_ids)], article, [match], on_new=recorder.record)
        assert article_id is not None
        titles[article_id] = payload
    with Session(engine) as session:  # each pair of articles is one story, told by two outlets
        for article_id in titles:
            session.execute(
                update(ArticleRow).where(col(ArticleRow.id) == article_id).values(story_id=(article_id + 1) // 2)
            )
        session.commit()
    return titles


def hostile_crawls_and_alerts(engine: Engine) -> None:
    """Crawl runs of hostile site ids with hostile errors, and alert deliveries to hostile recipients."""
    with Session(engine) as session:
        for n, site_id in enumerate(HOSTILE_SITE_IDS):
            run = start_run(session, site_id, worker=PAYLOADS[n])
            finish_run(session, run, "failed" if n % 2 else "finished", {"pages": 1}, PAYLOADS[n + 10])
        alerts = session.exec(select(AlertRow)).all()
        assert alerts
        for n, alert in enumerate(alerts):
            alert.reason = PAYLOADS[n % len(PAYLOADS)]
            alert.suppressed = n % 2 == 1
            outbox = OutboxRow(
                kind="instant",
                channel="email",
                recipient=PAYLOADS[(n + 1) % len(PAYLOADS)],
                message_id=f"<{n}@evil.example>",
                subject=PAYLOADS[n % len(PAYLOADS)],
                body=b"",
                status="failed",
                last_error=PAYLOADS[(n + 2) % len(PAYLOADS)],
            )
            session.add(outbox)
            session.flush()
            assert outbox.id is not None and alert.id is not None
            recipient = PAYLOADS[(n + 3) % len(PAYLOADS)]
            session.add(
                OutboxAlertRow(outbox_id=outbox.id, alert_id=alert.id, channel="<b>ch</b>", recipient=recipient)
            )
        session.commit()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    tmp_path = tmp_path_factory.mktemp("web-xss")
    url = f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}"
    engine = open_database(url)
    config = hostile_config(tmp_path / "config")
    titles = store_hostile(engine, config)
    hostile_crawls_and_alerts(engine)
    with web_client(engine, web_settings(tmp_path, url), config) as client:
        web = Hostile(client, engine, config, titles)
        # readers' notes, typed into the story page's form
        for n, article_id in enumerate(titles):
            note = PAYLOADS[(n + 11) % len(PAYLOADS)]
            token = form_token(client, f"/stories/{article_id}")
            state = ("relevant", "irrelevant", "reviewed")[n % 3]
            response = client.post(
                f"/stories/{article_id}/triage", data={"state": state, "note": note, "csrf_token": token}
            )
            assert response.status_code in (303, 400), response.text
            if response.status_code == 303:
                if note.strip():  # an empty note is no note
                    web.notes[article_id] = note.replace("\r\n", "\n").strip()
            else:
                assert len(note.strip()) > 4000 or "\x00" in note, (note, response.text)
                assert page_problems(response.text) == []
        yield web
    engine.dispose()


# --------------------------------------------------------------------------- the pages


def test_the_checker_catches_live_markup() -> None:
    """The page check is not vacuous: each kind of injection it looks for is reported."""
    page = (
        '<html><head><script src="/static/htmx.min.js" defer></script><script src="/static/keys.js" defer></script>'
        "</head><body>{}</body></html>"
    )
    assert page_problems(page.format('<a href="/stories">ok</a> <a href="https://x.example/">ok</a>')) == []
    for injected in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href=" java&#x09;script:alert(1)">x</a>',
        '<a href="\x01JaVaScRiPt:alert(1)">x</a>',
        '<form action="data:text/html,x"></form>',
        "<iframe srcdoc=x></iframe>",
        '<meta http-equiv="refresh" content="0">',
        '<span hx-get="/logout" hx-trigger="load">x</span>',
        '<p style="color:red">x</p>',
        "<p>tpl[49]</p>",
        '<script src="/static/keys.js" defer></script>',
    ]:
        assert page_problems(page.format(injected)), injected
    assert page_problems("<li>a row</li>", fragment=True) == []
    assert page_problems("<li>a row</li>") and page_problems(page.format(""), fragment=True)


def test_stored_hostile_content_renders_as_text(hostile: Hostile) -> None:
    listing = hostile.inert("/stories")
    total = int(find(listing, "results").findtext(".//span[@class='total']", "0").split()[0])
    assert total == len(PAYLOADS)
    for number in range(1, -(-total // 25) + 1):
        hostile.inert("/stories", {"page": str(number)})
    for sort in ("oldest", "published", "site", "title", "found-oldest", "published-newest", "published-oldest"):
        hostile.inert("/stories", {"sort": sort})
    for status in ("new", "relevant", "irrelevant", "reviewed"):
        hostile.inert("/stories", {"status": status})
    for site_id in HOSTILE_SITE_IDS:
        hostile.inert("/stories", {"site": site_id})
    for rule_id in [EVIL_RULE, *HOSTILE_RULE_IDS]:
        hostile.inert("/stories", {"rule": rule_id})
    hostile.inert("/rules")
    hostile.inert("/sources")

    states = ("relevant", "irrelevant", "reviewed")  # as the fixture left them: the notes stay too
    for n, article_id in enumerate(list(hostile.titles)[:30]):
        rule = (EVIL_RULE, *HOSTILE_RULE_IDS)[n % (len(HOSTILE_RULE_IDS) + 1)]
        listed = hostile.inert(f"/stories/{article_id}", {"rule": rule, "sort": "title", "q": "robots"})
        assert 'id="next-story"' in listed or 'id="previous-story"' in listed
        hostile.row_verdict(article_id, states[n % 3], f"rule={quote(rule)}&sort=site&page=2")

    outlets = 0
    for article_id, title in hostile.titles.items():
        page = hostile.inert(f"/stories/{article_id}")
        if "\x00" not in title and "\r" not in title:  # the HTML parser replaces or folds these
            assert text_of(find(page, "title")) == title, article_id
        note = hostile.notes.get(article_id)
        if note and "\x00" not in note and "\r" not in note:
            assert text_of(find(page, "note")) == note, article_id
        outlets += "No other outlet" not in page
    assert outlets >= len(hostile.titles) - 1  # the outlet links were rendered and checked too


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"p{n}" for n in range(len(PAYLOADS))])
def test_hostile_request_values_render_as_text(hostile: Hostile, payload: str) -> None:
    value = payload[:URL_CHARS]
    page = hostile.inert("/stories", {"q": value, "rule": value, "site": value})
    if "\x00" not in value and "\r" not in value and len(value) <= 500:
        root = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
        search = next(e for e in root.iter("input") if e.get("name") == "q")
        assert search.get("value") == value.strip()
    for name in ("status", "from", "until", "sort", "page"):
        hostile.inert("/stories", {name: value})
    hostile.inert("/rules", {"test": value, "since": value})
    first = next(iter(hostile.titles))
    hostile.inert(f"/stories/{first}", {"q": value, "rule": value, "site": value})
    for name in ("status", "from", "until", "sort"):
        hostile.inert(f"/stories/{first}", {name: value})
    for back in (
        value,
        urlencode({"q": value, "rule": value, "site": value}),
        urlencode({"sort": value, "page": value}),
    ):
        hostile.row_verdict(first, "relevant", back)  # the first article is "relevant" already
    path = f"/stories/{quote(value, safe='')}"
    response = hostile.get(path)  # not a number: a 400 (JSON to this client) or a 404 page
    if response.status_code == 307:  # a trailing slash ("...//" decoded): the same path without it, on this host
        assert response.headers["location"].startswith(f"{BASE}/stories")
    elif response.headers["content-type"].startswith("text/html"):
        assert response.status_code in (400, 404) and page_problems(response.text) == []
    else:
        assert response.status_code == 400 and response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
    for path in ("/export.csv", "/export.json"):
        response = hostile.get(path, {"q": value, "rule": value, "status": value})
        assert response.status_code in (200, 400)
        assert response.headers["content-type"].startswith(("text/csv", "application/json", "text/plain"))
        assert response.headers["x-content-type-options"] == "nosniff"
    for path, params in (("/review", {"rule": value}), ("/login", {"next": value}), ("/", {})):
        response = hostile.get(path, params, follow_redirects=False)
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/") and not location.startswith("//") and url_problem(location) is None


def test_hostile_values_on_the_login_page(hostile: Hostile, tmp_path: Path) -> None:
    settings = web_settings(tmp_path, str(hostile.engine.url), web_password="secret")
    with web_client(hostile.engine, settings, hostile.config) as client:
        checked = Hostile(client, hostile.engine, hostile.config)
        for payload in (p[:URL_CHARS] for p in PAYLOADS):
            response = checked.get("/stories", {"q": payload}, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"].startswith("/login?next=%2F")
            checked.inert("/login", {"next": payload})
            checked.inert("/login", {"next": "/" + payload})
        token = form_token(client, "/login")
        response = client.post(
            "/login", data={"password": "wrong", "next": '/"><script>alert(1)</script>', "csrf_token": token}
        )
        assert response.status_code == 401 and page_problems(response.text) == []


def test_the_rules_test_box_shows_hostile_queries_and_hits_as_text(hostile: Hostile) -> None:
    page = hostile.inert("/rules", {"test": EVIL_QUERY, "since": "7d"})
    results = find(page, "test-results")
    assert f"{len(PAYLOADS)} of {len(PAYLOADS)}" in text_of(results)
    assert text_of(find(page, "test-results")).count("(no title)") == 1  # the one empty title
    box = next(e for e in html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False).iter("textarea"))
    assert box.text == EVIL_QUERY


# --------------------------------------------------------------------------- the exports


def test_csv_export_neutralises_formulas(hostile: Hostile) -> None:
    response = hostile.get("/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    assert len(body) == len(PAYLOADS)
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", cell), row
    titles = {row[header.index("title")] for row in body}
    for formula in ('=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"):
        assert "'" + formula in titles
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in titles
    rules = {rule for row in body for rule in row[header.index("rules")].split("; ")}
    assert "'-rule" in rules and "'@rule" in rules


def test_json_export_keeps_the_raw_strings(hostile: Hostile) -> None:
    response = hostile.get("/export.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    records = json.loads(response.text)
    assert {r["id"]: r["title"] for r in records} == hostile.titles
    assert {r["id"]: r["note"] for r in records if r["note"] is not None} == hostile.notes
    assert {rule for r in records for rule in r["rules"]} == {EVIL_RULE, *HOSTILE_RULE_IDS}
    assert {r["site"] for r in records} >= set(HOSTILE_SITE_IDS)
    assert {r["url"] for r in records} >= {"javascript:alert(1)", "java\tscript:alert(1)", "\x00javascript:alert(1)"}
