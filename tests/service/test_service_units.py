"""In-process tests of the service's parts: the tokens file, the version cache, the LRU."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import threading
import time

import pytest

from beatplan.geo.errors import InputFormatError, OptionError
from beatplan.service.caching import Cache
from beatplan.service.settings import Settings
from beatplan.service.sources import read_sources
from beatplan.service.tokens import TokenFile, add_token, list_tokens, revoke_token
from beatplan.service.versions import VersionCache


def test_tokens_file_keeps_only_salted_hashes(tmp_path):
    f = tmp_path / "t" / "tokens.json"
    a = add_token(f, "desk-1", areas=["NPA-CE", "beat:B01"])
    b = add_token(f, "admin", admin=True)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    text = f.read_text()
    for token in (a, b):
        assert token.split(".")[2] not in text and token not in text
    data = json.loads(text)
    salts = [t["salt"] for t in data["tokens"]]
    assert len(set(salts)) == 2 and all(t["kdf"]["name"] == "scrypt" for t in data["tokens"])
    assert [(t["name"], t["areas"], t["admin"]) for t in list_tokens(f)] == [
        ("desk-1", ["NPA-CE", "beat:B01"], False),
        ("admin", [], True),
    ]
    assert not list(f.parent.glob(".*tmp"))  # written through a temporary file, renamed


def test_token_checks(tmp_path):
    f = tmp_path / "tokens.json"
    good = add_token(f, "desk")
    tokens = TokenFile(f)
    who = tokens.verify(good)
    assert who is not None and who.name == "desk" and not who.admin and not who.scoped
    key_id = good.split(".")[1]
    assert tokens.costly(good) is False  # remembered: no second scrypt
    wrong = f"bpt.{key_id}." + "x" * 43
    assert tokens.costly(wrong) and tokens.verify(wrong) is None and not tokens.costly(wrong)
    assert tokens.verify("bpt.000000000000." + "x" * 43) is None
    assert tokens.verify("Basic abc") is None and tokens.verify("") is None
    revoke_token(f, "desk")
    time.sleep(1.05)  # the file is looked at no more than once a second
    assert tokens.verify(good) is None and tokens.principal(key_id) is None
    again = add_token(f, "desk")  # a revoked name may be given again: a new token
    time.sleep(1.05)
    assert tokens.verify(again) is not None and tokens.verify(good) is None


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("bad name", {}), ("ok", {"areas": ["../x"]}), ("ok", {"rate": 0}), ("ok", {"burst": 0})],
)
def test_bad_token_options_are_refused(tmp_path, name, kwargs):
    with pytest.raises(OptionError):
        add_token(tmp_path / "t.json", name, **kwargs)


def test_damaged_tokens_file_is_refused(tmp_path):
    f = tmp_path / "t.json"
    f.write_text("{not json")
    with pytest.raises(InputFormatError, match="not a beatplan tokens file"):
        TokenFile(f)
    with pytest.raises(InputFormatError, match="no tokens file"):
        TokenFile(tmp_path / "missing.json")


def test_token_commands(tmp_path):
    f = tmp_path / "tokens.json"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "beatplan", "token", *args, "--tokens",
                               str(f)], capture_output=True, text=True, timeout=60)  # fmt: skip

    added = run("add", "desk", "--area", "NPA-CE", "--rate", "5")
    assert added.returncode == 0 and added.stdout.count("\n") == 1
    token = added.stdout.strip()
    assert token.startswith("bpt.") and "not shown again" in added.stderr
    listed = run("list")
    assert "desk" in listed.stdout and "NPA-CE" in listed.stdout and token not in listed.stdout
    assert run("add", "desk").returncode == 2
    assert run("revoke", "desk").returncode == 0
    missing = run("revoke", "nobody")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_version_cache_round_trip_and_half_written_versions(tmp_path, plan_a):
    settings = Settings(plan=plan_a[0], incidents=(str(plan_a[1]),), cache=tmp_path / "cache")
    snap = read_sources(settings)
    cache = VersionCache(settings.cache_dir)
    assert cache.current() is None
    (cache.folder / ".tmp-abc-1").mkdir()  # left by a process killed while writing
    cache.write(snap)
    assert cache.current() == snap.version and not list(cache.folder.glob(".tmp-*"))
    back = cache.load(snap.version)
    assert back.version == snap.version and back.levels == snap.levels
    assert {lv: len(a) for lv, a in back.areas.items()} == {
        lv: len(a) for lv, a in snap.areas.items()
    }
    assert back.answer_json == snap.answer_json and len(back.points) == len(snap.points)
    # a version folder without its manifest is not whole: the pointer to it is ignored
    (cache.folder / f"v-{snap.version}" / "manifest.json").unlink()
    assert cache.current() is None


def test_cache_computes_each_key_once():
    cache = Cache(max_items=2)
    calls = []
    gate = threading.Event()

    def slow():
        calls.append(1)
        gate.wait(5)
        return b"x" * 10

    async def main():
        tasks = [asyncio.create_task(cache.compute("k", slow)) for _ in range(5)]
        await asyncio.sleep(0.1)
        gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert len(calls) == 1 and [v for v, _ in results] == [b"x" * 10] * 5
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("k") is None and cache.get("b") == b"2"  # bounded: the oldest went


def test_a_ward_file_with_level_columns_serves_like_its_plan(tmp_path, plan_a):
    import beatplan as bp

    plan = bp.read_plan(plan_a[0])
    wards = plan.wards[["id", "name", "beat", "sector", "npa", "geometry"]]
    wards.to_file(tmp_path / "wards.geojson", driver="GeoJSON")
    from_file = read_sources(Settings(plan=tmp_path / "wards.geojson", cache=tmp_path / "c1"))
    from_plan = read_sources(Settings(plan=plan_a[0], cache=tmp_path / "c2"))
    assert from_file.levels == from_plan.levels == ("ward", "beat", "sector", "npa", "force")
    assert {lv: sorted(a) for lv, a in from_file.areas.items() if lv != "force"} == {
        lv: sorted(a) for lv, a in from_plan.areas.items() if lv != "force"
    }
    assert from_file.answer_json.keys() == from_plan.answer_json.keys()
    assert len(from_file.points) == 0  # no incidents given: locate and areas only


def test_a_port_in_use_is_one_clear_error_before_any_loading() -> None:
    import socket

    from beatplan.geo.errors import OptionError
    from beatplan.serve_cmd import _check_port

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OptionError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            _check_port("127.0.0.1", port)
    _check_port("127.0.0.1", 0)  # any free port


def test_a_batch_point_with_its_own_crs_is_told_where_crs_goes() -> None:
    import json

    from beatplan.service.problems import Problem
    from beatplan.service.routes.locate import _batch_json

    body = json.dumps({"points": [{"x": 450000, "y": 300000, "crs": "EPSG:27700"}]}).encode()
    with pytest.raises(Problem, match="crs goes once beside points"):
        _batch_json(body, None)
    ok = json.dumps({"crs": "EPSG:27700", "points": [{"x": 450000, "y": 300000}]}).encode()
    xs, ys, crs, ids = _batch_json(ok, None)
    assert xs.tolist() == [450000] and ys.tolist() == [300000] and ids == [None]
