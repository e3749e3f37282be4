"""The one exception a rule query can raise: RuleError, with the rule, the column and what was expected."""

from __future__ import annotations


class RuleError(ValueError):
    """A rule query (or alias, or threshold) that cannot be parsed, or is not allowed.

    ``rule_id`` names the rule (``None`` when the query was parsed on its own), ``column`` is the 1-based
    position in the query string where the problem was found (one past the end for "ran out of query"
    problems) and ``expected`` says what should have been there, e.g. ``"')' to close '(' at column 12"``.
    ``str()`` gives ``rule 'softbank-investment', column 27: expected ')' to close '(' at column 12``.

    Two optional fields say which text the column points into when it is not the rule's query: ``alias``
    (an alias definition from rules.toml, ``alias 'softbank', column 3: ...``) and ``key`` (another key of
    the rule, e.g. ``threshold.terms``: ``rule 'x', key 'threshold.terms', column 3: ...``).
    """

    def __init__(
        self,
        expected: str,
        column: int,
        rule_id: str | None = None,
        *,
        alias: str | None = None,
        key: str | None = None,
    ) -> None:
        self.expected = expected
        self.column = column
        self.rule_id = rule_id
        self.alias = alias
        self.key = key
        super().__init__(self._message())

    def _message(self) -> str:
        parts = []
        if self.rule_id is not None:
            parts.append(f"rule {self.rule_id!r}")
        if self.alias is not None:
            parts.append(f"alias {self.alias!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        parts.append(f"column {self.column}")
        return f"{', '.join(parts)}: expected {self.expected}"

    def with_rule(self, rule_id: str | None, *, key: str | None = None) -> RuleError:
        """The same error, naming ``rule_id`` (and ``key`` when the text was not the rule's query)."""
        return RuleError(self.expected, self.column, rule_id, alias=self.alias, key=key or self.key)

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.expected, self.column, self.rule_id, self.alias, self.key))


def _rebuild(expected: str, column: int, rule_id: str | None, alias: str | None, key: str | None) -> RuleError:
    return RuleError(expected, column, rule_id, alias=alias, key=key)
