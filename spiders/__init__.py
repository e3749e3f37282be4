"""Scrapy spiders of Newswatch (one generic spider driven by site configuration)."""
