"""Read saved articles for `match` and `rules test`: HTML (plain or gzip), JSON objects and plain text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from crawler.article import Skipped
from crawler.extract import extract_page, load_html_file


class InputError(Exception):
    """A file cannot be read as an article; the message names the file."""


@dataclass(frozen=True)
class Document:
    """A title and body to run the rules on."""

    path: str
    title: str
    text: str


def load_document(path: Path) -> Document:
    """Load ``path``: .html/.htm(.gz) are extracted, .json needs "title" and "text", .txt has the title first."""
    name = path.name.lower()
    try:
        if name.endswith((".html", ".htm", ".html.gz", ".htm.gz")):
            result = extract_page(load_html_file(path), None)
            if isinstance(result, Skipped):
                raise InputError(f"{path}: no article found ({result.reason})")
            return Document(str(path), result.title, result.text)
        if name.endswith(".json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("text", data.get("body")), str):
                raise InputError(f'{path}: expected a JSON object with "title" and "text"')
            return Document(str(path), str(data.get("title") or ""), str(data.get("text", data.get("body"))))
        if name.endswith(".txt"):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            return Document(str(path), lines[0].strip() if lines else "", "\n".join(lines[1:]).strip())
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: {exc}") from None
    raise InputError(f"{path}: unsupported file type (use .html, .html.gz, .json or .txt)")
