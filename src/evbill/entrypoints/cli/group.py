"""The ``evbill`` command's top-level click group (``main.build_app``): it lists ``main.COMMANDS``
from their summaries and loads one area when its command is run. Apart from ``main`` so that a
plain batch (``main.run_batch``) does not import Typer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typer import _click as click
from typer.core import TyperGroup

from evbill.config import Settings
from evbill.entrypoints.cli.main import COMMANDS, load_area

if TYPE_CHECKING:
    from evbill.bootstrap import Container


class LazyGroup(TyperGroup):
    """The top-level group: lists ``COMMANDS`` from their summaries, loads one when it is run."""

    def __init__(self, settings: Settings, **attributes: object) -> None:
        super().__init__(**attributes)  # type: ignore[arg-type]
        self._settings = settings
        self._container: Container | None = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = COMMANDS.get(cmd_name)
        if command is None:
            return None
        return load_area(command.register, self.container()).get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.summary) for name, command in COMMANDS.items()])

    def container(self) -> Container:
        if self._container is None:
            from evbill.bootstrap import bootstrap

            # a command never leaves an empty SQLite file behind: only migrating creates the database
            self._container = bootstrap(self._settings, create_database=False)
        return self._container
