"""HES Core: a head-end system for smart electricity meters."""

__version__ = "0.1.0"
