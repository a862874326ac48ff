"""Shared test helpers (the local OpenAI-compatible server, ...)."""
