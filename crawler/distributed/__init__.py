"""Scale-out: crawl cycles shared by many worker processes through Redis (scrapy-redis) and PostgreSQL.

One scheduler (``newswatch run --distributed``) records each site's crawl run and seeds its entry points
into that run's scrapy-redis queue (a *cycle*); any number of ``newswatch worker`` processes, on any
machines, join every open cycle and crawl from its queue; the scheduler closes the cycle once its queue
is empty and no worker is busy, adds up what the workers reported and records the run.
"""
