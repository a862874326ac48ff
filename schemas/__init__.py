"""Pydantic models and JSON schemas shared across the project."""
