"""The reorganisation spec: YAML and TOML files, its shape, and one error listing every problem."""

from __future__ import annotations

import textwrap

import pytest

from beatplan.boundaries.spec import OPERATIONS, Ref, Spec, load_spec, parse_spec
from beatplan.geo.errors import InputFormatError, OptionError, ValidationError

YAML = """
name: Example
description: all five operations
levels: [beat, sector, npa]
district_column: lad
changes:
  - op: create
    level: npa
    id: N9
    name: New NPA
    districts: [D1]
    wards: [w1, 1713]
    within: {}
  - op: merge
    level: npa
    areas: [N1, N2]
    id: N
    name: Merged
    allow_non_contiguous: true
  - op: move
    level: beat
    wards: [w2]
    to: B1
    note: the school moves over
  - op: split
    level: beat
    area: B2
    into:
      - {id: B2, name: North, wards: [w3, w4]}
      - {name: South, rest: true}
  - op: rename
    level: sector
    area: S1
    id: S9
    name: Riverside
exceptions:
  beat: [B7]
"""

TOML = """
name = "Example"
description = "all five operations"
levels = ["beat", "sector", "npa"]
district_column = "lad"

[[changes]]
op = "create"
level = "npa"
id = "N9"
name = "New NPA"
districts = ["D1"]
wards = ["w1", 1713]
within = {}

[[changes]]
op = "merge"
level = "npa"
areas = ["N1", "N2"]
id = "N"
name = "Merged"
allow_non_contiguous = true

[[changes]]
op = "move"
level = "beat"
wards = ["w2"]
to = "B1"
note = "the school moves over"

[[changes]]
op = "split"
level = "beat"
area = "B2"
into = [
  {id = "B2", name = "North", wards = ["w3", "w4"]},
  {name = "South", rest = true},
]

[[changes]]
op = "rename"
level = "sector"
area = "S1"
id = "S9"
name = "Riverside"

[exceptions]
beat = ["B7"]
"""


def _summary(spec: Spec) -> list:
    out = []
    for s in spec.steps:
        args = {}
        for k, v in s.args.items():
            if isinstance(v, Ref):
                args[k] = v.value
            elif isinstance(v, tuple) and v and isinstance(v[0], Ref):
                args[k] = [r.value for r in v]
            elif k == "into":
                args[k] = [(p["id"].value if p["id"] else None, p["name"], p["rest"]) for p in v]
            else:
                args[k] = v
        out.append((s.op, s.level.value, args))
    return out


@pytest.fixture
def files(tmp_path):
    y = tmp_path / "spec.yaml"
    y.write_text(YAML, encoding="utf-8")
    t = tmp_path / "spec.toml"
    t.write_text(TOML, encoding="utf-8")
    return y, t


def test_yaml_and_toml_give_the_same_spec(files):
    y, t = (load_spec(f) for f in files)
    assert y.ok and t.ok
    assert _summary(y) == _summary(t)
    assert [s.op for s in y.steps] == list(OPERATIONS)
    assert y.name == "Example" and y.district_column == "lad"
    assert [r.value for r in y.levels] == ["beat", "sector", "npa"]
    assert {k: [r.value for r in v] for k, v in y.exceptions.items()} == {"beat": ["B7"]}
    assert y.source.endswith("spec.yaml")


def test_values_keep_their_key_paths(files):
    spec = load_spec(files[0])
    create = spec.steps[0]
    assert create.path == "changes[0]"
    assert [(r.value, r.path) for r in create.args["wards"]] == [
        ("w1", "changes[0].wards[0]"),
        ("1713", "changes[0].wards[1]"),  # YAML reads 1713 as a number: taken as text
    ]
    split = spec.steps[3]
    assert [p["path"] for p in split.args["into"]] == ["changes[3].into[0]", "changes[3].into[1]"]
    assert spec.steps[2].args["note"] == "the school moves over"


def test_describe_each_step(files):
    lines = [s.describe() for s in load_spec(files[0]).steps]
    assert lines[0] == "create npa N9 (New NPA) from districts D1; 2 named ward(s)"
    assert lines[1] == "merge npa areas N1, N2 into N"
    assert lines[2] == "move 1 ward(s) to beat B1"
    assert lines[3] == "split beat B2 into 2 parts"
    assert lines[4] == "rename sector S1 to S9 / Riverside"


def test_a_mapping_is_accepted():
    spec = load_spec({"changes": [{"op": "rename", "level": "npa", "area": "N", "name": "X"}]})
    assert spec.source == "spec" and spec.steps[0].args["name"] == "X"


def test_format_from_argument_when_the_suffix_says_nothing(tmp_path):
    p = tmp_path / "spec.txt"
    p.write_text(YAML, encoding="utf-8")
    with pytest.raises(OptionError, match=r"\.yaml"):
        load_spec(p)
    assert load_spec(p, format="yaml").ok
    with pytest.raises(OptionError, match="format"):
        load_spec(p, format="json")


def test_missing_file(tmp_path):
    with pytest.raises(InputFormatError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("changes:\n  - op: merge\n    areas: [a, b\n  - op: move\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_spec(p)
    assert "not valid YAML at line" in str(err.value) and str(p) in str(err.value)


def test_invalid_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[[changes]]\nop = merge\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_spec(p)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, "found an empty file"),
        ([1, 2], "found a list of 2"),
        ({}, "holds no change"),
        ({"chnages": []}, "did you mean 'changes'"),
        ({"changes": {"op": "merge"}}, "changes: expected a list of changes"),
        ({"changes": [3]}, "changes[0]: expected a change"),
        ({"changes": [{"merge": {"level": "npa"}}]}, "write 'op: merge'"),
        ({"changes": [{"op": "join"}]}, "changes[0].op: unknown operation 'join'"),
        ({"changes": [{"op": "mrege"}]}, "did you mean 'merge'"),
        ({"changes": [{"op": "merge", "level": "npa"}]}, "needs the key 'areas'"),
        (
            {"changes": [{"op": "merge", "level": "npa", "areas": ["a"]}]},
            "changes[0].areas: expected at least 2 area ids, found 1",
        ),
        (
            {"changes": [{"op": "merge", "level": ["npa"], "areas": ["a", "b"]}]},
            "changes[0].level: expected a level name (text), found a list of 1",
        ),
        (
            {"changes": [{"op": "move", "level": "beat", "wards": ["a", 2.5], "to": "B"}]},
            "changes[0].wards[1]: expected a ward code (text), found the number 2.5",
        ),
        (
            {"changes": [{"op": "rename", "level": "beat", "area": False, "name": "x"}]},
            "put the id in quotes",
        ),
        (
            {"changes": [{"op": "move", "level": "beat", "wards": ["a", "a"], "to": "B"}]},
            "changes[0].wards[1]: 'a' is given twice (also at changes[0].wards[0])",
        ),
        (
            {
                "changes": [
                    {"op": "merge", "level": "n", "areas": ["a", "b"], "allow_non_contiguous": "y"}
                ]
            },
            "allow_non_contiguous: expected true or false",
        ),
        (
            {"changes": [{"op": "move", "level": "beat", "ward": ["a"], "to": "B"}]},
            "changes[0].ward: unknown key for op 'move'",
        ),
        ({"changes": [{"op": "create", "level": "beat"}]}, "needs at least one of 'wards'"),
        ({"changes": [{"op": "rename", "level": "beat", "area": "B"}]}, "needs a new 'id'"),
        (
            {"changes": [{"op": "split", "level": "beat", "area": "B", "into": [{"id": "X"}]}]},
            "a split needs at least 2 parts",
        ),
        (
            {
                "changes": [
                    {
                        "op": "split",
                        "level": "beat",
                        "area": "B",
                        "into": [{"rest": True}, {"rest": True}],
                    }
                ]
            },
            "only one part can take the rest",
        ),
        (
            {"changes": [{"op": "split", "level": "b", "area": "B", "into": [{"id": "X"}, {}]}]},
            "changes[0].into[0]: a split part needs 'wards'",
        ),
        ({"exceptions": ["B1"]}, "exceptions: expected a mapping {level: [area ids]}"),
        (
            {"changes": [{"op": "create", "level": "b", "wards": ["w"], "within": "S1"}]},
            "changes[0].within: expected a mapping {level: area id}",
        ),
        ({"version": 2, "exceptions": {"beat": ["B1"]}}, "only version 1 is known"),
    ],
)
def test_shape_problems(data, expected):
    spec = parse_spec(data)
    assert not spec.ok
    assert any(expected in p for p in spec.problems), spec.problems
    with pytest.raises(ValidationError) as err:
        spec.raise_for_problems()
    assert expected in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        textwrap.dedent(
            """
            nme: typo
            changes:
              - op: merge
                level: npa
                areas: [N1]
              - op: move
                wards: [w1, w1]
                to: B1
              - op: teleport
            exceptions:
              beat: B1
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        load_spec(p)
    problems = err.value.problems
    assert err.value.source == str(p)
    assert len(problems) == 5, problems
    paths = [q.split(":")[0] for q in problems]
    assert paths == [
        "nme",
        "changes[0].areas",
        "changes[1]",
        "changes[1].wards[1]",
        "changes[2].op",
    ]
    assert str(p) in str(err.value).splitlines()[0]


def test_not_strict_returns_the_problems():
    spec = load_spec({"changes": [{"op": "merge", "level": "npa", "areas": ["a"]}]}, strict=False)
    assert not spec.ok and len(spec.problems) == 1
    assert spec.steps[0].op == "merge"  # the readable part is kept for the checks to come


def test_a_single_id_is_a_list_of_one():
    spec = load_spec({"changes": [{"op": "move", "level": "beat", "wards": "w1", "to": "B"}]})
    assert [r.value for r in spec.steps[0].args["wards"]] == ["w1"]
    assert spec.steps[0].args["wards"][0].path == "changes[0].wards"
