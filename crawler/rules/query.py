"""Parse a rule query into an AST (recursive descent; queries are parsed, never evaluated as code).

Grammar (EBNF); operators are the upper-case keywords, precedence NOT > AND > OR::

    query    = or_expr END ;
    or_expr  = and_expr { "OR" and_expr } ;
    and_expr = unary { [ "AND" ] unary } ;          (* juxtaposition is AND *)
    unary    = ( "NOT" | "-" ) unary | primary ;    (* "-" written right before its operand *)
    primary  = "(" or_expr ")" | word | phrase ;
    word     = alnum { alnum | mark | joiner } [ "*" ] ;
    joiner   = "-" | "'" | "’" | "." | "_" | "&" ;
    phrase   = '"' { any character except '"' } [ "*" ] '"' ;
"""

from __future__ import annotations

from crawler.rules.errors import RuleError
from crawler.rules.lexer import Kind, Lexeme, lex
from crawler.rules.nodes import And, Node, Not, Or, Query, Term
from crawler.rules.text import words

MAX_DEPTH = 50  # nested parentheses and NOTs
MAX_TERM_WORDS = 64  # words (or CJK characters) in one phrase or term

_OPERAND_START = frozenset({Kind.WORD, Kind.PHRASE, Kind.NOT, Kind.MINUS, Kind.LPAREN})


def parse_query(query: str, rule_id: str | None = None) -> Query:
    """Parse ``query``; raises :class:`RuleError` (naming ``rule_id``) for any query that is not valid."""
    try:
        root = _Parser(lex(query)).parse()
        _check_anchored(root)
    except RuleError as error:
        raise error.with_rule(rule_id) from None
    return Query(query, root, rule_id)


class _Parser:
    """Recursive descent over the lexemes of one query."""

    def __init__(self, lexemes: list[Lexeme]) -> None:
        self.lexemes = lexemes
        self.at = 0

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
        if extra.kind is not Kind.END:  # pragma: no cover - and_expr consumes every operand start
            raise RuleError(f"the end of the query, found {extra.text!r}", extra.column)
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
        return self.primary(depth, after)

    def primary(self, depth: int, after: Lexeme | None) -> Node:
        lexeme = self.take()
        if lexeme.kind is Kind.WORD:
            return _term(lexeme, lexeme.text, quoted=False)
        if lexeme.kind is Kind.PHRASE:
            return _term(lexeme, lexeme.text[1:-1], quoted=True)
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


def _term(lexeme: Lexeme, text: str, quoted: bool) -> Term:
    prefix = text.endswith("*")
    found = tuple(words(text[:-1] if prefix else text))
    if not found:
        what = "a letter or digit inside the quotes" if quoted else "a letter or digit in the term"
        raise RuleError(what, lexeme.column)
    if len(found) > MAX_TERM_WORDS:
        raise RuleError(f"a phrase of at most {MAX_TERM_WORDS} words (or CJK characters)", lexeme.column)
    return Term(found, prefix, lexeme.text, lexeme.column)


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
    return kind(tuple(flat), _column(children[0]))


def _column(node: Node) -> int:
    return node.column


def _check_depth(depth: int, lexeme: Lexeme) -> None:
    if depth > MAX_DEPTH:
        raise RuleError(f"at most {MAX_DEPTH} nested parentheses and NOTs", lexeme.column)


def _missing_operand(after: Lexeme | None, found: Lexeme) -> str:
    what = "a term"
    if after is not None:
        what = f"a term after {after.text!r} at column {after.column}"
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
    if isinstance(node, Term):
        return None
    if isinstance(node, Not):
        return None if _unanchored(node.child) is not None else node.column
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
