"""The one exception a rule query can raise: RuleError, with the rule, the column and what was expected."""

from __future__ import annotations


class RuleError(ValueError):
    """A rule query that cannot be parsed, or is not allowed.

    ``rule_id`` names the rule (``None`` when the query was parsed on its own), ``column`` is the 1-based
    position in the query string where the problem was found (one past the end for "ran out of query"
    problems) and ``expected`` says what should have been there, e.g. ``"')' to close '(' at column 12"``.
    ``str()`` gives ``rule 'softbank-investment', column 27: expected ')' to close '(' at column 12``.
    """

    def __init__(self, expected: str, column: int, rule_id: str | None = None) -> None:
        self.expected = expected
        self.column = column
        self.rule_id = rule_id
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"column {self.column}"
        if self.rule_id is not None:
            where = f"rule {self.rule_id!r}, {where}"
        return f"{where}: expected {self.expected}"

    def with_rule(self, rule_id: str | None) -> RuleError:
        """The same error, naming ``rule_id``."""
        return RuleError(self.expected, self.column, rule_id)

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> tuple[type[RuleError], tuple[str, int, str | None]]:
        return (RuleError, (self.expected, self.column, self.rule_id))
