"""Parse a rule query into an AST (recursive descent; queries are parsed, never evaluated as code).

Grammar (EBNF); operators are upper-case keywords, precedence NEAR > NOT > AND > OR::

    query    = or_expr END ;
    or_expr  = and_expr { "OR" and_expr } ;
    and_expr = unary { [ "AND" ] unary } ;          (* juxtaposition is AND *)
    unary    = ( "NOT" | "-" ) unary | near ;       (* "-" written right before its operand *)
    near     = operand { "NEAR/" digits operand } ; (* left to right; at most 1000 words apart *)
    operand  = [ field ":" ] primary ;              (* no space around ":" *)
    field    = "title" | "body" | "site" | "url" ;
    primary  = "(" or_expr ")" | term | alias | money ;
    term     = [ "=" ] ( word | phrase ) ;          (* "=": case-sensitive *)
    alias    = "@" name ;                           (* name = [A-Za-z0-9_] { [A-Za-z0-9_-] } *)
    money    = "MONEY" [ ">=" number [ "K" | "M" | "B" | "BN" | "T" | "TN" ] ] ;
    word     = alnum { alnum | mark | joiner } [ "*" ] ;
    joiner   = "-" | "'" | "’" | "." | "_" | "&" ;
    phrase   = '"' { any character except '"' } [ "*" ] '"' ;

Aliases are defined apart (``[aliases]`` in rules.toml) as query expressions in the same grammar; an alias
may use other aliases (not itself, directly or not). :func:`parse_aliases` parses the definitions once;
:func:`parse_query` then replaces each ``@name`` by a :class:`Ref` to the parsed definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from crawler.rules.errors import RuleError
from crawler.rules.lexer import FIELDS, Kind, Lexeme, lex
from crawler.rules.nodes import And, Money, Near, Node, Not, Or, Query, Ref, Term
from crawler.rules.text import cased_words, words

MAX_DEPTH = 50  # nested parentheses, NOTs and fields
MAX_TERM_WORDS = 64  # words (or CJK characters) in one phrase or term
MAX_EXPANDED_TERMS = 10_000  # terms of a query with its aliases expanded
MAX_ALIAS_DEPTH = 20  # aliases using aliases using aliases...
MAX_TREE_DEPTH = 100  # levels of the expanded query (evaluation recurses over them)

_OPERAND_START = frozenset(
    {Kind.WORD, Kind.PHRASE, Kind.NOT, Kind.MINUS, Kind.LPAREN, Kind.FIELD, Kind.CASED, Kind.ALIAS, Kind.MONEY}
)
_TEXT_FIELDS = (None, "title", "body")
_ALIAS_NAME = re.compile(r"[a-z0-9_][a-z0-9_\-]*")

Aliases = Mapping[str, Node]
"""Parsed alias definitions by lower-case name (see :func:`parse_aliases`)."""


def parse_query(
    query: str, rule_id: str | None = None, aliases: Aliases | None = None, *, key: str | None = None
) -> Query:
    """Parse ``query``; raises :class:`RuleError` (naming ``rule_id``) for any query that is not valid.

    ``aliases`` are the parsed definitions that ``@name`` may use. ``key`` names the rule's key the text
    comes from when it is not its query (e.g. ``"threshold.terms"``), for error messages.
    """
    try:
        root = _Parser(lex(query), aliases or {}, None).parse()
        _check_anchored(root)
        _check_size(root)
    except RuleError as error:
        raise error.with_rule(rule_id, key=key) from None
    return Query(query, root, rule_id)


def parse_aliases(
    definitions: Mapping[str, str | Sequence[str]], errors: list[RuleError] | None = None
) -> dict[str, Node]:
    """Parse alias definitions (name -> query expression, or a list of expressions meaning their OR).

    Names are compared in lower case. The first invalid definition raises :class:`RuleError` naming the
    alias (``alias`` set; for a list, ``softbank[2]`` names the second item); with ``errors`` given,
    problems are appended there instead and the valid aliases are returned.
    """
    resolver = _AliasResolver(definitions)
    for name in definitions:
        try:
            resolver.resolve(name.lower(), None)
        except RuleError as error:
            if errors is None:
                raise
            errors.append(error)
    return dict(resolver.done)


class _AliasResolver:
    """Parses alias definitions on demand, so an alias can use aliases defined after it."""

    def __init__(self, definitions: Mapping[str, str | Sequence[str]]) -> None:
        self.definitions = {name.lower(): value for name, value in definitions.items()}
        self.done: dict[str, Node] = {}
        self.errors: dict[str, RuleError] = {}
        self.active: list[str] = []

    def resolve(self, name: str, lexeme: Lexeme | None) -> Node:
        """The parsed alias ``name``; ``lexeme`` is the reference being resolved (None at the top)."""
        found = self.done.get(name)
        if found is not None:
            return found
        if name in self.errors:
            if lexeme is None:
                raise self.errors[name]
            raise RuleError(f"a valid alias: @{name} has an error of its own", lexeme.column)
        if lexeme is not None:
            if len(self.active) >= MAX_ALIAS_DEPTH:
                chain = " -> ".join(f"@{n}" for n in [*self.active, name])
                raise RuleError(f"aliases used at most {MAX_ALIAS_DEPTH} deep ({chain})", lexeme.column)
            if name in self.active:
                cycle = " -> ".join(f"@{n}" for n in [*self.active[self.active.index(name) :], name])
                raise RuleError(f"an alias that does not use itself ({cycle})", lexeme.column)
            if name not in self.definitions:
                raise RuleError(_unknown_alias(name, self.definitions), lexeme.column)
        self.active.append(name)
        try:
            node = self._parse(name, self.definitions[name])
        except RuleError as error:
            self.errors[name] = error
            if lexeme is None:
                raise
            raise RuleError(f"a valid alias: @{name} has an error of its own", lexeme.column) from None
        finally:
            self.active.pop()
        self.done[name] = node
        return node

    def _parse(self, name: str, value: str | Sequence[str]) -> Node:
        if not _ALIAS_NAME.fullmatch(name):
            raise RuleError(
                "an alias name of letters, digits, '_' or '-' (starting with a letter or digit)", 1, alias=name
            )
        items = [value] if isinstance(value, str) else list(value)
        if not items:
            raise RuleError("at least one expression in the list", 1, alias=name)
        nodes: list[Node] = []
        for number, item in enumerate(items, start=1):
            label = name if isinstance(value, str) else f"{name}[{number}]"
            if not isinstance(item, str):
                raise RuleError("a query expression (a string)", 1, alias=label)
            try:
                node = _Parser(lex(item), {}, self).parse()
                _check_size(node)
            except RuleError as error:
                raise RuleError(error.expected, error.column, alias=label) from None
            nodes.append(node)
        return nodes[0] if len(nodes) == 1 else _join(Or, nodes)


def _unknown_alias(name: str, known: Mapping[str, object]) -> str:
    names = ", ".join(f"@{n}" for n in sorted(known)) or "none"
    return f"a defined alias, found '@{name}' (defined: {names})"


class _Parser:
    """Recursive descent over the lexemes of one query."""

    def __init__(self, lexemes: list[Lexeme], aliases: Aliases, resolver: _AliasResolver | None) -> None:
        self.lexemes = lexemes
        self.at = 0
        self.aliases = aliases
        self.resolver = resolver

    def peek(self) -> Lexeme:
        return self.lexemes[self.at]

    def take(self) -> Lexeme:
        lexeme = self.lexemes[self.at]
        self.at += 1
        return lexeme

    def parse(self) -> Node:
        first = self.peek()
        if first.kind is Kind.END:
            raise RuleError("a term: the query is empty", first.column)
        node = self.or_expr(0, None)
        extra = self.peek()
        if extra.kind is Kind.RPAREN:
            raise RuleError("a term or an operator, found ')' that closes no '('", extra.column)
        if extra.kind is not Kind.END:
            raise RuleError(f"a term or an operator, found {extra.text!r}", extra.column)
        return node

    def or_expr(self, depth: int, after: Lexeme | None) -> Node:
        children = [self.and_expr(depth, after)]
        while self.peek().kind is Kind.OR:
            operator = self.take()
            children.append(self.and_expr(depth, operator))
        return _join(Or, children)

    def and_expr(self, depth: int, after: Lexeme | None) -> Node:
        children = [self.unary(depth, after)]
        while True:
            lexeme = self.peek()
            if lexeme.kind is Kind.AND:
                self.take()
                children.append(self.unary(depth, lexeme))
            elif lexeme.kind in _OPERAND_START:
                children.append(self.unary(depth, None))
            else:
                return _join(And, children)

    def unary(self, depth: int, after: Lexeme | None) -> Node:
        lexeme = self.peek()
        if lexeme.kind is Kind.NOT or lexeme.kind is Kind.MINUS:
            self.take()
            _check_depth(depth + 1, lexeme)
            child = self.unary(depth + 1, lexeme)
            return Not(child, lexeme.column)
        return self.near(depth, after)

    def near(self, depth: int, after: Lexeme | None) -> Node:
        node = self.operand(depth, after)
        while self.peek().kind is Kind.NEAR:
            operator = self.take()
            depth += 1  # a chain nests to the left: (a NEAR b) NEAR c
            _check_depth(depth, operator)
            right = self.operand(depth, operator)
            for side in (node, right):
                column = _unanchored(side)
                if column is not None:
                    raise RuleError(
                        f"a term that must be present on each side of {operator.text} (this side can be true "
                        "for an article without any of its words, so it has no position)",
                        column,
                    )
            node = Near(node, right, int(operator.value or 0), operator.column)
        return node

    def operand(self, depth: int, after: Lexeme | None) -> Node:
        lexeme = self.peek()
        if lexeme.kind is not Kind.FIELD:
            return self.primary(depth, after)
        self.take()
        _check_depth(depth + 1, lexeme)
        following = self.peek()
        if following.kind is Kind.FIELD:
            raise RuleError(
                f"a term, a phrase, '(' or an @alias after '{lexeme.text}:', found a second field", following.column
            )
        node = self.primary(depth + 1, lexeme)
        _check_size(node)  # before copying an alias's terms to set their field
        if isinstance(node, Term | Money) and node.column == following.column:  # written right after the field
            node = replace(node, source=f"{lexeme.text}:{node.source}", column=lexeme.column)
        return _with_field(node, lexeme)

    def primary(self, depth: int, after: Lexeme | None) -> Node:
        lexeme = self.take()
        if lexeme.kind is Kind.WORD:
            return _term(lexeme, lexeme.text, quoted=False)
        if lexeme.kind is Kind.PHRASE:
            return _term(lexeme, lexeme.text[1:-1], quoted=True)
        if lexeme.kind is Kind.CASED:
            inner = self.take()  # the lexer put a word or a phrase right after "="
            text = inner.text[1:-1] if inner.kind is Kind.PHRASE else inner.text
            if inner.kind not in (Kind.WORD, Kind.PHRASE):
                raise RuleError("a term or a phrase right after '='", inner.column)
            term = _term(inner, text, quoted=inner.kind is Kind.PHRASE, cased=True)
            return replace(term, source="=" + inner.text, column=lexeme.column)
        if lexeme.kind is Kind.MONEY:
            return Money(lexeme.value, lexeme.text, lexeme.column)
        if lexeme.kind is Kind.ALIAS:
            name = lexeme.text[1:].lower()
            if self.resolver is not None:
                child = self.resolver.resolve(name, lexeme)
            else:
                found = self.aliases.get(name)
                if found is None:
                    raise RuleError(_unknown_alias(name, self.aliases), lexeme.column)
                child = found
            return Ref(name, child, lexeme.column)
        if lexeme.kind is Kind.LPAREN:
            _check_depth(depth + 1, lexeme)
            if self.peek().kind is Kind.RPAREN:
                raise RuleError("a term inside '()'", self.peek().column)
            node = self.or_expr(depth + 1, lexeme)
            close = self.peek()
            if close.kind is not Kind.RPAREN:
                raise RuleError(f"')' to close '(' at column {lexeme.column}", close.column)
            self.take()
            return node
        raise RuleError(_missing_operand(after, lexeme), lexeme.column)


def _term(lexeme: Lexeme, text: str, quoted: bool, cased: bool = False) -> Term:
    prefix = text.endswith("*")
    body = text[:-1] if prefix else text
    found = tuple(words(body))
    if not found:
        what = "a letter or digit inside the quotes" if quoted else "a letter or digit in the term"
        raise RuleError(what, lexeme.column)
    if len(found) > MAX_TERM_WORDS:
        raise RuleError(f"a phrase of at most {MAX_TERM_WORDS} words (or CJK characters)", lexeme.column)
    as_written = tuple(cased_words(body)) if cased else None
    return Term(found, prefix, lexeme.text, lexeme.column, None, as_written)


def _with_field(node: Node, field_lexeme: Lexeme) -> Node:
    """``node`` with every term limited to the field; RuleError if a term already has another field."""
    field = field_lexeme.text
    if isinstance(node, Term):
        if node.field is not None and node.field != field:
            raise _field_clash(field_lexeme, node.field)
        return node if node.field == field else replace(node, field=field)
    if isinstance(node, Money):
        if field not in _TEXT_FIELDS:
            raise RuleError(
                f"MONEY only in the title or body (title:MONEY or body:MONEY), not in {field}:", field_lexeme.column
            )
        if node.field is not None and node.field != field:
            raise _field_clash(field_lexeme, node.field)
        return replace(node, field=field)
    if isinstance(node, Not):
        return Not(_with_field(node.child, field_lexeme), node.column)
    if isinstance(node, Near):
        return Near(
            _with_field(node.left, field_lexeme), _with_field(node.right, field_lexeme), node.distance, node.column
        )
    if isinstance(node, Ref):
        if node.field is not None and node.field != field:
            raise _field_clash(field_lexeme, node.field)
        return Ref(node.name, _with_field(node.child, field_lexeme), node.column, field)
    return type(node)(tuple(_with_field(child, field_lexeme) for child in node.children), node.column)


def _field_clash(field_lexeme: Lexeme, other: str) -> RuleError:
    return RuleError(
        f"terms without a field of their own after '{field_lexeme.text}:' (one of them is limited to '{other}:')",
        field_lexeme.column,
    )


def _join(kind: type[And] | type[Or], children: list[Node]) -> Node:
    """One child as is; several flattened into one n-ary node (``(a AND b) AND c`` is ``a AND b AND c``)."""
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        if isinstance(child, kind):
            flat.extend(child.children)
        else:
            flat.append(child)
    return kind(tuple(flat), children[0].column)


def _check_depth(depth: int, lexeme: Lexeme) -> None:
    if depth > MAX_DEPTH:
        raise RuleError(f"at most {MAX_DEPTH} nested parentheses, NOTs, fields and NEARs", lexeme.column)


def _missing_operand(after: Lexeme | None, found: Lexeme) -> str:
    what = "a term"
    if after is not None:
        shown = f"{after.text}:" if after.kind is Kind.FIELD else after.text
        what = f"a term after {shown!r} at column {after.column}"
    if found.kind is Kind.END:
        return what
    return f"{what}, found {found.text!r}"


def _check_anchored(root: Node) -> None:
    """Reject a query that an article matches by lacking words (``NOT hawks``, ``a OR NOT b``)."""
    culprit = _unanchored(root)
    if culprit is not None:
        raise RuleError(
            "a term that must be present: this part matches articles by what they lack, "
            "so the query would match nearly every article (write e.g. 'softbank NOT hawks')",
            culprit,
        )


def _unanchored(node: Node) -> int | None:
    """The column of the part that makes ``node`` true for an article with no words, or None."""
    if isinstance(node, Term | Money):
        return None
    if isinstance(node, Ref):
        return None if _unanchored(node.child) is None else node.column
    if isinstance(node, Not):
        return None if _unanchored(node.child) is not None else node.column
    if isinstance(node, Near):
        return None  # the parser checks that both sides are anchored
    if isinstance(node, Or):
        for child in node.children:
            column = _unanchored(child)
            if column is not None:
                return column
        return None
    columns = [_unanchored(child) for child in node.children]
    if all(column is not None for column in columns):
        return columns[0]
    return None


def _check_size(root: Node) -> None:
    """Bound the terms and the depth of a query once aliases are expanded (aliases of aliases multiply
    terms; evaluation recurses over the levels). Iterative, and stops as soon as a bound is passed."""
    terms = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise RuleError(f"at most {MAX_TREE_DEPTH} levels of nesting once aliases are expanded", root.column)
        if isinstance(node, Term | Money):
            terms += 1
            if terms > MAX_EXPANDED_TERMS:
                raise RuleError(f"at most {MAX_EXPANDED_TERMS} terms once aliases are expanded", root.column)
        elif isinstance(node, Not | Ref):
            stack.append((node.child, depth + 1))
        elif isinstance(node, Near):
            stack.extend(((node.left, depth + 1), (node.right, depth + 1)))
        else:
            stack.extend((child, depth + 1) for child in node.children)


__all__ = [
    "FIELDS",
    "MAX_ALIAS_DEPTH",
    "MAX_DEPTH",
    "MAX_EXPANDED_TERMS",
    "MAX_TERM_WORDS",
    "MAX_TREE_DEPTH",
    "Aliases",
    "parse_aliases",
    "parse_query",
]
