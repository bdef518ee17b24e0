"""Bad-input catalogue for read_incidents (issue 11): every case a hostile user tried, and more.

Each case is a file (or files) and what must happen:

* a clean error: the beatplan error class and a message naming what is wrong and what to do;
* or a result where nothing is lost: ``points + rejected == rows read``, ``rows read`` equals
  the file's data lines, each row once, and the reasons, fixes and messages expected.

The totals (cases, clean errors, nothing lost) are printed by ``test_catalogue_totals``.
"""

from __future__ import annotations

import codecs
import gzip
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from _police_uk import HEADER, police_row

from bad_inputs.catalogue import FileData, print_totals, write_case
from beatplan.geo.errors import (
    BeatplanError,
    ColumnNotFoundError,
    CRSError,
    EmptyInputError,
    GeometryError,
    InputFormatError,
    OptionError,
)
from beatplan.geo.incidents import Incidents, read_incidents


def row(n: int, **kw: str) -> str:
    """One police.uk row around Leicester; its location names its number."""
    return police_row(n, **kw)


def rows(n: int) -> list[str]:
    return [row(i) for i in range(1, n + 1)]


def police(lines: list[str], *, header: str = HEADER, end: str = "\n") -> str:
    return end.join([header, *lines]) + end


def swapped(line: str) -> str:
    f = line.split(",")
    f[4], f[5] = f[5], f[4]
    return ",".join(f)


def edit(lines: list[str], changes: dict[int, str]) -> list[str]:
    """Replace rows by their number (1-based)."""
    out = list(lines)
    for n, text in changes.items():
        out[n - 1] = text
    return out


@dataclass
class Case:
    """One bad input: its files (name -> bytes) and what must come of reading them."""

    id: str
    files: dict[str, FileData]
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: type[BeatplanError] | None = None
    match: str = ""
    rows_read: int | None = None  # default: the files' non-blank data lines
    reasons: dict[str, int] = field(default_factory=dict)
    rejected_rows: dict[int, str] | None = None  # row -> reason (single-file cases)
    fixed: dict[str, int] = field(default_factory=dict)
    message: str = ""  # a substring of one of the messages
    check: Callable[[Incidents], None] | None = None
    folder: bool = False  # read the folder rather than the files


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


# --------------------------------------------------------------------------- the cases

R200 = rows(200)
ASCII_ROWS = rows(20)


def _accents_kept(inc: Incidents) -> None:
    loc = inc.points.set_index("row")["location"]
    assert loc[11] == "On or near Caf\u00e9 11"  # a UTF-8 row stays UTF-8
    assert loc[21] == "On or near Zo\u00eb Road"  # the Latin-1 row is read as Latin-1
    assert (inc.fixed["row"] == 21).all()


def _ellipsis_not_nel(inc: Incidents) -> None:
    loc = inc.points.set_index("row")["location"]
    assert loc[3] == "On or near Bar\u2026"  # cp1252 0x85, not the U+0085 line break
    assert not loc.str.contains("\u0085").any()


def _multiline_kept(inc: Incidents) -> None:
    assert inc.points.set_index("row")["location"][2] == "On or near\nStreet 2"


def _mid_quote_kept(inc: Incidents) -> None:
    assert inc.points.set_index("row")["location"][3] == 'On or near 5" Street'


def _bng_and_swapped_back(inc: Incidents) -> None:
    assert inc.crs.to_epsg() == 27700
    b = inc.points.total_bounds  # every point back around Leicester
    assert b[0] > 440_000 and b[2] < 470_000 and b[1] > 295_000 and b[3] < 315_000


def _stray_kept_bng(inc: Incidents) -> None:
    assert inc.crs.to_epsg() == 27700
    assert 4 in set(inc.points["row"])  # 300 km away, kept


def _renamed_copy(inc: Incidents) -> None:
    assert any("'Context.1'" in m for m in inc.messages)


def _parquet_dups(path: Path) -> None:
    table = pa.table([pa.array([-1.1]), pa.array([52.6]), pa.array([-1.2])], ["lon", "lat", "lon"])
    pq.write_table(table, path)


def _polygons(path: Path) -> None:
    box = shapely.box(-1.1, 52.6, -1.0, 52.7)
    gpd.GeoDataFrame({"category": ["x"]}, geometry=[box], crs=4326).to_file(path)


mixed = utf8(
    police(
        edit(R200, {11: row(11, location="On or near Caf\u00e9 11"), 21: row(21, location="ZOE")})
    )
).replace(b"ZOE", "On or near Zo\u00eb Road".encode("latin-1"))
latin_bad_row = police(edit(R200, {6: row(6, location="On or near Caf\u00e9") + ",extra"})).encode(
    "latin-1"
)
latin_header = police(R200, header=HEADER.replace("Reported by", "R\u00e9ported by")).encode(
    "latin-1"
)
cp1252 = police(edit(ASCII_ROWS, {3: row(3, location="On or near Bar\u2026")})).encode("cp1252")
swap10 = police([swapped(r) if n % 10 == 3 else r for n, r in enumerate(R200, start=1)])

CASES = [
    # --- quotes (issue item 4) -------------------------------------------------------------
    Case(
        "unclosed quote mid-file",
        {"a.csv": utf8(police(edit(R200, {51: row(51, location='"On or near Street 51')})))},
        reasons={"malformed row": 1},
        rejected_rows={51: "malformed row"},
        message="1 malformed row",
    ),
    Case(
        "unclosed quote on the last line",
        {"a.csv": utf8(police(edit(R200, {200: row(200, location='"On or near')})))},
        rejected_rows={200: "malformed row"},
    ),
    Case(
        "two unclosed quotes",
        {"a.csv": utf8(police(edit(R200, {5: row(5, lon='"-1.1'), 9: row(9, location='"x')})))},
        rejected_rows={5: "malformed row", 9: "malformed row"},
    ),
    Case(
        "a quoted value that spans two lines is one row",
        {"a.csv": utf8(police(edit(ASCII_ROWS, {2: row(2, location='"On or near\nStreet 2"')})))},
        rows_read=20,
        check=_multiline_kept,
    ),
    Case(
        "a quote inside a value is a character",
        {"a.csv": utf8(police(edit(ASCII_ROWS, {3: row(3, location='On or near 5" Street')})))},
        check=_mid_quote_kept,
    ),
    Case(
        "an unclosed quote in a file with blank lines",
        {"a.csv": utf8(police(edit(R200, {7: "", 30: row(30, location='"open')})))},
        rows_read=199,
        rejected_rows={29: "malformed row"},
    ),
    # --- encodings (item 5) ----------------------------------------------------------------
    Case(
        "UTF-8 file with one Latin-1 row",
        {"a.csv": mixed},
        fixed={"bytes not UTF-8": 1},
        message="1 row (21) holds bytes that are not UTF-8",
        check=_accents_kept,
    ),
    Case(
        "Latin-1 file with one malformed row",
        {"a.csv": latin_bad_row},
        reasons={"malformed row": 1},
        rejected_rows={6: "malformed row"},
        fixed={"bytes not UTF-8": 1},
    ),
    Case(
        "Latin-1 byte in the header",
        {"a.csv": latin_header},
        message="the header holds bytes that are not UTF-8",
    ),
    Case(
        "Windows-1252 ellipsis",
        {"a.csv": cp1252},
        fixed={"bytes not UTF-8": 1},
        check=_ellipsis_not_nel,
    ),
    Case("UTF-8 byte-order mark", {"a.csv": codecs.BOM_UTF8 + utf8(police(R200))}),
    Case(
        "UTF-16 with its mark",
        {"a.csv": police(ASCII_ROWS).encode("utf-16")},
        rows_read=20,
        message="UTF-16",
    ),
    Case(
        "a UTF-8-encoded lone surrogate",
        {"a.csv": utf8(police(ASCII_ROWS)).replace(b"Street 4,", b"Street \xed\xa0\x80,")},
        fixed={"bytes not UTF-8": 1},
    ),
    # --- line ends and blank lines ---------------------------------------------------------
    Case("Windows line ends", {"a.csv": utf8(police(R200, end="\r\n"))}),
    Case("old Mac line ends", {"a.csv": utf8(police(ASCII_ROWS, end="\r"))}, rows_read=20),
    Case(
        "blank lines are not rows",
        {"a.csv": utf8(police(edit(R200, {10: "", 11: ""})))},
        rows_read=198,
    ),
    Case("no final newline", {"a.csv": utf8(police(R200).rstrip("\n"))}),
    Case(
        "header only",
        {"a.csv": utf8(HEADER + "\n")},
        rows_read=0,
        message="a header but no data rows",
    ),
    Case("gzipped", {"a.csv.gz": gzip.compress(utf8(police(R200)))}),
    # --- fields ----------------------------------------------------------------------------
    Case(
        "too many and too few fields",
        {"a.csv": utf8(police(edit(ASCII_ROWS, {2: row(2) + ",x", 4: "id,2022-03"})))},
        rejected_rows={2: "malformed row", 4: "malformed row"},
    ),
    Case(
        "numbers that are not coordinates",
        {
            "a.csv": utf8(
                police(
                    edit(
                        ASCII_ROWS,
                        {
                            1: row(1, lon="nan"),
                            2: row(2, lat="inf"),
                            3: row(3, lon="1e400"),
                            4: row(4, lat="abc"),
                            5: row(5, lon="", lat=""),
                            6: row(6, lon="0", lat="0"),
                            7: row(7, lat="-91"),
                            8: row(8, lon="  -1.1  "),
                        },
                    )
                )
            )
        },
        rejected_rows={
            1: "not a number",
            2: "out of range",
            3: "out of range",
            4: "not a number",
            5: "no location",
            6: "zero coordinates",
            7: "out of range",
        },
    ),
    Case(
        "a repeated column that is not read",
        {"a.csv": utf8(police([r + ",x" for r in ASCII_ROWS], header=HEADER + ",Context"))},
        check=_renamed_copy,
    ),
    Case(
        "NUL characters in a value",
        {"a.csv": utf8(police(edit(ASCII_ROWS, {2: row(2, location="a\x00b")})))},
    ),
    # --- coordinates (item 3) --------------------------------------------------------------
    Case(
        "10 % of rows with lon/lat swapped",
        {"a.csv": utf8(swap10)},
        fixed={"swapped coordinates": 20},
        message="swapped in 20 rows",
        check=_bng_and_swapped_back,
    ),
    Case(
        "a row 5,000 km away",
        {"a.csv": utf8(police(edit(R200, {8: row(8, lon="30.0", lat="10.0")})))},
        rejected_rows={8: "far away"},
    ),
    Case(
        "a genuine stray point 300 km away is kept",
        {"a.csv": utf8(police(edit(R200, {4: row(4, lon="-3.0", lat="55.2")})))},
        check=_stray_kept_bng,
    ),
    Case(
        "a fifth of the rows 450 km away never choose the CRS",
        {
            "a.csv": utf8(
                police(
                    [
                        row(n, lon="2.35", lat="48.85") if n % 5 == 0 else r
                        for n, r in enumerate(R200, start=1)
                    ]
                )
            )
        },
        check=_stray_kept_bng,
    ),
    Case(
        "the whole file swapped",
        {"a.csv": utf8(police([swapped(r) for r in R200]))},
        message="were swapped in a.csv",
    ),
    # --- files (item 7) --------------------------------------------------------------------
    Case(
        "the same month's file twice",
        {
            "2022-03.csv": utf8(police(edit(R200, {n: row(n, crime_id="") for n in range(1, 40)}))),
            "2022-03 (1).csv": utf8(
                police(edit(R200, {n: row(n, crime_id="") for n in range(1, 40)}))
            ),
        },
        reasons={"duplicate file": 200},
        message="has the same content as",
        folder=True,
    ),
    Case(
        "the same month downloaded twice (outcomes changed)",
        {
            "a.csv": utf8(police(edit(R200, {n: row(n, crime_id="") for n in range(1, 40)}))),
            "b.csv": utf8(
                police(edit(R200, {n: row(n, crime_id="", month="2022-03") for n in range(1, 40)}))
            ).replace(b"Under investigation", b"Local resolution"),
        },
        reasons={"duplicate id": 161},
        message="may be counted twice",
        folder=True,
    ),
    # --- clean errors ----------------------------------------------------------------------
    Case("empty file", {"a.csv": b""}, error=InputFormatError, match="empty or its first line"),
    Case(
        "blank first line",
        {"a.csv": b"\n" + utf8(police(R200))},
        error=InputFormatError,
        match="first line is blank",
    ),
    Case(
        "binary file",
        {"a.csv": bytes(range(256)) * 4},
        error=InputFormatError,
        match="not a text table",
    ),
    Case("corrupt gzip", {"a.csv.gz": b"not gzip"}, error=InputFormatError, match="cannot be read"),
    Case("not Parquet", {"a.parquet": b"PAR1 nope"}, error=InputFormatError, match="Parquet"),
    Case(
        "no coordinate columns",
        {"a.csv": b"ref,when\n1,2\n"},
        error=ColumnNotFoundError,
        match="no coordinate columns found.*x=",
    ),
    Case(
        "projected columns without a CRS",
        {"a.csv": b"easting,northing\n458000,304000\n"},
        error=CRSError,
        match="no CRS; pass crs=",
    ),
    Case(
        "an unknown schema",
        {"a.csv": utf8(police(R200))},
        {"schema": "policeuk"},
        error=OptionError,
        match="schema='policeuk'.*'police.uk'",
    ),
    Case(
        "x without y",
        {"a.csv": utf8(police(R200))},
        {"x": "Longitude"},
        error=OptionError,
        match="give both or neither",
    ),
    Case(
        "a column named that is not there",
        {"a.csv": utf8(police(R200))},
        {"date": "When"},
        error=ColumnNotFoundError,
        match="no column 'When'.*date=",
    ),
    Case(
        "a month column of words",
        {"a.csv": utf8(police([row(n, month="soon") for n in range(1, 20)]))},
        error=InputFormatError,
        match="does not hold dates.*date=",
    ),
    Case(
        "metres read as degrees",
        {"a.csv": b"lon,lat\n458000,304000\n459000,305000\n"},
        error=CRSError,
        match="not degrees.*schema='xy'",
    ),
    Case(
        "a repeated coordinate column",
        {"a.csv": utf8(police([r + ",1" for r in R200], header=HEADER + ",Longitude"))},
        error=InputFormatError,
        match="'Longitude' appears 2 times.*x='Longitude.1'",
    ),
    Case(
        "a repeated coordinate column in Parquet",
        {"dups.parquet": _parquet_dups},
        error=InputFormatError,
        match="'lon' appears 2 times.*rename",
    ),
    Case(
        "files that need different schemas",
        {"a.csv": utf8(police(R200)), "b.csv": b"lon,lat\n-1.1,52.6\n"},
        error=InputFormatError,
        match="different schemas",
        folder=True,
    ),
    Case("a polygon layer", {"p.gpkg": _polygons}, error=GeometryError, match="must hold points"),
    Case(
        "an empty folder",
        {},
        error=EmptyInputError,
        match="holds no file ending in .csv",
        folder=True,
    ),
    Case(
        "projected x/y with a geographic CRS",
        {"a.csv": b"x,y\n1,2\n"},
        {"schema": "xy", "crs": 4326},
        error=CRSError,
        match="geographic",
    ),
]


def _data_lines(case: Case) -> int:
    """The files' non-blank lines after each header (what rows_read must be by default)."""
    n = 0
    for name, data in case.files.items():
        assert isinstance(data, bytes)
        text = (gzip.decompress(data) if name.endswith(".gz") else data).decode("latin-1")
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        n += sum(1 for ln in lines[1:] if ln.strip())
    return n


def assert_nothing_lost(inc: Incidents) -> None:
    assert len(inc.points) + len(inc.rejected) == inc.rows_read
    keys = pd.concat([inc.points[["source", "row"]], inc.rejected[["source", "row"]]])
    assert not keys.duplicated().any(), "a row appears twice"
    for source, group in keys.groupby("source"):
        assert sorted(group["row"]) == list(range(1, len(group) + 1)), source


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_incident_input(case: Case, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    source = write_case(case.files, tmp_path, folder=case.folder)
    if case.error is not None:
        with pytest.raises(case.error, match=case.match) as err:
            read_incidents(source, **case.kwargs)
        assert "\n" not in str(err.value).strip()  # one line
        _no_tracebacks(capfd)
        return
    inc = read_incidents(source, **case.kwargs)
    _no_tracebacks(capfd)
    assert_nothing_lost(inc)
    want_rows = case.rows_read if case.rows_read is not None else _data_lines(case)
    assert inc.rows_read == want_rows
    if case.reasons:
        assert inc.reason_counts == case.reasons
    if case.rejected_rows is not None:
        got = dict(zip(inc.rejected["row"], inc.rejected["reason"], strict=True))
        assert got == case.rejected_rows
    assert dict(Counter(inc.fixed["fix"])) == case.fixed
    if case.message:
        assert any(case.message in m for m in inc.messages), inc.messages
    if case.check is not None:
        case.check(inc)


def _no_tracebacks(capfd: pytest.CaptureFixture[str]) -> None:
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception ignored" not in err, err[:500]


def test_progress_over_many_files(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for month in ("2022-01", "2022-02", "2022-03"):
        (tmp_path / f"{month}.csv").write_text(police([row(1, month=month)]))
    read_incidents(tmp_path, progress=True)
    assert "reading incidents" in capfd.readouterr().err
    read_incidents(tmp_path, progress=False)
    read_incidents(tmp_path)  # not a terminal: silent
    assert capfd.readouterr().err == ""


def test_catalogue_totals(capsys: pytest.CaptureFixture[str]) -> None:
    print_totals(capsys, "read_incidents", CASES, "read with nothing lost")


def test_a_fixed_row_is_still_kept_or_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(swap10)
    inc = read_incidents(path)
    fixed = inc.fixed[inc.fixed["fix"] == "swapped coordinates"]
    assert set(fixed["row"]) <= set(inc.points["row"])
    assert fixed["detail"].str.contains("swapped back").all()
    assert np.array_equal(fixed["row"], np.sort(fixed["row"]))
    assert "fixed: swapped coordinates 20" in inc.summary()
