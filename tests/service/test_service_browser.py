"""Chromium opens ``/``, signs in with a token, picks an area, and the briefing map draws.

The page and the map run under their Content-Security-Policies, with no network but the
server on loopback: any JavaScript error, console error or CSP violation fails the test.
The screenshot goes to ``$BEATPLAN_SCREENSHOTS`` (default: pytest's tmp folder).
"""

from __future__ import annotations

import json

import pytest
from harness.chromium import open_page

pytestmark = pytest.mark.browser

SIGN_IN = r"""
(async () => {
  const TOKEN = %(token)s, AREA = %(area)s, SINCE = %(since)s;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (test, ms) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) { const v = test(); if (v) return v; await sleep(50); }
    return null;
  };
  const $ = (id) => document.getElementById(id);
  $('token').value = TOKEN;
  $('signin').click();
  if (!(await until(() => !$('pick-box').hidden, 30000))) {
    return {signedIn: false, message: $('message').textContent};
  }
  const options = Array.from($('area').options).map((o) => o.value);
  $('area').value = AREA;
  $('since').value = SINCE;
  $('open').click();
  const frame = $('map');
  const doc = await until(() => {
    try {
      const d = frame.contentDocument;
      return d && frame.contentWindow.L && d.querySelectorAll('path.leaflet-interactive').length
        ? d : null;
    } catch (e) { return null; }
  }, 60000);
  if (!doc) return {signedIn: true, options, drawn: false, message: $('message').textContent};
  await sleep(1500);
  const w = frame.contentWindow;
  const maps = Object.keys(w).filter((k) => { try { return w[k] instanceof w.L.Map; }
                                              catch (e) { return false; } });
  return {
    signedIn: true, drawn: true, options,
    who: $('who-name').textContent,
    message: $('message').textContent,
    tokenShown: document.body.innerHTML.includes(TOKEN),
    frameUrl: frame.contentWindow.location.pathname,
    maps: maps.length,
    paths: doc.querySelectorAll('path.leaflet-interactive').length,
    title: (doc.querySelector('.bp-title h1') || {}).textContent || null,
    layers: Array.from(doc.querySelectorAll('.leaflet-control-layers-overlays label'))
                 .map((l) => l.textContent.trim()),
  };
})()
"""


def test_sign_in_pick_an_area_and_the_briefing_map_draws(browser_ready, server, tokens, shots):
    probe = SIGN_IN % {
        "token": json.dumps(tokens.scoped),
        "area": json.dumps("npa:NPA-CE"),
        "since": json.dumps("3M"),
    }
    shot = shots / "service_briefing.png"
    res = open_page(server.base + "/", probe=probe, screenshot=shot, shot_after_probe=True,
                    size=(1280, 900), timeout=120)  # fmt: skip
    v = res.value
    assert res.errors == [], res.errors
    assert v["signedIn"] and v["drawn"], v
    assert "ce-desk" in v["who"] and not v["tokenShown"]
    # the scoped token is offered its NPA, sectors and beats, nothing of the rest of the force
    assert "npa:NPA-CE" in v["options"] and "npa:NPA-NE" not in v["options"]
    assert all(o.split(":")[0] in ("npa", "sector", "beat") for o in v["options"])
    assert v["frameUrl"].startswith("/maps/briefing/view/") and v["maps"] == 1
    assert v["paths"] > 5 and v["title"] and "Briefing map" in v["message"]
    assert "Hotspots (ranked)" in v["layers"] and "Beats" in v["layers"]
    # only the server on loopback was asked for anything
    assert all(u.startswith(server.base) or u.startswith(("data:", "blob:", "about:"))
               for u in res.requests), res.requests  # fmt: skip
    assert shot.stat().st_size > 20_000


def test_a_bad_token_is_refused_on_the_page(browser_ready, server):
    probe = SIGN_IN % {"token": json.dumps("bpt.0123456789ab." + "A" * 43),
                       "area": '""', "since": '"28D"'}  # fmt: skip
    res = open_page(server.base + "/", probe=probe, timeout=60)
    assert res.value["signedIn"] is False
    assert "not valid" in res.value["message"]
    # the refused fetch is logged by Chromium as a failed resource (401); nothing else
    assert all("401" in e for e in res.errors), res.errors
