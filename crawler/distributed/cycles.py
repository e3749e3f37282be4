"""One crawl cycle's state in Redis: its keys, opening and closing it, URL claims, busy marks and the
workers' reports (plain functions over a redis client; no Scrapy).

A cycle is one crawl run of one site shared by the workers; its id is the run's id in the database.
Every key carries the cycle id and an expiry, so a cycle whose scheduler died leaves nothing behind
for long, and a later cycle never sees an earlier one's claims.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from redis import Redis

DEFAULT_PREFIX = "newswatch"
GRACE = timedelta(minutes=5)  # a cycle's keys outlive its time limit by this much
LIVE = 15.0  # seconds: a worker without a sign of life for this long is gone (workers give one a second)


@dataclass(frozen=True)
class Cycle:
    """The Redis keys of one site's crawl cycle (``run_id``: its crawl run in the database)."""

    run_id: int
    site_id: str
    prefix: str = DEFAULT_PREFIX

    def key(self, name: str) -> str:
        """The cycle's key called ``name``."""
        return f"{self.prefix}:cycle:{self.run_id}:{name}"

    @property
    def queue_key(self) -> str:
        """scrapy-redis's request queue (a sorted set of pickled requests)."""
        return self.key("requests")

    @property
    def dupefilter_key(self) -> str:
        """scrapy-redis's request fingerprints (for requests without dont_filter: redirect hops)."""
        return self.key("dupefilter")

    def all_keys(self) -> list[str]:
        """Every key the cycle may have."""
        names = ("requests", "dupefilter", "claimed", "open", "busy", "stats", "failed", "problems", "joined",
                 "reported")
        return [self.key(name) for name in names]


def cycles_key(prefix: str = DEFAULT_PREFIX) -> str:
    """The hash of the open cycles: run id -> the cycle's description (JSON)."""
    return f"{prefix}:cycles"


def open_cycle(client: Redis, cycle: Cycle, ttl: float, info: Mapping[str, Any] | None = None) -> None:
    """Announce the cycle to the workers; it stays open at most ``ttl`` seconds."""
    record = json.dumps({"site": cycle.site_id, "run": cycle.run_id, "opened": time.time(), **(info or {})})
    pipe = client.pipeline()
    pipe.set(cycle.key("open"), "1", ex=max(1, int(ttl)))
    pipe.hset(cycles_key(cycle.prefix), str(cycle.run_id), record)
    pipe.execute()


def listed_cycles(client: Redis, prefix: str = DEFAULT_PREFIX) -> list[Cycle]:
    """The cycles announced and not closed yet, oldest first."""
    found = []
    for run_id, raw in client.hgetall(cycles_key(prefix)).items():
        try:
            record = json.loads(raw)
            found.append(Cycle(int(run_id), str(record["site"]), prefix))
        except (ValueError, KeyError, TypeError):
            continue  # not ours: left alone
    return sorted(found, key=lambda cycle: cycle.run_id)


def workers_key(prefix: str = DEFAULT_PREFIX) -> str:
    """The hash of the workers' last signs of life: worker -> time."""
    return f"{prefix}:workers"


def beat(client: Redis, prefix: str, worker: str, live: float) -> None:
    """A sign of life from ``worker``, good for ``live`` seconds (Redis expires it: no clocks compared)."""
    pipe = client.pipeline(transaction=False)
    pipe.hset(workers_key(prefix), worker, str(time.time()))
    pipe.set(f"{workers_key(prefix)}:{worker}", "1", ex=max(1, int(live)))
    pipe.execute()


def leave(client: Redis, prefix: str, worker: str) -> None:
    """``worker`` stops: it is no longer waited for."""
    pipe = client.pipeline(transaction=False)
    pipe.hdel(workers_key(prefix), worker)
    pipe.delete(f"{workers_key(prefix)}:{worker}")
    pipe.execute()


def live_workers(client: Redis, prefix: str) -> set[str]:
    """The workers whose last sign of life has not expired (the others are gone: killed, or cut off)."""
    names = [_text(name) for name in client.hkeys(workers_key(prefix))]
    if not names:
        return set()
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.exists(f"{workers_key(prefix)}:{name}")
    alive = pipe.execute()
    gone = [name for name, up in zip(names, alive, strict=True) if not up]
    if gone:
        client.hdel(workers_key(prefix), *gone)
    return {name for name, up in zip(names, alive, strict=True) if up}


def is_open(client: Redis, cycle: Cycle) -> bool:
    """Whether the cycle still takes work (its scheduler has not closed it, and it has not expired)."""
    return bool(client.exists(cycle.key("open")))


def claim(client: Redis, cycle: Cycle, urls: Iterable[str], ttl: float) -> set[str]:
    """Claim ``urls`` for fetching in this cycle: those no worker claimed before (one round trip)."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return set()
    pipe = client.pipeline(transaction=False)
    for url in wanted:
        pipe.sadd(cycle.key("claimed"), url)
    pipe.expire(cycle.key("claimed"), max(1, int(ttl)))
    added = pipe.execute()[:-1]
    return {url for url, new in zip(wanted, added, strict=True) if new}


def mark_busy(client: Redis, cycle: Cycle, worker: str, ttl: float) -> None:
    """Note that ``worker`` has work of this cycle in hand (refreshed as it goes)."""
    pipe = client.pipeline(transaction=False)
    pipe.hset(cycle.key("busy"), worker, str(time.time()))
    pipe.expire(cycle.key("busy"), max(1, int(ttl)))
    pipe.execute()


def mark_idle(client: Redis, cycle: Cycle, worker: str) -> None:
    """Note that ``worker`` has nothing of this cycle in hand."""
    client.hdel(cycle.key("busy"), worker)


@dataclass(frozen=True)
class Progress:
    """How far a cycle is: requests waiting in its queue and the workers busy with it."""

    queued: int
    busy: tuple[str, ...]

    @property
    def quiet(self) -> bool:
        """Nothing waiting and nobody working."""
        return self.queued == 0 and not self.busy


def progress(client: Redis, cycle: Cycle) -> Progress:
    """The cycle's progress; a busy worker whose sign of life expired is gone (the requests it held are
    lost to this cycle: their pages are fetched by the next one)."""
    pipe = client.pipeline(transaction=False)
    pipe.zcard(cycle.queue_key)
    pipe.hgetall(cycle.key("busy"))
    queued, busy = pipe.execute()
    live = live_workers(client, cycle.prefix)
    return Progress(int(queued), tuple(sorted(w for w in map(_text, busy) if w in live)))


def join(client: Redis, cycle: Cycle, worker: str, ttl: float) -> None:
    """Note that ``worker`` crawls this cycle (the scheduler waits for its report)."""
    pipe = client.pipeline(transaction=False)
    pipe.sadd(cycle.key("joined"), worker)
    pipe.expire(cycle.key("joined"), max(1, int(ttl)))
    pipe.execute()


def report(
    client: Redis,
    cycle: Cycle,
    worker: str,
    counts: Mapping[str, int],
    failed_sources: Mapping[str, str],
    problems: Iterable[str],
    ttl: float,
) -> None:
    """Add one worker's counts, failed sources and problems to the cycle's totals (one transaction)."""
    pipe = client.pipeline()
    for name, value in counts.items():
        if value:
            pipe.hincrby(cycle.key("stats"), name, int(value))
    for url, why in failed_sources.items():
        pipe.hset(cycle.key("failed"), url, why)
    for problem in problems:
        pipe.rpush(cycle.key("problems"), problem)
    pipe.sadd(cycle.key("reported"), worker)
    for name in ("stats", "failed", "problems", "reported"):
        pipe.expire(cycle.key(name), max(1, int(ttl)))
    pipe.execute()


@dataclass
class Totals:
    """What the workers reported for a cycle."""

    counts: dict[str, int] = field(default_factory=dict)
    failed_sources: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    joined: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def totals(client: Redis, cycle: Cycle) -> Totals:
    """The cycle's totals so far."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(cycle.key("stats"))
    pipe.hgetall(cycle.key("failed"))
    pipe.lrange(cycle.key("problems"), 0, 999)
    pipe.smembers(cycle.key("joined"))
    pipe.smembers(cycle.key("reported"))
    counts, failed, problems, joined, reported = pipe.execute()
    return Totals(
        counts={_text(k): int(v) for k, v in counts.items()},
        failed_sources={_text(k): _text(v) for k, v in failed.items()},
        problems=[_text(p) for p in problems],
        joined={_text(w) for w in joined},
        reported={_text(w) for w in reported},
    )


def close_cycle(client: Redis, cycle: Cycle) -> None:
    """Stop handing out the cycle's work: workers finish what they hold, report and leave it."""
    pipe = client.pipeline()
    pipe.delete(cycle.key("open"))
    pipe.hdel(cycles_key(cycle.prefix), str(cycle.run_id))
    pipe.delete(cycle.queue_key)  # what is left is fetched by the next cycle (nothing of it was recorded)
    pipe.execute()


def forget_closed(client: Redis, cycles: list[Cycle]) -> list[Cycle]:
    """Of the listed ``cycles``, those still open; the others (whose scheduler died before closing them,
    or which expired) are taken off the list and their queues dropped."""
    if not cycles:
        return []
    pipe = client.pipeline(transaction=False)
    for cycle in cycles:
        pipe.exists(cycle.key("open"))
    still = pipe.execute()
    for cycle, up in zip(cycles, still, strict=True):
        if not up:
            close_cycle(client, cycle)
    return [cycle for cycle, up in zip(cycles, still, strict=True) if up]


def remove_cycle(client: Redis, cycle: Cycle) -> None:
    """Delete every key of the cycle (once its run is recorded)."""
    client.delete(*cycle.all_keys())
