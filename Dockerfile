# Newswatch image: `docker compose up` uses it for the migration, the service (`newswatch run`) and the web page.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 10001 newswatch

COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY spiders ./spiders
RUN pip install .

COPY config ./config
ENV NEWSWATCH_CONFIG=/app/config NEWSWATCH_DATA_DIR=/data
RUN mkdir -p /data && chown newswatch /data
USER newswatch
EXPOSE 8080
STOPSIGNAL SIGTERM
VOLUME ["/data"]
ENTRYPOINT ["newswatch"]
CMD ["run"]
