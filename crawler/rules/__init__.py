"""Alert rules: parse boolean queries and match articles against them.

The query language (this round)
-------------------------------
``softbank AND (invest* OR "joint venture" OR stake) NOT hawks``

- ``word``: a whole word, case-insensitively (NFKC + casefold on both sides, so ``ＡＩ`` is ``ai``).
  ``ai`` does not match ``said``; ``iot`` matches ``IoT-based``; ``softbank`` matches ``SoftBank's``.
- ``prefix*``: any word starting with ``prefix`` (``invest*``: invest, invests, investment, investor...).
- ``"a phrase"``: consecutive words. Punctuation between words is ignored, so ``"joint venture"``
  matches ``joint-venture`` and ``joint venture`` (and, rarely wanted, ``joint. Venture``). The last
  word may be a prefix: ``"vision fund*"``. Phrases do not run from the title into the body.
  A bare term that contains hyphens, apostrophes, dots, underscores or ``&`` (``IoT-based``, ``U.S.``)
  is the phrase of its words.
- ``a AND b``, ``a b`` (juxtaposition is AND), ``a OR b``, ``NOT a``, ``-a`` (no space after ``-``),
  and parentheses. Precedence: NOT, then AND, then OR: ``a OR b c`` is ``a OR (b AND c)`` and
  ``a b OR c`` is ``(a AND b) OR c``.
- Operators are the upper-case keywords ``AND`` ``OR`` ``NOT``; lower-case ``and``/``or``/``not`` (or
  quoted ``"AND"``) are ordinary words.
- Japanese, Chinese, Korean (and Thai, Lao, Khmer, Myanmar) text has no spaces between words: a term in
  those scripts matches anywhere inside running text (``ソフトバンク``, ``소프트뱅크`` in ``소프트뱅크가``).
- A query must contain a term that has to be present: ``NOT hawks`` or ``a OR NOT b`` would match
  almost every article and are rejected.
- Reserved (errors now, syntax later): ``:`` ``/`` ``@`` ``$`` and other symbols; curly quotes.
- At most 10,000 characters, 50 nested parentheses/NOTs and 64 words (or CJK characters) per phrase.
- Title and body both count. A match reports its terms as written in the query, deduplicated (same
  words, same term) in query order: the terms found in the article that made the rule match (never a
  term under a single NOT).

Every invalid query raises :class:`RuleError` (a ValueError) with ``rule_id``, ``column`` and ``expected``.

How it fits together (one job per module)
-----------------------------------------
- ``text``: normalise and tokenize; used for both article text and query terms, so they always agree.
- ``lexer`` + ``query``: query string to lexemes to an AST of frozen ``nodes`` (Term, And, Or, Not), by
  recursive descent; nothing is evaluated as code and no regular expression is built from user input.
- ``index``: an article is tokenized once into a DocumentIndex: per field (title, body) the words, their
  positions, their offsets in the original text, and a word -> positions map.
- ``match``: a RuleSet's distinct terms are numbered once (TermTable); for an article, the terms present
  are found from the article's vocabulary, then only the rules with an *anchor* term present are
  evaluated (nested closures over term ids). Matched rules then report their terms and, on request,
  every hit with its span (positions and character offsets) for highlighting.
- ``ruleset``: Rule, RuleSet.compile, RuleSet.match / matching_ids / explain.

Next steps slot in as: a ``field`` (and case flag) on Term joining its key and the lookups; NEAR/n as a
node evaluated from the spans of its two sides after the presence pass; MONEY as a leaf scanning the
field text and mapping offsets back to positions; thresholds from the counted hits.
"""

from crawler.rules.errors import RuleError
from crawler.rules.index import DocumentIndex, Span
from crawler.rules.match import Hit
from crawler.rules.nodes import And, Node, Not, Or, Query, Term, describe
from crawler.rules.query import parse_query
from crawler.rules.ruleset import Rule, RuleMatch, RuleSet

__all__ = [
    "And",
    "DocumentIndex",
    "Hit",
    "Node",
    "Not",
    "Or",
    "Query",
    "Rule",
    "RuleError",
    "RuleMatch",
    "RuleSet",
    "Span",
    "Term",
    "describe",
    "parse_query",
]
