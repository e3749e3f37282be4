"""Alert rules: parse queries, match articles against many rules at once, and explain every match.

The full reference, with examples, is ``docs/rules.md``; this is the summary.

The query language
------------------
``@softbank NEAR/8 (invest* OR stake OR "joint venture") AND title:(MONEY>=100M OR @deal) NOT title:hawks``

- ``word``: a whole word, case-insensitively (NFKC + casefold on both sides, so ``ＡＩ`` is ``ai``); ``ai``
  does not match ``said``, ``iot`` matches ``IoT-based``, ``softbank`` matches ``SoftBank's``.
- ``prefix*``: any word starting with it. ``"a phrase"``: consecutive words (punctuation between them is
  ignored; the last word may be a prefix). A bare term with ``- ' ’ . _ &`` inside (``IoT-based``) is a phrase.
- ``=AI``, ``="Vision Fund"``, ``=Soft*``: case-sensitive terms (NFKC but no case folding: ``=AI`` matches
  ``AI`` and ``ＡＩ``, not ``ai`` or ``Ai``). After ``=`` a keyword is a word (``=NOT``).
- ``a AND b``, ``a b`` (juxtaposition), ``a OR b``, ``NOT a``, ``-a``, parentheses.
- ``a NEAR/n b``: occurrences of both sides in the same field, not overlapping, with at most ``n`` words
  between them (0 to 1000), either order. A side may be a term, phrase, MONEY, alias or group; a group's
  positions are those of the terms that make it true, a nested NEAR's those of its occurrences within reach.
- ``title:``, ``body:``, ``site:``, ``url:`` before a term, phrase, alias, MONEY or group; no field means title
  or body. ``site:`` searches the words of the site id and name, ``url:`` the words of the URL (both given to
  :meth:`RuleSet.match`; absent, such terms do not match).
- ``@name``: an alias, a query expression defined once (rules.toml ``[aliases]``; a list is the OR of its
  items); aliases may use aliases, not themselves; names are case-insensitive.
- ``MONEY``: an amount of money in the text ("$4.5B", "5 trillion won", "£2.4bn", "¥1tn", "US$1.2 billion",
  "€500m", "$15bn to $25bn", "₩5조"...), at the positions of its words; ``MONEY>=100M`` (K, M, B, T): worth at
  least that in US dollars at fixed reference rates (:data:`DEFAULT_USD_RATES`, rules.toml ``[money]``).
  ``¥`` is yen unless yuan/RMB/renminbi/CNY/人民币/人民元 is written within 100 characters.
- Precedence: NEAR (left to right), then NOT, then AND, then OR. Upper-case ``AND OR NOT NEAR/n MONEY`` are
  operators; in lower case they are words.
- Japanese, Chinese, Korean (and Thai, Lao, Khmer, Myanmar) terms match inside running text: each character
  is a token (and counts as a word in NEAR distances).
- A rule's optional :class:`Threshold` (rules.toml ``threshold = { terms = "@softbank", title = true, body = 4 }``)
  requires its terms in the title or at least ``body`` times in the body, against passing mentions.

Every invalid query raises :class:`RuleError` (a ValueError) with ``rule_id``, ``column`` and ``expected`` (and
``alias`` or ``key`` when the text was an alias definition or the threshold). A query needs a term that must
be present; limits: 10,000 characters, 50 nested parentheses/NOTs/fields/NEARs, 64 words per phrase,
NEAR/1000, aliases 20 deep, 10,000 terms and 100 levels once aliases are expanded. No regular expression is
ever built from a query.

Explanations
------------
:meth:`RuleSet.match` returns a :class:`crawler.article.Match` per matching rule: the ``terms`` as written
(once each, query order, then the threshold's), every ``Hit(term, field, start, end)`` (offsets in the
original title/body/URL; for NEAR only occurrences within reach), an HTML ``snippet`` (~240 characters around
the densest body hits, else the title; escaped first, then hits wrapped in ``<mark>``) and the ``amounts``
(those a MONEY term matched, else those within 20 words of a hit), each with its US-dollar value.

How it fits together (one job per module)
-----------------------------------------
- ``text``: normalise and tokenize; used for both article text and query terms, so they always agree.
- ``lexer`` + ``query``: query string to lexemes to an AST of frozen ``nodes`` (Term, Money, And, Or, Not,
  Near, Ref), by recursive descent; aliases are parsed once and referenced by ``Ref`` nodes.
- ``money``: the fixed, linear-time amount grammar and the reference rates.
- ``index``: an article is tokenized once into a DocumentIndex: per field (title, body, site, url) the words,
  their positions, their offsets in the original text; amounts and case-sensitive forms on demand.
- ``match``: a RuleSet's distinct leaves are numbered once (TermTable); for an article the terms present are
  found from its vocabulary, then only the rules with an *anchor* present are evaluated (nested closures;
  NEAR and thresholds look at positions last and cache per article). Matched rules are then explained.
- ``snippet``: the escaped, highlighted window. ``ruleset``: Rule, RuleSet.compile / match / matching_ids /
  explain.
"""

from crawler.rules.errors import RuleError
from crawler.rules.index import DocumentIndex, Span
from crawler.rules.match import Hit, Threshold
from crawler.rules.money import DEFAULT_USD_RATES, find_amounts
from crawler.rules.nodes import And, Money, Near, Node, Not, Or, Query, Ref, Term, describe
from crawler.rules.query import parse_aliases, parse_query
from crawler.rules.ruleset import Rule, RuleMatch, RuleSet, parse_threshold

__all__ = [
    "DEFAULT_USD_RATES",
    "And",
    "DocumentIndex",
    "Hit",
    "Money",
    "Near",
    "Node",
    "Not",
    "Or",
    "Query",
    "Ref",
    "Rule",
    "RuleError",
    "RuleMatch",
    "RuleSet",
    "Span",
    "Term",
    "Threshold",
    "describe",
    "find_amounts",
    "parse_aliases",
    "parse_query",
    "parse_threshold",
]
