"""Machine-readable documents of the demo site: RSS and Atom feeds, sitemaps, Google News sitemap, robots.txt.

Feeds and sitemaps list every story the site publishes (articles and stubs), newest first, with their
dates. RSS ``<link>`` elements carry ``utm_*`` tracking parameters, as many real feeds do; the ``<guid>``
and every other document use the clean permalink.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import format_datetime

from crawler.demo.content import SampleArticle
from crawler.demo.render import PRIVATE_PATH, SiteView, e, iso

FEED_TRACKING = "utm_source=rss&utm_medium=feed&utm_campaign=latest"
"""Query string appended to article links in the RSS feed."""
SITEMAP_CHILDREN = ("/sitemap-posts.xml", "/news-sitemap.xml", "/sitemap-pages.xml")
"""Child sitemaps listed by the sitemap index ``/sitemap.xml``."""
PAGE_PATHS = ("/", "/about/", "/contact/")
"""Non-article pages listed in ``/sitemap-pages.xml``."""


def _latest(view: SiteView, entries: Sequence[SampleArticle]) -> str:
    moments = [a.last_modified for a in entries] or [view.now]
    return iso(max(moments))


def render_rss(view: SiteView, entries: Sequence[SampleArticle], *, title: str, self_path: str) -> str:
    """An RSS 2.0 feed of ``entries``."""
    items = []
    for article in entries:
        url = view.url(article.path)
        section = view.sections[article.section]
        categories = "\n".join(f"<category>{e(c)}</category>" for c in (section.title, *article.tags))
        items.append(f"""<item>
<title>{e(article.title)}</title>
<link>{e(url + "?" + FEED_TRACKING)}</link>
<guid isPermaLink="true">{e(url)}</guid>
<pubDate>{format_datetime(article.published)}</pubDate>
<dc:creator>{e(article.author.name)}</dc:creator>
{categories}
<description>{e(article.teaser)}</description>
</item>""")
    build = max([a.last_modified for a in entries] or [view.now])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>{e(title)}</title>
<link>{e(view.url("/"))}</link>
<description>{e(view.tagline)}</description>
<language>en</language>
<lastBuildDate>{format_datetime(build)}</lastBuildDate>
<atom:link href="{e(view.url(self_path))}" rel="self" type="application/rss+xml"/>
{chr(10).join(items)}
</channel>
</rss>
"""


def render_atom(view: SiteView, entries: Sequence[SampleArticle]) -> str:
    """An Atom 1.0 feed of ``entries``."""
    items = []
    for article in entries:
        url = view.url(article.path)
        items.append(f"""<entry>
<title>{e(article.title)}</title>
<link rel="alternate" type="text/html" href="{e(url)}"/>
<id>{e(url)}</id>
<published>{iso(article.published)}</published>
<updated>{iso(article.last_modified)}</updated>
<author><name>{e(article.author.name)}</name></author>
<category term="{e(view.sections[article.section].title)}"/>
<summary>{e(article.teaser)}</summary>
</entry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<title>{e(view.name)}</title>
<subtitle>{e(view.tagline)}</subtitle>
<link rel="alternate" type="text/html" href="{e(view.url("/"))}"/>
<link rel="self" type="application/atom+xml" href="{e(view.url("/atom.xml"))}"/>
<id>{e(view.url("/"))}</id>
<updated>{_latest(view, entries)}</updated>
{chr(10).join(items)}
</feed>
"""


def render_sitemap_index(view: SiteView) -> str:
    """The sitemap index ``/sitemap.xml``."""
    lastmod = _latest(view, view.entries)
    children = "\n".join(
        f"<sitemap><loc>{e(view.url(path))}</loc><lastmod>{lastmod}</lastmod></sitemap>" for path in SITEMAP_CHILDREN
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{children}
</sitemapindex>
"""


def render_sitemap_posts(view: SiteView) -> str:
    """``/sitemap-posts.xml``: every story with its last modification time and picture."""
    urls = "\n".join(
        f"""<url>
<loc>{e(view.url(article.path))}</loc>
<lastmod>{iso(article.last_modified)}</lastmod>
<image:image><image:loc>{e(view.url(f"/media/images/{article.slug}.png"))}</image:loc></image:image>
</url>"""
        for article in view.entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
{urls}
</urlset>
"""


def render_sitemap_pages(view: SiteView) -> str:
    """``/sitemap-pages.xml``: the home page and static pages (not articles)."""
    lastmod = _latest(view, view.entries)
    urls = "\n".join(f"<url><loc>{e(view.url(path))}</loc><lastmod>{lastmod}</lastmod></url>" for path in PAGE_PATHS)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}
</urlset>
"""


def render_news_sitemap(view: SiteView) -> str:
    """``/news-sitemap.xml``: a Google News sitemap of every story."""
    urls = "\n".join(
        f"""<url>
<loc>{e(view.url(article.path))}</loc>
<lastmod>{iso(article.last_modified)}</lastmod>
<news:news>
<news:publication><news:name>{e(view.name)}</news:name><news:language>en</news:language></news:publication>
<news:publication_date>{iso(article.published)}</news:publication_date>
<news:title>{e(article.title)}</news:title>
<news:keywords>{e(", ".join(article.tags))}</news:keywords>
</news:news>
</url>"""
        for article in view.entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>
"""


def render_robots(view: SiteView) -> str:
    """``/robots.txt``: everything allowed except ``/private/``; names the sitemap index."""
    private_dir = PRIVATE_PATH.rsplit("/", 2)[0] + "/"
    return f"""# robots.txt for {view.name}
User-agent: *
Disallow: {private_dir}
Allow: /

User-agent: BadBot
Disallow: /

Sitemap: {view.url("/sitemap.xml")}
"""
