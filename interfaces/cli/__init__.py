"""The `omni` command line (typer). One module per command group."""
