"""Newswatch: watch news sites and flag the stories that match your rules."""

__version__ = "0.1.0"
