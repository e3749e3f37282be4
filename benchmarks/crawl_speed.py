"""Crawl throughput, re-crawl cost and memory on a generated local news site served by nginx.

Usage::

    .venv/bin/python benchmarks/crawl_speed.py                       # N = 5,000 pages: all figures
    .venv/bin/python benchmarks/crawl_speed.py --pages 20000 --skip-ceiling   # memory at N = 20,000
    .venv/bin/python benchmarks/crawl_speed.py --pages 500 --quick   # a smoke run

The site: N article pages whose bodies are the 181 real news pages of ``../shared/eval/extraction``
(cycled, each under its own URL), 100-link listing pages, an RSS feed of the newest 50 and a sitemap index
of 1,000-URL sitemaps. nginx (Debian's; ``apt-get install nginx``) serves it on 127.0.0.1 with gzip on the
wire (pre-compressed files), ETag and Last-Modified. Printed:

1. **ceiling**: the same N pages through ``extract_page`` on every core, no network (pages/s);
2. **end to end**: a full crawl into a fresh SQLite database (``crawl_sites`` as ``newswatch crawl`` runs
   it, the site with ``delay = 0`` and AutoThrottle off: politeness would measure the delay, not us);
   pages/s and its share of the ceiling (target >= 85 %);
3. **re-crawl**: a second crawl of the unchanged site: bytes downloaded as a share of the first crawl's
   (target <= 2 %), articles downloaded and extracted (target 0); then one new feed item: downloads
   (target exactly 1);
4. **memory**: peak RSS of the crawl process, and peak PSS of the crawl with its extraction workers
   (target <= 400 MB, flat in N).

Each crawl runs in its own process (``_crawl`` sub-command) whose memory is sampled from /proc.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "eval" / "extraction" / "html"
sys.path.insert(0, str(ROOT))

LISTING_SIZE = 100
SITEMAP_SIZE = 1000
FEED_SIZE = 50
LISTINGS_CRAWLED = 3


# --------------------------------------------------------------------------- the site


def build_site(root: Path, pages: int) -> list[str]:
    """Write the site under ``root``; returns the article paths, newest first."""
    bodies = sorted(PAGES.glob("*.html.gz"))
    if not bodies:
        raise SystemExit(f"no benchmark pages in {PAGES}")
    store = root / "bodies"
    store.mkdir(parents=True)
    for number, source in enumerate(bodies):
        raw = gzip.decompress(source.read_bytes())
        (store / f"{number}.html").write_bytes(raw)
        (store / f"{number}.html.gz").write_bytes(gzip.compress(raw, 6))
    news = root / "news"
    news.mkdir()
    paths = []
    for i in range(pages):
        body = i % len(bodies)
        for suffix in (".html", ".html.gz"):
            (news / f"{i}{suffix}").symlink_to(store / f"{body}{suffix}")
        paths.append(f"/news/{i}.html")
    paths.reverse()  # the highest number is the newest
    write_indexes(root, paths)
    return paths


def write_indexes(root: Path, paths: list[str], now: datetime | None = None) -> None:
    """Listings, feed, sitemaps and robots.txt for ``paths`` (newest first), each with a .gz twin."""
    now = now or datetime.now(UTC)
    base = os.environ["NW_BENCH_BASE"]  # feeds and sitemaps hold absolute URLs: the server's, chosen first

    def put(relative: str, text: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode()
        path.write_bytes(data)
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data, 6))

    lists = [paths[i : i + LISTING_SIZE] for i in range(0, len(paths), LISTING_SIZE)]
    for number, chunk in enumerate(lists, 1):
        links = "\n".join(f'<li><a href="{p}">Story {p.split("/")[-1][:-5]}</a></li>' for p in chunk)
        more = f'<a href="/list/{number + 1}.html">older</a>' if number < len(lists) else ""
        put(f"list/{number}.html", f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>News {number}"
            f"</title></head><body><ul>{links}</ul>{more}</body></html>")
    items = []
    for rank, path in enumerate(paths[:FEED_SIZE]):
        date = (now - timedelta(minutes=rank)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(
            f"<item><title>Story {escape(path)}</title><link>{base}{path}</link><pubDate>{date}</pubDate></item>"
        )
    put("feed.xml", f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
        f"<link>{base}/</link>{''.join(items)}</channel></rss>")
    maps = [paths[i : i + SITEMAP_SIZE] for i in range(0, len(paths), SITEMAP_SIZE)]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    children = []
    for number, chunk in enumerate(maps, 1):
        urls = "".join(f"<url><loc>{base}{p}</loc><lastmod>{stamp}</lastmod></url>" for p in chunk)
        put(f"sitemaps/{number}.xml", '<?xml version="1.0" encoding="utf-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')
        children.append(f"<sitemap><loc>{base}/sitemaps/{number}.xml</loc><lastmod>{stamp}</lastmod></sitemap>")
    put("sitemap.xml", '<?xml version="1.0" encoding="utf-8"?><sitemapindex '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{"".join(children)}</sitemapindex>')
    put("robots.txt", f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/html html; application/xml xml; application/rss+xml rss; text/plain txt; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/html text/plain application/xml;
    sendfile on;
    keepalive_requests 100000;
    gzip_static on;
    etag on;
    client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /feed.xml {{ types {{ application/rss+xml xml; }} }}
    }}
}}
"""


class Nginx:
    """nginx serving ``root`` on 127.0.0.1:``port`` until stopped."""

    def __init__(self, root: Path, work: Path, port: int) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise SystemExit("nginx is not installed: apt-get install nginx")
        (work / "tmp").mkdir(parents=True, exist_ok=True)
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=work, root=root, port=port))
        self.process = subprocess.Popen([binary, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"nginx did not start (see {work / 'error.log'})")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(timeout=10)


# --------------------------------------------------------------------------- measurements


def _extract(path: str) -> bool:
    from crawler.article import Skipped
    from crawler.extract import decode_html, extract_page

    html = decode_html(Path(path).read_bytes(), "utf-8")
    return not isinstance(extract_page(html, "http://127.0.0.1/news/x.html"), Skipped)


def ceiling(site: Path, pages: int, workers: int) -> float:
    """Pages per second of extraction alone on ``workers`` processes (the files, no network)."""
    files = [str(site / "news" / f"{i}.html") for i in range(pages)]
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        list(pool.imap_unordered(_extract, files[: workers * 4]))  # warm the workers up
        began = time.perf_counter()
        list(pool.imap_unordered(_extract, files, chunksize=8))
        return pages / (time.perf_counter() - began)


def _pss(pid: int) -> int:
    """Proportional set size in bytes (shared pages split between the processes sharing them)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _tree_rss(pid: int, cpu: dict[int, float] | None = None, each: dict[int, int] | None = None) -> tuple[int, int]:
    """RSS in bytes of process ``pid``, and the PSS of it with all its descendants (the extraction workers
    share their parent's pages copy-on-write: summing RSS would count those several times). ``cpu`` gets
    each process's CPU seconds so far (user + system), ``each`` each process's PSS."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
            ticks[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        pss = _pss(current)
        total += pss
        if each is not None:
            each[current] = pss
        if cpu is not None and current in ticks:
            cpu[current] = ticks[current]
        stack.extend(children.get(current, []))
    return rss.get(pid, 0), total


def crawl(config: Path, database: Path, workers: int | None, profile: Path | None = None) -> dict[str, Any]:
    """Run one crawl in its own process; its result with the peak memory sampled every 0.2 s. With
    ``profile``, py-spy samples the crawl and its workers into that file (collapsed stacks)."""
    command = [sys.executable, __file__, "_crawl", str(config), str(database)]
    if workers is not None:
        command += ["--workers", str(workers)]
    if profile is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        command = [spy, "record", "--subprocesses", "--nonblocking", "-r", "50", "-f", "raw", "-o", str(profile),
                   "--", *command]
    env = {**os.environ, "NEWSWATCH_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    peak = [0, 0]
    cpu: dict[int, float] = {}
    peak_each: dict[int, int] = {}

    def sample() -> None:
        while process.poll() is None:
            each: dict[int, int] = {}
            main, total = _tree_rss(process.pid, cpu, each)
            peak[0], peak[1] = max(peak[0], main), max(peak[1], total)
            for pid, pss in each.items():
                peak_each[pid] = max(peak_each.get(pid, 0), pss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"the crawl failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads([line for line in out.decode().splitlines() if line.startswith("{")][-1])
    result["peak_main_mb"] = peak[0] / 2**20
    result["peak_total_mb"] = peak[1] / 2**20
    result["peak_main_pss_mb"] = peak_each.get(process.pid, 0) / 2**20
    others = sorted((pss for pid, pss in peak_each.items() if pid != process.pid), reverse=True)
    result["peak_others_pss_mb"] = [round(pss / 2**20) for pss in others[:4]]  # the largest: forkserver, workers
    result["cpu_main"] = cpu.get(process.pid, 0.0)  # as last sampled (up to 0.2 s short)
    result["cpu_others"] = sum(seconds for pid, seconds in cpu.items() if pid != process.pid)
    return result


def _crawl_main(config: Path, database: Path, workers: int | None) -> None:
    """The `_crawl` sub-command: one full crawl, its figures as one JSON line on stdout."""
    from crawler.alerts.cli import alert_setup
    from crawler.config import load_config
    from crawler.crawl import crawl_sites, run_on_reactor
    from crawler.httpcache import http_cache
    from crawler.logs import setup_logging
    from crawler.store import open_database

    setup_logging("WARNING", fmt="text")
    cfg = load_config(config)
    engine = open_database(f"sqlite:///{database}")
    overrides = {
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        **http_cache(database.parent / "httpcache"),  # as `newswatch crawl` keeps it in its data folder
        **json.loads(os.environ.get("NW_BENCH_SCRAPY", "{}")),  # experiments: extra Scrapy settings
    }
    began = time.perf_counter()
    runs = run_on_reactor(
        lambda: crawl_sites(
            engine, cfg.sites, cfg.ruleset(), settings=overrides, max_age=None, alerts=alert_setup(cfg),
            workers=workers,
        )
    )
    elapsed = time.perf_counter() - began
    run = runs[0]
    stats = run.stats()
    print(json.dumps({"seconds": elapsed, "new": run.new_articles, "pages": run.pages, "status": run.status,
                      **{k: v for k, v in stats.items() if isinstance(v, (int, float))}}))


def site_config(folder: Path, base: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    listings = ", ".join(f'{{ url = "{base}/list/{n}.html" }}' for n in range(1, LISTINGS_CRAWLED + 1))
    (folder / "sites.toml").write_text(
        f'[[site]]\nid = "bench"\nname = "Bench News"\nfeeds = ["{base}/feed.xml"]\n'
        f'sitemaps = ["{base}/sitemap.xml"]\nlistings = [{listings}]\ndelay = 0\n'
        'allow_private_network = true\nbackfill = "0"\n',
        encoding="utf-8",
    )
    shutil.copy(ROOT / "config" / "rules.toml", folder / "rules.toml")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=None, help="extraction workers (default: one per core)")
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--quick", action="store_true", help="skip the re-crawl steps")
    parser.add_argument("--profile", type=Path, help="py-spy the first crawl into this file (collapsed stacks; "
                        "needs `pip install py-spy`; the CPU and memory figures then include py-spy)")
    args = parser.parse_args()

    from crawler.analysis import default_workers

    workers = args.workers or default_workers()
    work = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    work.chmod(0o755)  # nginx's workers drop privileges: they must be able to read the site
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ["NW_BENCH_BASE"] = base
    try:
        began = time.perf_counter()
        paths = build_site(work / "site", args.pages)
        print(f"site: {args.pages} article pages at {base} (built in {time.perf_counter() - began:.1f} s), "
              f"{workers} extraction workers, {os.cpu_count()} cores")
        if not args.skip_ceiling:
            rate = ceiling(work / "site", args.pages, workers)
            print(f"1. ceiling (extract_page on {workers} processes, no network): {rate:.1f} pages/s")
        server = Nginx(work / "site", work / "nginx", port)
        try:
            config = site_config(work / "config", base)
            database = work / "data" / "newswatch.db"
            database.parent.mkdir()
            first = crawl(config, database, args.workers, args.profile)
            e2e = first["new"] / first["seconds"]
            print(f"2. end to end: {first['new']} new articles of {first['pages']} pages in {first['seconds']:.1f} s "
                  f"= {e2e:.1f} pages/s" + ("" if args.skip_ceiling else f" = {e2e / rate:.0%} of the ceiling"))
            print(f"   downloaded {first['wire_bytes'] / 2**20:.1f} MiB (compressed bodies); CPU: crawl process "
                  f"{first['cpu_main']:.0f} s ({1000 * first['cpu_main'] / max(1, first['pages']):.1f} ms a page), "
                  f"extraction workers {first['cpu_others']:.0f} s "
                  f"({1000 * first['cpu_others'] / max(1, first['pages']):.1f} ms a page)")
            print(f"4. memory: peak RSS {first['peak_main_mb']:.0f} MB (crawl process); peak PSS "
                  f"{first['peak_total_mb']:.0f} MB with its extraction workers (peak PSS of each: crawl process "
                  f"{first['peak_main_pss_mb']:.0f} MB, largest others {first['peak_others_pss_mb']} MB)")
            if not args.quick:
                second = crawl(config, database, args.workers)
                share = second["wire_bytes"] / max(1, first["wire_bytes"])
                print(f"3. re-crawl: {second['wire_bytes'] / 1024:.1f} KiB = {share:.3%} of the first crawl's bytes; "
                      f"{second['pages']} articles downloaded, {second['new']} new, "
                      f"{second['not_modified']} answers 304 Not Modified")
                (work / "site" / "news" / "new.html").symlink_to(work / "site" / "bodies" / "0.html")
                (work / "site" / "news" / "new.html.gz").symlink_to(work / "site" / "bodies" / "0.html.gz")
                write_indexes(work / "site", ["/news/new.html", *paths])
                third = crawl(config, database, args.workers)
                print(f"   one new feed item: {third['pages']} article download(s), {third['new']} new")
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_crawl":
        sub = argparse.ArgumentParser()
        sub.add_argument("command")
        sub.add_argument("config", type=Path)
        sub.add_argument("database", type=Path)
        sub.add_argument("--workers", type=int, default=None)
        options = sub.parse_args()
        _crawl_main(options.config, options.database, options.workers)
    else:
        main()
