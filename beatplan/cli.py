"""The ``beatplan`` command group: global options and the list of commands.

Each command lives in its own module of this package and exposes a click command named
``command``; it is registered here in :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import logging

import click

from beatplan import __version__

__all__ = ["COMMANDS", "main"]

#: command name -> module (under ``beatplan``) holding a click command called ``command``.
COMMANDS: dict[str, str] = {
    "hotspots": "hotspots_cmd",
    "info": "info_cmd",
    "sample": "sample_cmd",
    "demo": "demo_cmd",
    "map": "map_cmd",
    "realign": "realign_cmd",
    "reorganise": "reorganise_cmd",
    "show-versions": "versions_cmd",
}


class _LazyGroup(click.Group):
    """Import a command's module only when it is run, so ``beatplan --help`` stays quick."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        cmd: click.Command = importlib.import_module(f"beatplan.{module}").command
        return cmd


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="beatplan")
@click.option(
    "-v", "--verbose", count=True, help="More log output, and tracebacks on errors (-vv: debug)."
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def main(verbose: int, quiet: bool) -> None:
    """Police planning: realign beats to wards, find hotspots, render briefing maps."""
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", force=True)
    logging.getLogger("beatplan").setLevel(level)
