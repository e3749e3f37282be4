"""Reviewing flagged articles: list and search them, read one, record verdicts, rule precision, exports."""
