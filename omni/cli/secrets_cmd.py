"""`omni secrets ...` (placeholder until the credentials module lands)."""

import typer

app = typer.Typer(help="Encrypted credentials.", no_args_is_help=True)
