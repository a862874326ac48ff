"""Placeholder: filled in by its capability."""

import typer


def register(app: typer.Typer) -> None:
    return None
