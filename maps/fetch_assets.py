"""Fetch the pinned Leaflet JavaScript and CSS that offline maps inline.

Run once (it downloads from the npm registry, or uses the ``npm`` client when that fails, and
checks each tarball's sha512); ``beatplan map fetch-assets`` does the same::

    python -m beatplan.maps.fetch_assets            # into $BEATPLAN_MAP_ASSETS or maps/_assets
    python -m beatplan.maps.fetch_assets --dest DIR --force
"""

from __future__ import annotations

import argparse
import logging
import sys

from beatplan.maps.assets import NPM_PACKAGES, AssetsNotFoundError, default_fetch_dir, fetch_assets

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Fetch the assets; return the process exit code (0 done, 2 failed with a message)."""
    parser = argparse.ArgumentParser(
        prog="python -m beatplan.maps.fetch_assets",
        description="Fetch the pinned npm packages ("
        + ", ".join(p.spec for p in NPM_PACKAGES.values())
        + ") that offline maps inline.",
    )
    parser.add_argument(
        "--dest", default=None, help=f"cache folder (default {default_fetch_dir()})"
    )
    parser.add_argument("--force", action="store_true", help="fetch again even if present")
    parser.add_argument(
        "--registry",
        default=None,
        help="npm registry address (default: $npm_config_registry or https://registry.npmjs.org)",
    )
    parser.add_argument(
        "--npm", default="npm", help="npm client tried when the download fails (default: npm)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = fetch_assets(args.dest, force=args.force, npm=args.npm, registry=args.registry)
    except AssetsNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"map assets ready in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
