"""Passwords, tokens, encryption of secrets at rest, and rate limits."""
