"""Warm the extraction workers' forkserver: load once what every worker would otherwise load for itself.

Imported only by the forkserver of :class:`crawler.analysis.AnalysisPool` (its preload list): the language
model (about 70 MB) and the parsers' tables are then shared, copy-on-write, by every worker forked from it.
"""

import gc
import logging

from crawler.extract import warm_up

try:
    warm_up()
except Exception as exc:  # e.g. no room to unpack the language model: each worker loads what it needs itself
    logging.getLogger(__name__).warning("extraction workers start cold: %s: %s", type(exc).__name__, exc)

# Everything loaded so far lives as long as the workers: keep the garbage collector from walking it, which
# would write to (and so un-share) every page of it in each worker.
gc.collect()
gc.freeze()
