"""``beatplan hotspots``: find ranked crime hotspots, or backtest the methods.

``beatplan hotspots INCIDENTS... --out hotspots.gpkg`` finds hotspots and prints a ranked
table; ``beatplan hotspots backtest INCIDENTS... --method all`` scores every method month by
month at equal area coverage beside the naive baseline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
import pandas as pd

from beatplan.geo.errors import EmptyInputError, OutputExistsError
from beatplan.geo.write import write_text
from beatplan.options import (
    boundary_option,
    crs_option,
    handle_errors,
    out_option,
    overwrite_option,
    parse_months,
    parse_types,
    pick_area,
    plan_layers,
    read_areas,
    read_layer,
)

__all__ = ["command"]

log = logging.getLogger("beatplan")

_METHODS = ("gistar", "kde", "dbscan", "hdbscan")


class _HotspotsGroup(click.Group):
    """A group whose default subcommand is ``find``: ``beatplan hotspots FILE`` finds hotspots."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["find", *args]
        return super().parse_args(ctx, args)


_GROUP_HELP = (
    "Find crime hotspots (the default command, find), or backtest the methods.\n\n"
    "\b\n"
    "beatplan hotspots INCIDENTS... --out hotspots.gpkg [--method gistar|kde|dbscan|hdbscan]\n"
    "beatplan hotspots backtest INCIDENTS... --method all"
)


@click.group(
    cls=_HotspotsGroup, help=_GROUP_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
def command() -> None:
    """Find crime hotspots, or backtest the methods."""


def _refuse_existing(out: Path | None, overwrite: bool) -> None:
    """Refuse before any work when ``out`` exists and ``--overwrite`` was not given."""
    if out is not None and out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite to replace it")


def _read_incidents(paths: tuple[Path, ...], crs: str | None) -> Any:
    from beatplan.geo import read_incidents

    if not paths:
        raise click.UsageError("give at least one INCIDENTS file or folder")
    inc = read_incidents([str(p) for p in paths], crs=crs)
    for note in inc.messages:
        log.info("%s", note)
    if len(inc.rejected):
        log.info(
            "%s rows rejected: %s",
            f"{len(inc.rejected):,}",
            "; ".join(f"{k} {v:,}" for k, v in inc.reason_counts.items()),
        )
    return inc


@command.command("find")
@click.argument("incidents", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--method",
    type=click.Choice(_METHODS),
    default="gistar",
    show_default=True,
    help="Gi* with FDR, kernel density, or weighted DBSCAN/HDBSCAN.",
)
@click.option(
    "--since",
    default=None,
    metavar="PERIOD",
    help="Latest period only: 28D, 6W, 3M, 1Y (monthly police.uk data: whole months).",
)
@click.option(
    "--months",
    default=None,
    metavar="YYYY-MM[..YYYY-MM]",
    help="One month or an inclusive range, e.g. 2022-01..2022-03.",
)
@click.option(
    "--types",
    multiple=True,
    metavar="TYPE",
    help="Crime types to keep (repeat, or separate with ';').",
)
@boundary_option(
    "--boundaries",
    default=None,
    help="Wards/beats/NPAs (FILE[:LAYER][:id=COL][:name=COL]), or a plan: each hotspot is "
    "named by the areas it lies in.",
)
@click.option(
    "--area-id",
    default=None,
    metavar="ID",
    help="Only the area with this id or name, at any level (e.g. one beat).",
)
@click.option("--cell", type=float, default=None, help="Grid cell in metres (gistar, kde).")
@click.option("--band", type=float, default=None, help="Gi* distance band in metres.")
@click.option("--bandwidth", default=None, help="KDE bandwidth in metres, or nn|silverman.")
@click.option("--eps", type=float, default=None, help="DBSCAN radius in metres.")
@click.option("--min-samples", type=float, default=None, help="DBSCAN/HDBSCAN core weight.")
@click.option("--min-incidents", type=int, default=None, help="Fewest incidents per hotspot.")
@click.option(
    "--alpha",
    type=float,
    default=None,
    help="Gi* false-discovery rate, and the background test's (default 0.05).",
)
@click.option(
    "--background",
    type=float,
    default=None,
    help="Gi*/KDE hot cells, and the locations DBSCAN/HDBSCAN cluster, must also beat the "
    "ring out to this many bands (eps for the clusters; default 4; 0: off).",
)
@click.option(
    "--permutations",
    type=int,
    default=None,
    help="Gi* conditional randomisations (default 0: analytic).",
)
@click.option("--seed", type=int, default=None, help="Seed for the randomisations.")
@click.option("--show", type=int, default=10, show_default=True, help="Hotspots to print.")
@crs_option
@out_option(help="Output file for the hotspot polygons (.gpkg, .geojson, .shp, .kml).")
@overwrite_option
@handle_errors
def find_cmd(
    incidents: tuple[Path, ...],
    method: str,
    since: str | None,
    months: str | None,
    types: tuple[str, ...],
    boundaries: Any,
    area_id: str | None,
    cell: float | None,
    band: float | None,
    bandwidth: str | None,
    eps: float | None,
    min_samples: float | None,
    min_incidents: int | None,
    alpha: float | None,
    background: float | None,
    permutations: int | None,
    seed: int | None,
    show: int,
    crs: str | None,
    out: Path,
    overwrite: bool,
) -> None:
    """Find hotspots in INCIDENTS (files, folders or globs), print them ranked, write --out."""
    from beatplan.geo import write_layers
    from beatplan.hotspots import find_hotspots

    _refuse_existing(out, overwrite)
    inc = _read_incidents(incidents, crs)
    bnd = None
    area = None
    if boundaries is not None:
        bnd = read_areas(boundaries, crs=crs)
        if area_id is not None:
            area = pick_area(bnd, area_id, inc.crs)
        bnd = plan_layers(bnd)  # a plan: every level's layer
    elif area_id is not None:
        raise click.UsageError("--area-id needs --boundaries")
    bw: Any = bandwidth
    if bandwidth is not None and bandwidth not in ("nn", "silverman"):
        try:
            bw = float(bandwidth)
        except ValueError as exc:
            raise click.BadParameter(
                f"{bandwidth!r}: give metres or nn|silverman", param_hint="--bandwidth"
            ) from exc
    # only the options given: the method's own defaults fill the rest, and an option of
    # another method is refused with the methods it applies to
    given = dict(cell=cell, band=band, bandwidth=bw, eps=eps, min_samples=min_samples,
                 alpha=alpha, permutations=permutations, seed=seed)  # fmt: skip
    options: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if background is not None:
        options["background"] = background or None  # 0: off
    hs = find_hotspots(
        inc, method=method, since=since, months=parse_months(months), types=parse_types(types),
        area=area, boundaries=bnd, min_incidents=min_incidents, **options,
    )  # fmt: skip
    click.echo(_summary(hs))
    if len(hs):
        click.echo(_table(hs, show))
    write_layers(out, {"hotspots": hs.areas}, overwrite=overwrite)
    click.echo(f"wrote {len(hs)} hotspot{'s' if len(hs) != 1 else ''} to {out}")


#: The parameters whose value and rule the summary prints.
_SHOWN = ("cell", "band", "bandwidth", "eps", "min_samples", "min_cluster_size", "min_incidents",
          "threshold", "background", "filters", "study_region")  # fmt: skip


def _summary(hs: Any) -> str:
    p = hs.params
    inside = int((hs.labels > 0).sum())
    n = int(p.get("incidents", 0))
    lines = [
        f"{hs.method}: {len(hs)} hotspot{'s' if len(hs) != 1 else ''} holding {inside:,} of "
        f"{n:,} incidents ({inside / n:.1%})"
        if n
        else f"{hs.method}: no incidents",
    ]
    for key, text in p.get("how", {}).items():
        if key in _SHOWN:
            value = p.get(key)
            lines.append(f"  {key}: {'' if value is None else str(value) + ' - '}{text}")
    return "\n".join(lines)


def _table(hs: Any, n: int) -> str:
    a = hs.areas.head(n)
    t = pd.DataFrame(
        {
            "rank": a["hotspot"],
            "incidents": a["incidents"],
            "share": (a["share"] * 100).round(1).astype(str) + "%",
            "area_ha": (a["area_m2"] / 1e4).round(1),
            "per_km2": a["density_km2"].round(0).astype("int64"),
            "excess": a["excess"].round(0).astype("int64"),
            "months": a["first_month"].fillna("") + ".." + a["last_month"].fillna(""),
            "top types": a["top_types"].fillna("").str.slice(0, 60),
        }
    )
    for col in ("ward", "beat", "sector", "npa", "area"):
        if col in a.columns:
            t[col] = a[col].fillna("").str.slice(0, 30)
    return t.to_string(index=False)


@command.command("backtest")
@click.argument("incidents", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--method",
    "methods",
    multiple=True,
    default=("all",),
    show_default=True,
    type=click.Choice((*_METHODS, "all")),
    help="Methods to score (repeatable).",
)
@click.option("--train-months", type=int, default=3, show_default=True)
@click.option("--test-months", type=int, default=1, show_default=True)
@click.option(
    "--coverage",
    default="0.5,1,3",
    show_default=True,
    metavar="PERCENTS",
    help="Shares of the study area, in percent, comma-separated.",
)
@boundary_option(
    "--study-area",
    default=None,
    help="Polygons of the force area (FILE[:LAYER][:id=COL][:name=COL]), or a plan (its "
    "force) (default: convex hull of the incidents).",
)
@click.option("--cell", type=float, default=None, help="Cell of the methods' grids (metres).")
@click.option(
    "--rank",
    type=click.Choice(("score", "count", "hot-count")),
    default="score",
    show_default=True,
    help="How the methods' cells are ranked.",
)
@click.option("--halflife", default=None, help="Recency weighting, e.g. 30D.")
@click.option("--step", type=int, default=1, show_default=True, help="Months between folds.")
@crs_option
@click.option(  # optional: out_option(default=None) would mark it required
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the tidy results to this CSV.",
)
@overwrite_option
@handle_errors
def backtest_cmd(
    incidents: tuple[Path, ...],
    methods: tuple[str, ...],
    train_months: int,
    test_months: int,
    coverage: str,
    study_area: Any,
    cell: float | None,
    rank: str,
    halflife: str | None,
    step: int,
    crs: str | None,
    out: Path | None,
    overwrite: bool,
) -> None:
    """Score hotspot methods month by month (PAI at equal area coverage) beside a baseline."""
    from beatplan.hotspots import backtest

    _refuse_existing(out, overwrite)
    try:
        shares = [float(c) / 100 for c in coverage.split(",") if c.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"{coverage!r}: e.g. 0.5,1,3", param_hint="--coverage") from exc
    if not shares:
        raise click.BadParameter("no coverage given", param_hint="--coverage")
    inc = _read_incidents(incidents, crs)
    area = None if study_area is None else read_layer(study_area, role="force", crs=crs)
    chosen: str | list[str] = "all" if "all" in methods else list(methods)
    table = backtest(
        inc, chosen, train_months=train_months, test_months=test_months, coverage=shares,
        study_area=area, cell=cell, rank=rank, halflife=halflife, step=step,
    )  # fmt: skip
    if table.empty:
        raise EmptyInputError("backtest: no fold could be scored")
    folds = table["test_start"].nunique()
    click.echo(
        f"{folds} fold{'s' if folds != 1 else ''} ({table['test_start'].min()} .. "
        f"{table['test_start'].max()}), train {train_months} month(s), test {test_months}; "
        f"study area {table.attrs.get('study_area_m2', float('nan')) / 1e6:,.1f} km² "
        f"({table.attrs.get('study_area', '')}); cells ranked by {rank}"
    )
    summary = table.groupby(["method", "coverage"]).agg(
        pai=("pai", "mean"), hit_rate=("hit_rate", "mean"), rri=("rri", "mean"),
        cell=("cell", "mean"),
    )  # fmt: skip
    wide = summary["pai"].unstack("coverage").round(1)
    wide.columns = [f"PAI@{c * 100:g}%" for c in wide.columns]
    hits = summary["hit_rate"].unstack("coverage")
    for c in hits.columns:
        wide[f"hits@{c * 100:g}%"] = (hits[c] * 100).round(1).astype(str) + "%"
    wide["cell_m"] = summary["cell"].groupby("method").mean().round(0)
    click.echo(wide.to_string())
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, table.to_csv(index=False, lineterminator="\n"), overwrite=overwrite)
        click.echo(f"wrote {len(table)} rows to {out}")
