"""``beatplan hotspots``: find ranked crime hotspots, or backtest the methods.

``beatplan hotspots INCIDENTS... --out hotspots.gpkg`` finds hotspots and prints a ranked
table; ``beatplan hotspots backtest INCIDENTS... --method all`` scores the maps each method
draws month by month beside the naive baseline at the same coverage, and says in how many
folds each beat it.
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
    DEFAULT_HOTSPOT_METHOD,
    HOTSPOT_METHODS,
    boundary_option,
    crs_option,
    handle_errors,
    out_option,
    overwrite_option,
    parse_months,
    parse_share,
    parse_shares,
    parse_types,
    pick_area,
    plan_layers,
    read_areas,
    read_layer,
)

__all__ = ["command"]

log = logging.getLogger("beatplan")

_METHODS = HOTSPOT_METHODS
DEFAULT_METHOD = DEFAULT_HOTSPOT_METHOD


class _HotspotsGroup(click.Group):
    """A group whose default subcommand is ``find``: ``beatplan hotspots FILE`` finds hotspots."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["find", *args]
        return super().parse_args(ctx, args)


_GROUP_HELP = (
    "Find crime hotspots (the default command, find), or backtest the methods.\n\n"
    "\b\n"
    "beatplan hotspots INCIDENTS... --out hotspots.gpkg [--coverage 0.005] [--top 20]\n"
    "beatplan hotspots backtest INCIDENTS... [--method all]"
)


@click.group(
    cls=_HotspotsGroup, help=_GROUP_HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
def command() -> None:
    """Find crime hotspots, or backtest the methods."""


def _study_area(src: Any, crs: str | None) -> Any:
    """Read ``--study-area``: a plan (folder or GeoPackage) gives its force layer, else a layer."""
    return None if src is None else read_layer(src, role="force", crs=crs)


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
    default=None,
    help=f"The method (default {DEFAULT_METHOD}): Gi* with FDR, kernel density, or weighted "
    "DBSCAN/HDBSCAN.",
)
@click.option(
    "--coverage",
    default=None,
    metavar="SHARE",
    help="Hotspots covering at most this share of the study area: 0.005 or 0.5%.",
)
@click.option("--top", type=int, default=None, help="Keep the N first-ranked hotspots.")
@boundary_option(
    "--study-area",
    default=None,
    help="The force area (FILE[:LAYER][:id=COL][:name=COL][:dissolve], or a plan: its force "
    "layer). "
    "Default: derived from the incidents; incidents outside it are counted and left out.",
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
    help="Wards/beats/NPAs (FILE[:LAYER][:id=COL][:name=COL][:dissolve]), or a plan: each "
    "hotspot is named by the areas it lies in.",
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
    method: str | None,
    coverage: str | None,
    top: int | None,
    study_area: Any,
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
    from beatplan.geo.write import output_paths
    from beatplan.hotspots import find_hotspots

    _refuse_existing(out, overwrite)
    output_paths(out, ["hotspots"])  # an unknown suffix is refused before any work
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
    if method is not None:
        options["method"] = method
    hs = find_hotspots(
        inc, since=since, months=parse_months(months), types=parse_types(types), area=area,
        study_area=_study_area(study_area, crs), coverage=None if coverage is None else
        parse_share(coverage), top=top, boundaries=bnd, min_incidents=min_incidents, **options,
    )  # fmt: skip
    click.echo(_summary(hs))
    if len(hs):
        click.echo(_table(hs, show))
    write_layers(out, {"hotspots": hs.areas}, overwrite=overwrite)
    click.echo(f"wrote {len(hs)} hotspot{'s' if len(hs) != 1 else ''} to {out}")


#: The parameters whose value and rule the summary prints.
_SHOWN = ("spacing", "radius", "cell", "band", "bandwidth", "eps", "min_samples",
          "min_cluster_size", "min_incidents", "threshold", "background", "filters",
          "study_region", "coverage", "top")  # fmt: skip


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
    how = p.get("how", {})
    if "study_area_km2" in p:
        lines.append(f"  study area: {p['study_area_km2']:,.1f} km² - {how['study_area_km2']}")
    for message in hs.messages:
        lines.append(f"  note: {message}")
    for key, text in how.items():
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
    for col in ("ward", "beat", "sector", "npa", "area"):  # names, else ids, in full
        named = f"{col}_name"
        if named in a.columns:
            t[col] = a[named].fillna(a[col]).fillna("").to_numpy()
        elif col in a.columns:
            t[col] = a[col].fillna("").to_numpy()
    return t.to_string(index=False)


@command.command("backtest")
@click.argument("incidents", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice((*_METHODS, "all")),
    help=f"Methods to score (repeatable; default {DEFAULT_METHOD}, the default method).",
)
@click.option(
    "--mode",
    type=click.Choice(("map", "cells")),
    default="map",
    show_default=True,
    help="map: score the hotspot polygons find draws, beside the busiest 100 m cells at the "
    "same coverage; cells: rank each method's cells at fixed coverages.",
)
@click.option("--train-months", type=int, default=3, show_default=True)
@click.option("--test-months", type=int, default=1, show_default=True)
@click.option(
    "--coverage",
    default=None,
    metavar="SHARES",
    help="Shares of the study area, comma-separated: 0.001,0.005 or 0.1%,0.5%. map: passed "
    "to find (default: each method's own); cells: scored at (default 0.5%,1%,3%).",
)
@boundary_option(
    "--study-area",
    default=None,
    help="The force area (FILE[:LAYER][:id=COL][:name=COL][:dissolve], or a plan: its force "
    "layer). "
    "Default: derived from the incidents, robust to stray far-away points.",
)
@click.option("--cell", type=float, default=None, help="cells: the methods' grid (metres).")
@click.option(
    "--rank",
    type=click.Choice(("score", "count", "hot-count")),
    default=None,
    help="cells: how the methods' cells are ranked (default score).",
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
    mode: str,
    train_months: int,
    test_months: int,
    coverage: str | None,
    study_area: Any,
    cell: float | None,
    rank: str | None,
    halflife: str | None,
    step: int,
    crs: str | None,
    out: Path | None,
    overwrite: bool,
) -> None:
    """Score hotspot methods month by month beside the naive baseline at equal coverage."""
    from beatplan.hotspots import backtest, backtest_summary

    _refuse_existing(out, overwrite)
    shares = parse_shares(coverage)
    inc = _read_incidents(incidents, crs)
    chosen: str | list[str] | None = (
        None if not methods else "all" if "all" in methods else list(methods)
    )
    table = backtest(
        inc, chosen, mode=mode, train_months=train_months, test_months=test_months,
        coverage=shares, study_area=_study_area(study_area, crs), cell=cell, rank=rank,
        halflife=halflife, step=step,
    )  # fmt: skip
    if table.empty:
        raise EmptyInputError("backtest: no fold could be scored")
    click.echo(_backtest_header(table, train_months, test_months))
    click.echo(_fold_table(table) if mode == "map" else _cells_table(table))
    click.echo("")
    for verdict in backtest_summary(table)["verdict"]:
        click.echo(verdict)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, table.to_csv(index=False, lineterminator="\n"), overwrite=overwrite)
        click.echo(f"wrote {len(table)} rows to {out}")


def _backtest_header(table: pd.DataFrame, train_months: int, test_months: int) -> str:
    folds = table["test_start"].nunique()
    a = table.attrs
    text = (
        f"{folds} fold{'s' if folds != 1 else ''} ({table['test_start'].min()} .. "
        f"{table['test_start'].max()}), train {train_months} month(s), test {test_months}; "
        f"study area {a['study_area']}"
    )
    if a.get("outside_study_area"):
        text += f"; {a['outside_study_area']:,} incidents outside it left out"
    return text


def _fold_table(table: pd.DataFrame) -> str:
    """Map mode: one line per fold and method, the method against the naive baseline."""
    t = pd.DataFrame(
        {
            "test": table["test_start"],
            "method": table["method"],
            "asked": table["asked"],
            "hotspots": table["hotspots"],
            "coverage": (table["coverage"] * 100).map("{:.3f}%".format),
            "PAI": table["pai"].round(1),
            "naive PAI": table["naive_pai"].round(1),
            "PEI": table["pei"].round(2),
            "naive PEI": table["naive_pei"].round(2),
            "hit rate": (table["hit_rate"] * 100).map("{:.1f}%".format),
            "naive hit rate": (table["naive_hit_rate"] * 100).map("{:.1f}%".format),
            "won": table["beats_naive"].map({True: "yes", False: "no"}),
        }
    )
    if (t["asked"] == "default").all():
        t = t.drop(columns="asked")
    return t.to_string(index=False)


def _cells_table(table: pd.DataFrame) -> str:
    """Cells mode: mean PAI and hit rate per method and coverage."""
    summary = table.groupby(["method", "coverage"]).agg(
        pai=("pai", "mean"), hit_rate=("hit_rate", "mean"), cell=("cell", "mean"),
    )  # fmt: skip
    wide = summary["pai"].unstack("coverage").round(1)
    wide.columns = [f"PAI@{c * 100:g}%" for c in wide.columns]
    hits = summary["hit_rate"].unstack("coverage")
    for c in hits.columns:
        wide[f"hits@{c * 100:g}%"] = (hits[c] * 100).round(1).astype(str) + "%"
    wide["cell_m"] = summary["cell"].groupby("method").mean().round(0)
    return wide.to_string()
