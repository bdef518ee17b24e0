"""Size budgets on real data: a force-wide briefing map, a month under 3 MB, a year under 10 MB."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.maps import urls_outside_assets

from beatplan.maps.offline import external_resources, to_html

# the size budget is a requirement: CI must not skip it silently
pytestmark = [pytest.mark.realdata, pytest.mark.usefixtures("need_assets")]


@pytest.fixture(scope="module")
def force(shared_data: Path) -> tuple:
    from beatplan.geo import read_boundaries, read_incidents

    inc = read_incidents(shared_data / "leicestershire_street_crime")
    wards = read_boundaries(shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad")
    return inc, wards


@pytest.mark.parametrize(
    ("since", "budget_mb"), [("28D", 3.0), (None, 10.0)], ids=["month", "year"]
)
def test_force_wide_briefing_within_budget(
    force: tuple, since: str | None, budget_mb: float
) -> None:
    from beatplan.hotspots.find import find_hotspots
    from beatplan.maps import briefing_map

    inc, wards = force
    hs = find_hotspots(inc, method="gistar", since="28D")  # the month's hotspots on both
    html = to_html(briefing_map(inc, hs, wards, since=since, tiles=None))
    size_mb = len(html.encode()) / 1e6
    assert size_mb < budget_mb, f"{size_mb:.2f} MB"
    assert external_resources(html) == [] and urls_outside_assets(html) == []
    n = (
        len(inc.points)
        if since is None
        else int((inc.points["month"] == inc.points["month"].max()).sum())
    )
    assert f"{n:,} incidents" in html
