"""The ``evbill`` command (placeholder until the CLI lands)."""

import typer

app = typer.Typer(no_args_is_help=True)


def main() -> None:
    app()
