"""sentiment-monitor: brand mentions, their sentiment, and service KPIs, in SQLite."""

__version__ = "0.1.0"
