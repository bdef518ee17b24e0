"""The ``beatplan`` command group: global options and the list of commands.

Each command lives in its own module of this package and exposes a click command named
``command``; it is registered here in :data:`COMMANDS`.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os

import click

from beatplan import __version__

__all__ = ["COMMANDS", "main"]

#: command name -> (module under ``beatplan`` holding a click command called ``command``, the
#: one-line help ``beatplan --help`` prints, so that listing the commands imports none of them).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "demo_cmd",
        "Run the pipeline on the sample county: realign, hotspots and three offline maps.",
    ),
    "design": (
        "design_cmd",
        "Design balanced, contiguous, nested beats (sectors, NPAs) from wards; write the plan.",
    ),
    "hotspots": (
        "hotspots_cmd",
        "Find crime hotspots (the default command, find), or backtest the methods.",
    ),
    "info": (
        "info_cmd",
        "Describe boundary or incident FILES: format, CRS, counts, columns and problems found.",
    ),
    "map": ("map_cmd", "Write a map as one HTML file: briefing, planning or changes."),
    "realign": (
        "realign_cmd",
        "Realign beats (and sectors, NPAs) to new wards; write nested boundaries and a report.",
    ),
    "reorganise": (
        "reorganise_cmd",
        "Merge, create, move, split or rename areas as a spec says; rebuild and check every layer.",
    ),
    "sample": (
        "sample_cmd",
        "Write the seeded synthetic sample county (wards, police areas, a year of crime) to OUT.",
    ),
    "serve": (
        "serve_cmd",
        "Serve locate, areas, hotspots, demand and briefing maps over HTTP (loopback by default).",
    ),
    "show-versions": (
        "versions_cmd",
        "Print the versions of beatplan and its dependencies (for bug reports).",
    ),
    "token": ("token_cmd", "Add, list or revoke the access tokens of `beatplan serve`."),
}


class _LazyGroup(click.Group):
    """Import a command's module only when it is run, so ``beatplan --help`` stays quick."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        cmd: click.Command = importlib.import_module(f"beatplan.{entry[0]}").command
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="beatplan")
@click.option(
    "-v", "--verbose", count=True, help="More log output, and tracebacks on errors (-vv: debug)."
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Only errors: no summaries, tables, warnings or progress."
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Police planning: realign beats to wards, find hotspots, render briefing maps."""
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", force=True)
    logging.getLogger("beatplan").setLevel(level)
    if quiet:  # every command's printed output goes; errors (stderr) stay
        devnull = ctx.with_resource(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
        ctx.with_resource(contextlib.redirect_stdout(devnull))
