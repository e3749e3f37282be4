"""review: full-text search over flagged articles only; indexes for the review list

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

The review list shows flagged articles only (those with a match), about a tenth of what is stored, so the
search index now holds just those: ten times less to search, and unflagged articles cost nothing to index.

* SQLite: ``article_fts`` becomes an FTS5 table with its own copy of the title and text (so that rows leave
  it by rowid alone), filled by triggers on ``match`` (the first match of an article adds it, removing the
  last one takes it out) and kept in step by triggers on ``article`` (title or text changed, row deleted).
* PostgreSQL: a table ``article_fts (article_id, document tsvector)`` with a GIN index, kept by the same
  triggers, replaces the expression index over every article (re-checking a row against that index re-parsed
  the whole text, about half a millisecond an article; the stored ``document`` is read instead).

Both are named ``article_fts`` so that schema comparisons leave them alone (``crawler.models.include_name``).

Indexes: ``match (rule_id, article_id)`` replaces ``match (rule_id)`` (a rule's articles straight from the
index); ``article (created_at, id)`` and ``article (site_id, created_at, id)`` replace ``article (created_at)``
and ``article (site_id)``: the review list walks articles in date order (of one site) on the index alone.
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_ADD = """INSERT INTO article_fts(rowid, title, text)
        SELECT id, title, text FROM article
        WHERE id = {ref}.article_id AND NOT EXISTS (SELECT 1 FROM article_fts WHERE rowid = {ref}.article_id);"""
_SQLITE_DROP = """DELETE FROM article_fts
        WHERE rowid = {ref}.article_id AND NOT EXISTS (SELECT 1 FROM match WHERE article_id = {ref}.article_id);"""
_SQLITE_UP = [
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_insert",
    "DROP TABLE IF EXISTS article_fts",
    "CREATE VIRTUAL TABLE article_fts USING fts5(title, text, tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO article_fts(rowid, title, text) SELECT id, title, text FROM article"
    " WHERE id IN (SELECT article_id FROM match)",
    f"CREATE TRIGGER article_fts_match_insert AFTER INSERT ON match BEGIN\n    {_SQLITE_ADD.format(ref='new')}\nEND",
    f"CREATE TRIGGER article_fts_match_delete AFTER DELETE ON match BEGIN\n    {_SQLITE_DROP.format(ref='old')}\nEND",
    f"""CREATE TRIGGER article_fts_match_update AFTER UPDATE OF article_id ON match BEGIN
    {_SQLITE_DROP.format(ref="old")}
    {_SQLITE_ADD.format(ref="new")}
END""",
    """CREATE TRIGGER article_fts_update AFTER UPDATE OF title, text ON article BEGIN
        UPDATE article_fts SET title = new.title, text = new.text WHERE rowid = new.id;
    END""",
    """CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
        DELETE FROM article_fts WHERE rowid = old.id;
    END""",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_match_update",
    "DROP TRIGGER IF EXISTS article_fts_match_delete",
    "DROP TRIGGER IF EXISTS article_fts_match_insert",
    "DROP TABLE IF EXISTS article_fts",
]
_PG_UP = [
    "DROP INDEX IF EXISTS ix_article_search",
    """CREATE TABLE article_fts (
        article_id INTEGER NOT NULL,
        document TSVECTOR NOT NULL,
        CONSTRAINT pk_article_fts PRIMARY KEY (article_id),
        CONSTRAINT fk_article_fts_article_id_article FOREIGN KEY (article_id) REFERENCES article (id) ON DELETE CASCADE
    )""",
    """INSERT INTO article_fts (article_id, document)
        SELECT id, to_tsvector('simple', title || ' ' || text) FROM article
        WHERE id IN (SELECT article_id FROM match)""",
    "CREATE INDEX ix_article_fts_document ON article_fts USING gin (document)",
    """CREATE FUNCTION article_fts_match() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            DELETE FROM article_fts
            WHERE article_id = OLD.article_id AND NOT EXISTS (SELECT 1 FROM match WHERE article_id = OLD.article_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO article_fts (article_id, document)
            SELECT id, to_tsvector('simple', title || ' ' || text) FROM article
            WHERE id = NEW.article_id AND NOT EXISTS (SELECT 1 FROM article_fts WHERE article_id = NEW.article_id)
            ON CONFLICT (article_id) DO NOTHING;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION article_fts_article() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE article_fts SET document = to_tsvector('simple', NEW.title || ' ' || NEW.text)
        WHERE article_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER article_fts_match AFTER INSERT OR DELETE OR UPDATE OF article_id ON match
        FOR EACH ROW EXECUTE FUNCTION article_fts_match()""",
    """CREATE TRIGGER article_fts_article AFTER UPDATE OF title, text ON article
        FOR EACH ROW EXECUTE FUNCTION article_fts_article()""",
    "ANALYZE article_fts",  # the planner's word frequencies, before autovacuum gets to it
]
_PG_DOWN = [
    "DROP TRIGGER IF EXISTS article_fts_article ON article",
    "DROP TRIGGER IF EXISTS article_fts_match ON match",
    "DROP FUNCTION IF EXISTS article_fts_article()",
    "DROP FUNCTION IF EXISTS article_fts_match()",
    "DROP TABLE IF EXISTS article_fts",
]


def upgrade() -> None:
    # Plain index statements, never batch mode: on SQLite a batch operation may copy the table, and the copy
    # would have lost the triggers.
    op.drop_index("ix_match_rule_id", table_name="match")
    op.create_index("ix_match_rule_article", "match", ["rule_id", "article_id"], unique=False)
    op.drop_index("ix_article_site_id", table_name="article")
    op.create_index("ix_article_site_created", "article", ["site_id", "created_at", "id"], unique=False)
    op.drop_index("ix_article_created_at", table_name="article")
    op.create_index("ix_article_created_id", "article", ["created_at", "id"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_UP if dialect == "sqlite" else _PG_UP if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_DOWN if dialect == "sqlite" else _PG_DOWN if dialect == "postgresql" else []:
        op.execute(statement)
    previous = importlib.import_module("crawler.migrations.versions.0005_triage_search")  # search over every article
    for statement in previous._SQLITE_UP if dialect == "sqlite" else previous._PG_UP if dialect == "postgresql" else []:
        op.execute(statement)
    op.drop_index("ix_article_created_id", table_name="article")
    op.create_index("ix_article_created_at", "article", ["created_at"], unique=False)
    op.drop_index("ix_article_site_created", table_name="article")
    op.create_index("ix_article_site_id", "article", ["site_id"], unique=False)
    op.drop_index("ix_match_rule_article", table_name="match")
    op.create_index("ix_match_rule_id", "match", ["rule_id"], unique=False)
