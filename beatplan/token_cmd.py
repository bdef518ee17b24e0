"""``beatplan token``: add, list and revoke the service's access tokens.

``beatplan token add NAME --tokens FILE`` prints the new token once, alone on stdout (so
``TOKEN=$(beatplan token add ...)`` captures it); the file keeps only a salted scrypt hash.
"""

from __future__ import annotations

from pathlib import Path

import click

from beatplan.options import handle_errors

__all__ = ["command"]

_tokens_option = click.option(
    "--tokens",
    "tokens",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The tokens file (written atomically, mode 0600).",
)


@click.group("token")
def command() -> None:
    """Add, list or revoke the access tokens of `beatplan serve`."""


@command.command("add")
@click.argument("name")
@click.option(
    "--area",
    "areas",
    multiple=True,
    metavar="ID",
    help="Limit the token to this area (an id at any level, or LEVEL:ID); repeatable.",
)
@click.option("--admin", is_flag=True, help="Allow reloading the data.")
@click.option("--rate", type=float, default=None, help="Requests per second (default 50).")
@click.option("--burst", type=int, default=None, help="Requests allowed at once (default 100).")
@_tokens_option
@handle_errors
def add_cmd(
    name: str,
    areas: tuple[str, ...],
    admin: bool,
    rate: float | None,
    burst: int | None,
    tokens: Path,
) -> None:
    """Add a token NAME and print it (shown this once; only its hash is kept)."""
    from beatplan.service.tokens import DEFAULT_BURST, DEFAULT_RATE, add_token

    token = add_token(
        tokens, name, areas=areas, admin=admin,
        rate=DEFAULT_RATE if rate is None else rate,
        burst=DEFAULT_BURST if burst is None else burst,
    )  # fmt: skip
    scope = ", ".join(areas) if areas else "every area"
    click.echo(
        f"token {name!r} added to {tokens} ({'admin, ' if admin else ''}{scope}); "
        "copy it now, it is not shown again:",
        err=True,
    )
    click.echo(token)


@command.command("list")
@_tokens_option
@handle_errors
def list_cmd(tokens: Path) -> None:
    """List the tokens: name, rights, areas, rate, when added and revoked."""
    from beatplan.service.tokens import list_tokens

    rows = list_tokens(tokens)
    if not rows:
        click.echo(f"no tokens in {tokens}")
        return
    for t in rows:
        state = f"revoked {t['revoked']}" if t.get("revoked") else "live"
        scope = ", ".join(t.get("areas") or []) or "every area"
        click.echo(
            f"{t['name']:<24} {state:<30} {'admin' if t.get('admin') else 'user':<5} "
            f"{t.get('rate', 0):g}/s  added {t.get('created')}  areas: {scope}"
        )


@command.command("revoke")
@click.argument("name")
@_tokens_option
@handle_errors
def revoke_cmd(name: str, tokens: Path) -> None:
    """Revoke the token NAME (a running server refuses it within a second)."""
    from beatplan.service.tokens import revoke_token

    revoke_token(tokens, name)
    click.echo(f"token {name!r} revoked in {tokens}")
