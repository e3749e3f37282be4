"""HTML pages of the demo site: article pages in two themes, listings, and small static pages.

Every function takes a :class:`SiteView` (a snapshot of the site) and returns a complete HTML5 document as
a string; all text is escaped with :func:`html.escape`. Article pages carry the boilerplate that a real
news page has and that an extractor must strip: navigation, a "YOU ARE AT:" breadcrumb, share buttons,
a figure caption with an image credit, an "ABOUT AUTHOR" box, "Related posts" / "Recent Posts" lists with
"2 days ago" lines, a newsletter form, a cookie notice and a footer.

Theme "a" looks like a classic WordPress news theme (absolute links, sidebar widgets, comment form);
theme "b" like a magazine layout (root-relative links, standfirst, "Read also" aside inside the body,
JSON-LD as an ``@graph``).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from crawler.demo.content import SITE_TZ, Block, SampleArticle, Section, slugify

PAGE_SIZE = 5
"""Stories per section listing page."""
HOME_SIZE = 15
"""Stories on the home page."""
PRIVATE_PATH = "/private/secret/"
PRESS_KIT_PATH = "/media/press-kit.pdf"
LOGO_PATH = "/media/logo.png"
STATIC_PAGES = {
    "/about/": "About us",
    "/contact/": "Contact",
    "/privacy/": "Privacy and cookies",
    "/terms/": "Terms of use",
}
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def e(text: object) -> str:
    """Escape for HTML text and attribute values."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class SiteView:
    """A consistent snapshot of the site that pages are rendered from."""

    base_url: str
    now: datetime
    name: str
    tagline: str
    publisher: str
    disclaimer: str
    sections: dict[str, Section]
    articles: tuple[SampleArticle, ...]
    stubs: tuple[SampleArticle, ...] = ()

    @property
    def entries(self) -> list[SampleArticle]:
        """Everything the site lists (articles and stubs), newest first."""
        return sorted((*self.articles, *self.stubs), key=lambda a: (a.published, a.slug), reverse=True)

    def url(self, path: str) -> str:
        """Absolute URL of a site path."""
        return self.base_url + path


# -- small formatting helpers -----------------------------------------------------------------------------


def long_date(moment: datetime) -> str:
    """``November 18, 2025`` in the site's time zone."""
    local = moment.astimezone(SITE_TZ)
    return f"{_MONTHS[local.month - 1]} {local.day}, {local.year}"


def short_datetime(moment: datetime) -> str:
    """``18 Nov 2025, 09:30 JST``."""
    local = moment.astimezone(SITE_TZ)
    return f"{local.day} {_MONTHS[local.month - 1][:3]} {local.year}, {local:%H:%M} JST"


def ago(now: datetime, moment: datetime) -> str:
    """``"2 days ago"`` style text for a moment before ``now``."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size, limit in (("minute", 60, 60), ("hour", 3600, 24), ("day", 86400, 7), ("week", 604800, 5)):
        count = int(seconds // size)
        if count < limit:
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return long_date(moment)


def iso(moment: datetime) -> str:
    """ISO 8601 with seconds and offset, in the site's time zone."""
    return moment.astimezone(SITE_TZ).isoformat(timespec="seconds")


def _json_ld(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def _picture_path(article: SampleArticle) -> str:
    return f"/media/images/{article.slug}.png"


# -- shared page parts ------------------------------------------------------------------------------------


def _head(
    view: SiteView,
    title: str,
    description: str,
    canonical: str,
    extra: Iterable[str] = (),
) -> str:
    lines = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f'<meta name="description" content="{e(description)}">',
        f'<link rel="canonical" href="{e(canonical)}">',
        f'<link rel="alternate" type="application/rss+xml" title="{e(view.name)} RSS" '
        f'href="{e(view.url("/feed.xml"))}">',
        f'<link rel="alternate" type="application/atom+xml" title="{e(view.name)} Atom" '
        f'href="{e(view.url("/atom.xml"))}">',
        '<link rel="stylesheet" href="/static/site.css">',
        f'<link rel="icon" href="{LOGO_PATH}">',
        *extra,
        "<script>window.dataLayer = window.dataLayer || [];"
        " function gtag(){dataLayer.push(arguments);} gtag('js', new Date());"
        " gtag('config', 'CL-DEMO-000');</script>",
    ]
    return "<head>\n" + "\n".join(lines) + "\n</head>"


def _nav_links(view: SiteView, href: str = "") -> list[tuple[str, str]]:
    links = [(href + "/", "Home")]
    links += [(f"{href}/section/{section.id}/", section.title) for section in view.sections.values()]
    links += [(href + "/about/", "About"), (href + "/contact/", "Contact")]
    return links


def _cookie_notice(css_class: str) -> str:
    return (
        f'<div class="{css_class}" id="cookie-notice" role="dialog" aria-live="polite">\n'
        "<p>We use cookies to understand how our site is used and to remember your preferences. "
        'By continuing to browse you agree to our <a href="/privacy/">cookie policy</a>.</p>\n'
        '<button type="button" class="cookie-accept">Accept all</button> '
        '<button type="button" class="cookie-settings">Manage settings</button>\n</div>'
    )


def _newsletter(view: SiteView, css_class: str) -> str:
    return (
        f'<form class="{css_class}" action="/newsletter/subscribe" method="post">\n'
        f"<h3>Get {e(view.name)} Daily</h3>\n"
        "<p>The day's most important technology and telecoms stories, in your inbox every weekday "
        "morning.</p>\n"
        f'<label for="nl-email-{css_class}">Email address</label>\n'
        f'<input type="email" id="nl-email-{css_class}" name="email" placeholder="you@example.com" required>\n'
        '<button type="submit">Sign up</button>\n'
        '<p class="small">You can unsubscribe at any time. Read our <a href="/privacy/">privacy policy</a>.</p>\n'
        "</form>"
    )


def _share_buttons(url: str, title: str, css_class: str) -> str:
    u, t = quote(url, safe=""), quote(title, safe="")
    return (
        f'<div class="{css_class}">\n<span class="share-label">Share:</span>\n'
        f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={u}">Facebook</a>\n'
        f'<a class="share-x" href="https://x.com/intent/post?url={u}&amp;text={t}">X</a>\n'
        f'<a class="share-linkedin" href="https://www.linkedin.com/sharing/share-offsite/?url={u}">LinkedIn</a>\n'
        f'<a class="share-email" href="mailto:?subject={t}&amp;body={u}">Email</a>\n</div>'
    )


def _footer(view: SiteView, href: str = "") -> str:
    sections = "\n".join(f'<li><a href="{href}/section/{s.id}/">{e(s.title)}</a></li>' for s in view.sections.values())
    year = view.now.astimezone(SITE_TZ).year
    return f"""<footer class="site-footer">
<div class="footer-columns">
<div class="footer-col"><h4>Sections</h4><ul>
{sections}
</ul></div>
<div class="footer-col"><h4>The Circuit Ledger</h4><ul>
<li><a href="{href}/about/">About us</a></li>
<li><a href="{href}/contact/">Contact</a></li>
<li><a href="{href}{PRESS_KIT_PATH}">Press kit (PDF)</a></li>
<li><a href="{href}{LOGO_PATH}">Our logo</a></li>
<li><a href="{href}/privacy/">Privacy and cookies</a></li>
<li><a href="{href}/terms/">Terms of use</a></li>
</ul></div>
<div class="footer-col"><h4>Follow us</h4><ul>
<li><a href="{href}/feed.xml">RSS feed</a></li>
<li><a href="https://www.linkedin.com/company/circuit-ledger-demo">LinkedIn</a></li>
<li><a href="https://x.com/circuitledger_demo">X</a></li>
</ul></div>
</div>
<p class="copyright">&copy; {year} {e(view.publisher)}. All rights reserved. {e(view.disclaimer)}</p>
</footer>"""


def _header_a(view: SiteView, href: str) -> str:
    menu = "\n".join(f'<li><a href="{e(link)}">{e(label)}</a></li>' for link, label in _nav_links(view, href))
    topics = ["SoftBank", "AI", "IoT", "5G", "Robotics", "Semiconductors"]
    trending = " ".join(f'<a href="{href}/tag/{slugify(t)}/">{e(t)}</a>' for t in topics)
    return f"""<header class="site-header">
<div class="top-bar"><span class="today">{e(long_date(view.now))}</span>
<a class="subscribe" href="{href}/about/">Subscribe</a> <a class="login" href="{href}/about/">Log in</a></div>
<div class="branding"><a class="site-logo" href="{href}/"><img src="{LOGO_PATH}" alt="{e(view.name)}"
width="120" height="40"></a>
<p class="site-description">{e(view.tagline)}</p></div>
<nav class="main-menu" aria-label="Main menu"><ul>
{menu}
</ul></nav>
<div class="trending"><span>Trending:</span> {trending}</div>
</header>"""


def _header_b(view: SiteView) -> str:
    menu = "\n".join(f'<li><a href="{e(link)}">{e(label)}</a></li>' for link, label in _nav_links(view))
    return f"""<header class="masthead">
<div class="brand"><a href="/">{e(view.name)}</a> <span class="tagline">{e(view.tagline)}</span></div>
<button class="menu-toggle" aria-controls="primary-nav">Menu</button>
<nav class="primary-nav" id="primary-nav" aria-label="Sections"><ul>
{menu}
</ul></nav>
<form class="search" action="/" role="search"><input type="search" name="s" placeholder="Search">
<button type="submit">Go</button></form>
</header>"""


def _document(head: str, body_class: str, body: str) -> str:
    return f'<!DOCTYPE html>\n<html lang="en">\n{head}\n<body class="{body_class}">\n{body}\n</body>\n</html>\n'


# -- article pages ----------------------------------------------------------------------------------------


def _related(view: SiteView, article: SampleArticle, count: int) -> list[SampleArticle]:
    others = [a for a in view.articles if a.slug != article.slug]
    same = [a for a in others if a.section == article.section]
    rest = [a for a in others if a.section != article.section]
    return (same + rest)[:count]


def _recent(view: SiteView, article: SampleArticle, count: int) -> list[SampleArticle]:
    return [a for a in view.articles if a.slug != article.slug][:count]


def _most_read(view: SiteView, article: SampleArticle, count: int) -> list[SampleArticle]:
    others = [a for a in view.articles if a.slug != article.slug]
    return sorted(others, key=lambda a: hashlib.sha1(f"most-read:{a.slug}".encode()).hexdigest())[:count]


def _block_html(block: Block, theme: str) -> str:
    if block.kind == "h2":
        return f"<h2>{e(block.text)}</h2>" if theme == "a" else f'<h2 class="subhead">{e(block.text)}</h2>'
    if block.kind == "blockquote":
        css = "wp-block-quote" if theme == "a" else "pull-quote"
        return f'<blockquote class="{css}"><p>{e(block.text)}</p></blockquote>'
    return f"<p>{e(block.text)}</p>"


def _article_meta(view: SiteView, article: SampleArticle, section: Section, url: str) -> list[str]:
    image = view.url(_picture_path(article))
    meta = [
        f'<meta name="author" content="{e(article.author.name)}">',
        '<meta name="robots" content="index, follow, max-image-preview:large">',
        '<meta property="og:locale" content="en_GB">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:site_name" content="{e(view.name)}">',
        f'<meta property="og:title" content="{e(article.title)}">',
        f'<meta property="og:description" content="{e(article.teaser)}">',
        f'<meta property="og:url" content="{e(url)}">',
        f'<meta property="og:image" content="{e(image)}">',
        f'<meta property="og:image:alt" content="{e(article.image_alt)}">',
        f'<meta property="article:published_time" content="{iso(article.published)}">',
        f'<meta property="article:modified_time" content="{iso(article.last_modified)}">',
        f'<meta property="article:section" content="{e(section.title)}">',
        f'<meta property="article:author" content="{e(view.url(f"/author/{article.author.id}/"))}">',
        *(f'<meta property="article:tag" content="{e(tag)}">' for tag in article.tags),
        '<meta name="twitter:card" content="summary_large_image">',
        f'<meta name="twitter:title" content="{e(article.title)}">',
        f'<meta name="twitter:description" content="{e(article.teaser)}">',
    ]
    return meta


def _news_article_ld(view: SiteView, article: SampleArticle, section: Section, url: str) -> dict[str, object]:
    return {
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": article.title,
        "description": article.teaser,
        "image": [view.url(_picture_path(article))],
        "datePublished": iso(article.published),
        "dateModified": iso(article.last_modified),
        "author": [{"@type": "Person", "name": article.author.name, "url": view.url(f"/author/{article.author.id}/")}],
        "publisher": {
            "@type": "Organization",
            "name": view.name,
            "logo": {"@type": "ImageObject", "url": view.url(LOGO_PATH)},
        },
        "articleSection": section.title,
        "keywords": list(article.tags),
        "inLanguage": "en",
    }


def render_article(view: SiteView, article: SampleArticle) -> str:
    """The article page, in the theme of the article's section."""
    section = view.sections[article.section]
    if section.theme == "b":
        return _article_b(view, article, section)
    return _article_a(view, article, section)


def _figure(view: SiteView, article: SampleArticle, href: str, css_class: str) -> str:
    alt = article.image_alt or article.title
    return (
        f'<figure class="{css_class}">\n'
        f'<img src="{href}{_picture_path(article)}" alt="{e(alt)}" width="160" height="90" loading="lazy">\n'
        f"<figcaption>{e(alt)}. Image credit: {e(article.image_credit)}</figcaption>\n</figure>"
    )


def _tag_links(article: SampleArticle, href: str) -> str:
    return ", ".join(f'<a href="{href}/tag/{slugify(tag)}/" rel="tag">{e(tag)}</a>' for tag in article.tags)


def _article_a(view: SiteView, article: SampleArticle, section: Section) -> str:
    href = view.base_url  # theme A writes absolute links, like most WordPress sites
    url = view.url(article.path)
    ld = {"@context": "https://schema.org", **_news_article_ld(view, article, section, url)}
    head = _head(
        view,
        f"{article.title} | {view.name}",
        article.teaser,
        url,
        [*_article_meta(view, article, section, url), _json_ld(ld)],
    )
    body_parts: list[str] = []
    for index, block in enumerate(article.blocks):
        body_parts.append(_block_html(block, "a"))
        if index == 0:
            body_parts.append(_figure(view, article, href, "wp-block-image wp-caption"))
        if index == 3:
            body_parts.append('<div class="ad-slot" aria-hidden="true"><span>Advertisement</span></div>')
    if len(article.blocks) == 1:
        body_parts.append('<p class="developing"><em>This page will be updated.</em></p>')
    related = "\n".join(
        f'<li><a href="{href}{a.path}">{e(a.title)}</a>\n<span class="post-date">{ago(view.now, a.published)}'
        "</span></li>"
        for a in _related(view, article, 5)
    )
    recent = "\n".join(
        f'<li><a href="{href}{a.path}">{e(a.title)}</a>\n<span class="post-date">{ago(view.now, a.published)}'
        "</span></li>"
        for a in _recent(view, article, 6)
    )
    updated = ""
    if article.updated:
        updated = (
            f' <span class="updated-on">Updated: <time class="updated" datetime="{iso(article.updated)}">'
            f"{e(long_date(article.updated))}</time></span>"
        )
    author_url = f"{href}/author/{article.author.id}/"
    post_id = int(hashlib.sha1(article.slug.encode()).hexdigest()[:5], 16)
    body = f"""{_cookie_notice("cookie-notice")}
{_header_a(view, href)}
<div class="container">
<main id="main" class="content-area">
<article id="post-{post_id}" class="post type-post status-publish format-standard category-{section.id}">
<header class="entry-header">
<div class="entry-crumbs" itemprop="breadcrumb"><span class="crumb-label">YOU ARE AT:</span><a
href="{href}/">Home</a> &raquo; <a href="{href}/section/{section.id}/">{e(section.title)}</a> &raquo;
<span class="current">{e(article.title)}</span></div>
<span class="cat-links"><a href="{href}/section/{section.id}/" rel="category tag">{e(section.title)}</a></span>
<h1 class="entry-title">{e(article.title)}</h1>
<div class="entry-meta">By <a class="author url fn" rel="author" href="{author_url}">{e(article.author.name)}</a>
<span class="sep">&middot;</span> <time class="entry-date published" datetime="{iso(article.published)}">{
        e(long_date(article.published))
    }</time>{updated}</div>
{_share_buttons(url, article.title, "share-buttons share-top")}
</header>
<div class="entry-content">
{chr(10).join(body_parts)}
</div>
<footer class="entry-footer">
<div class="post-tags">Tags: {_tag_links(article, href)}</div>
{_share_buttons(url, article.title, "share-buttons share-bottom")}
</footer>
<div class="author-box">
<h3 class="author-box-title">ABOUT AUTHOR</h3>
<img class="avatar" src="{LOGO_PATH}" alt="{e(article.author.name)}" width="64" height="64">
<div class="author-box-body">
<h4 class="author-name"><a href="{author_url}">{e(article.author.name)}</a></h4>
<p class="author-role">{e(article.author.role)}</p>
<p class="author-bio">{e(article.author.bio)}</p>
</div>
</div>
<section class="related-posts">
<h3 class="related-title">Related posts</h3>
<ul>
{related}
</ul>
</section>
</article>
<div id="comments" class="comments-area">
<h3 id="reply-title" class="comment-reply-title">Leave a Reply</h3>
<form action="{href}/wp-comments-post.php" method="post" class="comment-form">
<p class="comment-notes">Your email address will not be published. Required fields are marked *</p>
<label for="comment">Comment</label> <textarea id="comment" name="comment" rows="6"></textarea>
<label for="author">Name *</label> <input id="author" name="author" type="text" required>
<label for="email">Email *</label> <input id="email" name="email" type="email" required>
<button type="submit">Post Comment</button>
</form>
</div>
</main>
<aside id="secondary" class="widget-area">
<section class="widget widget_search"><form role="search" action="{href}/"><label>Search for:
<input type="search" name="s"></label><button type="submit">Search</button></form></section>
<section class="widget widget_recent_entries"><h3 class="widget-title">Recent Posts</h3>
<ul>
{recent}
</ul></section>
<section class="widget widget_newsletter">{_newsletter(view, "newsletter-form")}</section>
</aside>
</div>
{_footer(view, href)}"""
    return _document(head, f"post-template-default single single-post theme-a section-{section.id}", body)


def _article_b(view: SiteView, article: SampleArticle, section: Section) -> str:
    url = view.url(article.path)
    crumbs = {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home", "item": view.url("/")},
            {
                "@type": "ListItem",
                "position": 2,
                "name": section.title,
                "item": view.url(f"/section/{section.id}/"),
            },
            {"@type": "ListItem", "position": 3, "name": article.title},
        ],
    }
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "@id": url, "url": url, "name": article.title},
            crumbs,
            _news_article_ld(view, article, section, url),
        ],
    }
    head = _head(
        view,
        f"{article.title} - {view.name}",
        article.teaser,
        url,
        [*_article_meta(view, article, section, url), _json_ld(ld)],
    )
    related = _related(view, article, 1)
    body_parts: list[str] = []
    for index, block in enumerate(article.blocks):
        body_parts.append(_block_html(block, "b"))
        if index == 2 and related:
            body_parts.append(
                f'<aside class="read-also"><strong>Read also:</strong> <a href="{related[0].path}">'
                f"{e(related[0].title)}</a></aside>"
            )
    recent = "\n".join(
        f'<li><a href="{a.path}">{e(a.title)}</a>\n<p class="when">{ago(view.now, a.published)}</p></li>'
        for a in _recent(view, article, 6)
    )
    most_read = "\n".join(f'<li><a href="{a.path}">{e(a.title)}</a></li>' for a in _most_read(view, article, 5))
    author_url = f"/author/{article.author.id}/"
    updated = ""
    if article.updated:
        updated = (
            f' <span class="updated">(updated <time datetime="{iso(article.updated)}">'
            f"{e(short_datetime(article.updated))}</time>)</span>"
        )
    body = f"""{_header_b(view)}
<nav class="breadcrumb" aria-label="Breadcrumb"><span class="crumb-label">YOU ARE AT:</span><ol>
<li><a href="/">Home</a> &raquo;</li>
<li><a href="/section/{section.id}/">{e(section.title)}</a> &raquo;</li>
<li aria-current="page">{e(article.title)}</li>
</ol></nav>
<main id="content" class="site-main">
<div class="story">
<div class="story-header">
<a class="kicker" href="/section/{section.id}/">{e(section.title)}</a>
<h1 class="story-title">{e(article.title)}</h1>
<p class="standfirst">{e(article.teaser)}</p>
<div class="byline"><span class="by">By</span> <a href="{author_url}" rel="author">{e(article.author.name)}</a>,
<span class="role">{e(article.author.role)}</span> &middot; <time datetime="{iso(article.published)}">{
        e(short_datetime(article.published))
    }</time>{updated}</div>
{_share_buttons(url, article.title, "share")}
</div>
{_figure(view, article, "", "lead-image")}
<div class="story-body">
{chr(10).join(body_parts)}
</div>
<div class="story-tags"><span>Topics:</span> {_tag_links(article, "")}</div>
<section class="author-bio">
<h2>ABOUT AUTHOR</h2>
<p class="name"><a href="{author_url}">{e(article.author.name)}</a></p>
<p class="bio">{e(article.author.bio)}</p>
</section>
<section class="recent-posts">
<h2>Recent Posts</h2>
<ul>
{recent}
</ul>
</section>
{_newsletter(view, "newsletter-signup")}
</div>
<aside class="rail">
<h2>Most read</h2>
<ol class="most-read">
{most_read}
</ol>
<div class="ad-slot" aria-hidden="true">Advertisement</div>
</aside>
</main>
{_footer(view)}
{_cookie_notice("cookie-banner")}"""
    return _document(head, f"story-page theme-b section-{section.id}", body)


# -- listing pages ----------------------------------------------------------------------------------------


def _teaser(view: SiteView, article: SampleArticle) -> str:
    section = view.sections[article.section]
    return f"""<article class="teaser">
<a class="thumb" href="{article.path}"><img src="{_picture_path(article)}" alt="{e(article.image_alt)}"
width="160" height="90"></a>
<div class="teaser-body">
<span class="teaser-section"><a href="/section/{section.id}/">{e(section.title)}</a></span>
<h2 class="teaser-title"><a class="story-link" href="{article.path}">{e(article.title)}</a></h2>
<p class="teaser-text">{e(article.teaser)}</p>
<p class="teaser-meta">By <a href="/author/{article.author.id}/">{e(article.author.name)}</a> &middot;
<time datetime="{iso(article.published)}">{e(long_date(article.published))}</time> &middot;
<span class="ago">{ago(view.now, article.published)}</span></p>
</div>
</article>"""


def _listing(
    view: SiteView,
    *,
    title: str,
    heading: str,
    intro: str,
    path: str,
    items: Sequence[SampleArticle],
    crumbs: Sequence[tuple[str, str]] = (),
    pagination: str = "",
    extra_head: Iterable[str] = (),
    extra_main: str = "",
    body_class: str = "archive",
) -> str:
    head = _head(
        view,
        title,
        intro or view.tagline,
        view.url(path),
        [
            '<meta property="og:type" content="website">',
            f'<meta property="og:title" content="{e(title)}">',
            f'<meta property="og:url" content="{e(view.url(path))}">',
            *extra_head,
        ],
    )
    breadcrumb = ""
    if crumbs:
        trail = " &raquo; ".join(f'<a href="{link}">{e(label)}</a>' for link, label in crumbs)
        breadcrumb = (
            f'<div class="breadcrumbs">YOU ARE AT: {trail} &raquo; <span class="current">{e(heading)}</span></div>'
        )
    teasers = "\n".join(_teaser(view, a) for a in items) or '<p class="no-results">No stories yet.</p>'
    popular = "\n".join(f'<li><a class="popular-link" href="{a.path}">{e(a.title)}</a></li>' for a in view.articles[:5])
    body = f"""{_cookie_notice("cookie-notice")}
{_header_a(view, "")}
{breadcrumb}
<div class="container">
<main id="main" class="content-area">
<header class="archive-header"><h1 class="archive-title">{e(heading)}</h1>
{f'<p class="archive-description">{e(intro)}</p>' if intro else ""}</header>
<div class="story-list">
{teasers}
</div>
{pagination}
{extra_main}
</main>
<aside id="secondary" class="widget-area">
<section class="widget popular"><h3 class="widget-title">Popular this week</h3><ol>
{popular}
</ol></section>
<section class="widget widget_newsletter">{_newsletter(view, "newsletter-form")}</section>
</aside>
</div>
{_footer(view)}"""
    return _document(head, body_class, body)


def render_home(view: SiteView) -> str:
    """The home page: the latest stories, plus an "Editor's picks" box linking to non-article pages."""
    picks = f"""<section class="editors-picks">
<h2>Editor's picks</h2>
<ul>
<li><a class="story-link" href="{PRIVATE_PATH}">Inside our newsroom: the editorial calendar (staff only)</a></li>
<li><a class="story-link" href="{PRESS_KIT_PATH}">Download our press kit (PDF)</a></li>
<li><a href="/about/">About The Circuit Ledger</a></li>
<li><a href="{LOGO_PATH}">Our logo (PNG)</a></li>
</ul>
</section>"""
    return _listing(
        view,
        title=f"{view.name} | {view.tagline}",
        heading="Latest news",
        intro="",
        path="/",
        items=view.entries[:HOME_SIZE],
        extra_main=picks,
        body_class="home blog",
    )


def section_page_count(view: SiteView, section_id: str) -> int:
    """How many listing pages a section has (at least one)."""
    count = sum(1 for a in view.entries if a.section == section_id)
    return max(1, -(-count // PAGE_SIZE))


def section_page_path(section_id: str, page: int) -> str:
    """Path of page ``page`` (1-based) of a section listing."""
    return f"/section/{section_id}/" if page == 1 else f"/section/{section_id}/page/{page}/"


def render_section(view: SiteView, section_id: str, page: int = 1) -> str | None:
    """Page ``page`` of a section listing, or None when the section or page does not exist."""
    section = view.sections.get(section_id)
    pages = section_page_count(view, section_id)
    if section is None or not 1 <= page <= pages:
        return None
    items = [a for a in view.entries if a.section == section_id][(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    links: list[str] = []
    extra_head: list[str] = []
    if page > 1:
        prev_path = section_page_path(section_id, page - 1)
        links.append(f'<a class="prev-page" rel="prev" href="{prev_path}">&laquo; Newer posts</a>')
        extra_head.append(f'<link rel="prev" href="{e(view.url(prev_path))}">')
    for number in range(1, pages + 1):
        if number == page:
            links.append(f'<span class="page-numbers current" aria-current="page">{number}</span>')
        else:
            links.append(f'<a class="page-numbers" href="{section_page_path(section_id, number)}">{number}</a>')
    if page < pages:
        next_path = section_page_path(section_id, page + 1)
        links.append(f'<a class="next-page" rel="next" href="{next_path}">Older posts &raquo;</a>')
        extra_head.append(f'<link rel="next" href="{e(view.url(next_path))}">')
    extra_head.append(
        f'<link rel="alternate" type="application/rss+xml" title="{e(section.title)}" '
        f'href="{e(view.url(f"/section/{section_id}/feed.xml"))}">'
    )
    pagination = '<nav class="pagination" aria-label="Pages">\n' + "\n".join(links) + "\n</nav>"
    suffix = f" - page {page}" if page > 1 else ""
    return _listing(
        view,
        title=f"{section.title}{suffix} | {view.name}",
        heading=section.title,
        intro=section.description,
        path=section_page_path(section_id, page),
        items=items,
        crumbs=[("/", "Home")],
        pagination=pagination,
        extra_head=extra_head,
        body_class=f"archive category category-{section_id}",
    )


def render_tag(view: SiteView, tag_slug: str) -> str | None:
    """All stories with a tag, or None for an unknown tag."""
    items = [a for a in view.entries if tag_slug in {slugify(t) for t in a.tags}]
    if not items:
        return None
    name = next(t for t in items[0].tags if slugify(t) == tag_slug)
    return _listing(
        view,
        title=f"{name} | {view.name}",
        heading=f"Tag: {name}",
        intro=f"Stories tagged {name}.",
        path=f"/tag/{tag_slug}/",
        items=items,
        crumbs=[("/", "Home")],
        body_class="archive tag",
    )


def render_author(view: SiteView, author_id: str) -> str | None:
    """An author's page (bio and stories), or None for an unknown author."""
    items = [a for a in view.entries if a.author.id == author_id]
    if not items:
        return None
    author = items[0].author
    return _listing(
        view,
        title=f"{author.name}, {author.role} | {view.name}",
        heading=author.name,
        intro=author.bio,
        path=f"/author/{author_id}/",
        items=items,
        crumbs=[("/", "Home")],
        body_class="archive author",
    )


# -- other pages ------------------------------------------------------------------------------------------


def _simple_page(view: SiteView, path: str, title: str, paragraphs: Sequence[str], body_class: str) -> str:
    head = _head(
        view, f"{title} | {view.name}", paragraphs[0], view.url(path), ['<meta property="og:type" content="website">']
    )
    text = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs)
    body = f"""{_cookie_notice("cookie-notice")}
{_header_a(view, "")}
<div class="breadcrumbs">YOU ARE AT: <a href="/">Home</a> &raquo; <span class="current">{e(title)}</span></div>
<main id="main" class="content-area page">
<h1 class="page-title">{e(title)}</h1>
<div class="page-content">
{text}
</div>
</main>
{_footer(view)}"""
    return _document(head, body_class, body)


def render_static_page(view: SiteView, path: str) -> str | None:
    """About, contact, privacy and terms pages (short, not articles), or None for another path."""
    title = STATIC_PAGES.get(path)
    if title is None:
        return None
    texts = {
        "/about/": [
            f"{view.name} reports on technology, telecoms and the money behind them, from Tokyo, Seoul, "
            "Singapore, London, Stockholm and Brussels.",
            view.disclaimer,
        ],
        "/contact/": [
            "News tips: tips@circuitledger.invalid. Corrections: corrections@circuitledger.invalid.",
            "Advertising and events: partners@circuitledger.invalid.",
        ],
        "/privacy/": [
            "We use cookies to measure readership and remember your preferences. We never sell your data.",
            "Newsletter subscribers can unsubscribe at any time from the link in every email.",
        ],
        "/terms/": [
            "Content on this site is provided for demonstration purposes and may not be reproduced.",
        ],
    }
    return _simple_page(view, path, title, texts[path], "page")


def render_private(view: SiteView) -> str:
    """The staff-only page under /private/ that robots.txt forbids."""
    return _simple_page(
        view,
        PRIVATE_PATH,
        "Editorial calendar (staff only)",
        ["Internal planning page. Crawlers must not fetch this: /private/ is disallowed in robots.txt."],
        "page private",
    )


def render_not_found(view: SiteView, path: str) -> str:
    """The 404 page."""
    return _simple_page(
        view,
        path,
        "Page not found",
        ["Sorry, we could not find that page. It may have been moved or deleted."],
        "error404",
    )
