"""Warm the extraction workers' forkserver: load once what every worker would otherwise load for itself.

Imported only by the forkserver of :class:`crawler.analysis.AnalysisPool` (its preload list): the language
model (about 70 MB) and the parsers' tables are then shared, copy-on-write, by every worker forked from it.
"""

import gc

from crawler.extract import warm_up

warm_up()

# Everything loaded so far lives as long as the workers: keep the garbage collector from walking it, which
# would write to (and so un-share) every page of it in each worker.
gc.collect()
gc.freeze()
