"""beatplan.maps._period: the window a briefing map shows and the label printed on it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatplan.geo.errors import BeatplanError, EmptyInputError, OptionError
from beatplan.maps._period import select_period


def _frame(**cols: object) -> gpd.GeoDataFrame:
    df = pd.DataFrame(cols)
    xy = np.full((len(df), 2), 450_000.0)
    return gpd.GeoDataFrame(df, geometry=shapely.points(xy), crs=27700)


MONTHLY = _frame(
    month=pd.to_datetime(["2022-08-01", "2022-09-01", "2022-10-01", "2022-10-01", None]),
    timestamp=pd.NaT,
)
TIMED = _frame(
    timestamp=pd.to_datetime(["2023-11-06 10:00", "2023-11-19 23:00", "2023-10-01 00:00"])
)


@pytest.mark.parametrize(
    ("since", "mask", "label"),
    [
        ("28D", [0, 0, 1, 1, 0], "October 2022"),
        ("3M", [1, 1, 1, 1, 0], "Aug 2022 \u2013 Oct 2022"),
        ("2022-09", [0, 1, 0, 0, 0], "September 2022"),
        (("2022-08", "2022-09"), [1, 1, 0, 0, 0], "Aug 2022 \u2013 Sep 2022"),
        (None, [1, 1, 1, 1, 1], "Aug 2022 \u2013 Oct 2022 (+1 undated)"),
        ("all", [1, 1, 1, 1, 1], "Aug 2022 \u2013 Oct 2022 (+1 undated)"),
    ],
)
def test_monthly_windows(since: object, mask: list[int], label: str) -> None:
    p = select_period(MONTHLY, since)
    assert p.mask.tolist() == [bool(v) for v in mask]
    assert p.label == label
    assert p.undated == 1


@pytest.mark.parametrize(
    ("since", "mask", "label"),
    [
        ("7D", [0, 1, 0], "19 Nov 2023"),
        ("28D", [1, 1, 0], "6 Nov 2023 \u2013 19 Nov 2023"),
        ("2023-10", [0, 0, 1], "1 Oct 2023"),
    ],
)
def test_timestamped_windows(since: str, mask: list[int], label: str) -> None:
    p = select_period(TIMED, since)
    assert p.mask.tolist() == [bool(v) for v in mask]
    assert p.label == label


def test_window_agrees_with_the_hotspots_filter() -> None:
    from beatplan.hotspots.select import select_incidents

    for since in ("28D", "45D", "46D", "3M"):
        keep, _, _ = select_incidents(MONTHLY, since=since)
        assert select_period(MONTHLY, since).mask.tolist() == list(np.asarray(keep, bool))


@pytest.mark.parametrize("bad", ["28X", "last month", ("2022-08",), 5])
def test_bad_windows_are_option_errors(bad: object) -> None:
    with pytest.raises(OptionError, match="since="):
        select_period(MONTHLY, bad)


def test_undated_data_need_since_none() -> None:
    undated = _frame(month=pd.to_datetime([None, None]))
    with pytest.raises(EmptyInputError, match="since=None"):
        select_period(undated, "28D")
    assert select_period(undated, None).mask.all()


def test_window_outside_the_data() -> None:
    with pytest.raises(BeatplanError):
        select_period(MONTHLY, "2020-01")
