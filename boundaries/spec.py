"""A planner's reorganisation spec: read it from YAML or TOML and check its shape.

A spec lists the changes a planner declares — merge areas, create an area from districts or
wards, move wards, split an area along ward lines, rename — plus the areas allowed to be
non-contiguous. :func:`beatplan.boundaries.reorganise` applies it to a ward table.

This module checks the spec *on its own*: keys, types, operations. Everything that needs the
ward table (unknown ward codes, a ward given twice, unknown levels or areas, merges of areas
that do not touch) is checked by :func:`beatplan.boundaries.reorganise`, which reports every problem
of both kinds in one :class:`beatplan.geo.errors.ValidationError`, each with its key path
(``changes[3].wards[1]``).

The format (YAML shown; TOML holds the same keys, ``[[changes]]`` tables for the list)::

    name: Leicestershire NPAs 2020          # optional, for the report
    description: 8 to 9 NPAs               # optional
    levels: [sector, npa]                   # optional: the ward table's levels, small to large
    district_column: district               # optional: column that `districts:` lists match
    changes:                                # applied in order
      - op: create                          # a new area from districts, wards or other areas
        level: npa
        id: NPA-MR                          # optional: a new id is made when omitted
        name: Melton and Rutland
        districts: [Melton, Rutland]        # codes or names; and/or wards: [...]
      - op: merge                           # several areas become one
        level: npa
        areas: [NPA-HB, NPA-BOW]
        id: NPA-HBB                         # optional: default the first area's id
        name: Hinckley, Bosworth and Blaby
        allow_non_contiguous: false         # the areas must touch unless true
      - op: move                            # wards to another area of the same level
        level: sector
        wards: [E05001785, E05001793]
        to: S-KF
      - op: split                           # an area cut in parts along ward lines
        level: beat
        area: B03
        into:
          - {id: B03, name: Beat 3 north, wards: [E05000001, E05000002]}
          - {id: B03S, name: Beat 3 south, rest: true}   # every other ward of B03
      - op: rename
        level: npa
        area: NPA-LCS
        id: NPA-LC                          # a new id, a new name, or both
        name: Leicester Central
    exceptions:                             # areas allowed to be in pieces, by level
      beat: [B12]
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from beatplan.boundaries._common import did_you_mean
from beatplan.geo.errors import InputFormatError, OptionError, ValidationError, check_option

__all__ = [
    "SPEC_FORMATS",
    "OPERATIONS",
    "Ref",
    "Spec",
    "Step",
    "load_spec",
    "parse_spec",
]

log = logging.getLogger("beatplan")

#: The operations a spec can hold, in the order they are documented.
OPERATIONS: tuple[str, ...] = ("create", "merge", "move", "split", "rename")
#: The file formats a spec can be written in.
SPEC_FORMATS: tuple[str, ...] = ("yaml", "toml")
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}

_TOP_KEYS = ("version", "name", "description", "levels", "district_column", "changes", "exceptions")
#: Keys of each operation: (required, optional). ``create`` needs one of its sources.
_OP_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "create": (
        ("level",),
        ("id", "name", "wards", "districts", "areas", "within", "allow_non_contiguous", "note"),
    ),
    "merge": (("level", "areas"), ("id", "name", "within", "allow_non_contiguous", "note")),
    "move": (("level", "wards", "to"), ("allow_non_contiguous", "note")),
    "split": (("level", "area", "into"), ("allow_non_contiguous", "note")),
    "rename": (("level", "area"), ("id", "name", "note")),
}
_PART_KEYS = ("id", "name", "wards", "rest")


@dataclass(frozen=True)
class Ref:
    """A value taken from the spec, with where it was written.

    Attributes
    ----------
    value : str
        The value (ids are always text).
    path : str
        Its key path in the spec, e.g. ``changes[2].wards[0]``.
    """

    value: str
    path: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Step:
    """One change of a spec, its values checked for type.

    Attributes
    ----------
    op : str
        One of :data:`OPERATIONS`.
    path : str
        Where it is in the spec (``changes[3]``).
    level : Ref or None
        The level it acts on (None when missing or of the wrong type).
    args : dict
        The operation's other keys, normalised: ids as :class:`Ref`, lists of ids as tuples
        of :class:`Ref`, ``within`` and ``areas`` (of ``create``) as ``{level: Ref or tuple}``,
        ``into`` (of ``split``) as a tuple of dicts with ``id``, ``name``, ``wards``,
        ``rest`` and ``path``, flags as bool, names and notes as str.
    """

    op: str
    path: str
    level: Ref | None
    args: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line saying what the step does, for logs and reports."""
        a = self.args
        lv = self.level.value if self.level else "?"
        if self.op == "create":
            src = []
            if a.get("districts"):
                src.append("districts " + ", ".join(r.value for r in a["districts"]))
            if a.get("wards"):
                src.append(f"{len(a['wards'])} named ward(s)")
            for k, v in (a.get("areas") or {}).items():
                src.append(f"{k} " + ", ".join(r.value for r in v))
            what = a["id"].value if a.get("id") else "a new area"
            return f"create {lv} {what} ({a.get('name') or 'no name'}) from " + "; ".join(src)
        if self.op == "merge":
            into = a["id"].value if a.get("id") else None
            return (
                f"merge {lv} areas "
                + ", ".join(r.value for r in a.get("areas", ()))
                + (f" into {into}" if into else "")
            )
        if self.op == "move":
            to = a["to"].value if a.get("to") else "?"
            return f"move {len(a.get('wards', ()))} ward(s) to {lv} {to}"
        if self.op == "split":
            area = a["area"].value if a.get("area") else "?"
            return f"split {lv} {area} into {len(a.get('into', ()))} parts"
        area = a["area"].value if a.get("area") else "?"
        new = [x for x in (a["id"].value if a.get("id") else None, a.get("name")) if x]
        return f"rename {lv} {area} to " + " / ".join(new)


@dataclass(frozen=True)
class Spec:
    """A parsed reorganisation spec.

    Attributes
    ----------
    source : str
        Where it came from (the file, or ``"spec"``), used in every message.
    name, description : str or None
        Free text for the report.
    levels : tuple of Ref or None
        The levels the spec expects the ward table to have, small to large.
    district_column : str or None
        The ward-table column that ``districts:`` lists match (``None``: ``district``).
    steps : tuple of Step
        The changes, in order.
    exceptions : dict of str to tuple of Ref
        Area ids allowed to be non-contiguous, by level.
    problems : tuple of str
        Problems with the spec's shape, each starting with its key path (empty when valid).
    """

    source: str
    name: str | None = None
    description: str | None = None
    levels: tuple[Ref, ...] | None = None
    district_column: str | None = None
    steps: tuple[Step, ...] = ()
    exceptions: dict[str, tuple[Ref, ...]] = field(default_factory=dict)
    exception_paths: dict[str, str] = field(default_factory=dict, repr=False)
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the spec's shape is valid."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise a :class:`~beatplan.geo.errors.ValidationError` listing every problem, if any."""
        if self.problems:
            raise ValidationError(self.source, self.problems)


# ------------------------------------------------------------------------------- reading
def load_spec(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    format: str | None = None,  # noqa: A002 - the natural name
    strict: bool = True,
) -> Spec:
    """Read a spec from a YAML or TOML file (or take an already-parsed mapping).

    Parameters
    ----------
    source : path or mapping
        A ``.yaml``/``.yml`` or ``.toml`` file, or the spec as a mapping.
    format : {"yaml", "toml"}, optional
        The file's format when its suffix does not say.
    strict : bool, default True
        Raise when the spec's shape is wrong; ``False`` returns it with ``problems`` filled
        (so that :func:`beatplan.boundaries.reorganise` can add the problems found against the ward
        table and report them all at once).

    Returns
    -------
    Spec

    Raises
    ------
    InputFormatError
        The file does not exist.
    ValidationError
        The file is not valid YAML/TOML (with the line), or (``strict``) the spec's shape is
        wrong: every problem listed with its key path.
    OptionError
        ``format`` is not one of :data:`SPEC_FORMATS`, or the suffix is unknown and no format
        is given.

    Examples
    --------
    >>> spec = load_spec({"changes": [{"op": "rename", "level": "npa", "area": "N1",
    ...                                "name": "North"}]})
    >>> spec.steps[0].describe()
    'rename npa N1 to North'
    """
    if isinstance(source, Mapping):
        return _finish(parse_spec(source, source="spec"), strict)
    path = Path(source)
    label = str(path)
    if format is not None:
        fmt = check_option("format", format, SPEC_FORMATS)
    else:
        fmt = _SUFFIXES.get(path.suffix.lower(), "")
        if not fmt:
            raise OptionError(
                f"{label}: cannot tell the spec's format from the suffix "
                f"{path.suffix or '(none)'!r}; name the file .yaml, .yml or .toml, or pass "
                "format='yaml' or 'toml'"
            )
    if not path.is_file():
        raise InputFormatError(f"{label}: no such spec file (check the path and spelling)")
    text = path.read_text(encoding="utf-8-sig")
    data = _parse_text(text, fmt, label)
    return _finish(parse_spec(data, source=label), strict)


def _finish(spec: Spec, strict: bool) -> Spec:
    if strict:
        spec.raise_for_problems()
    return spec


def _parse_text(text: str, fmt: str, label: str) -> Any:
    try:
        return _parse(text, fmt, label)
    except RecursionError as exc:  # "[[[[..." 100,000 deep: the parsers recurse per level
        raise ValidationError(
            label,
            [
                f"not a spec: its lists or tables are nested deeper than can be read (over "
                f"{sys.getrecursionlimit():,} levels); a spec is a few levels deep"
            ],
        ) from exc


def _parse(text: str, fmt: str, label: str) -> Any:
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(label, [f"not valid TOML: {exc}"]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(label, [f"not valid YAML{where}: {problem}"]) from exc


# ------------------------------------------------------------------------------- parsing
class _Checker:
    """Collects problems while reading values of expected types."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def ident(self, value: Any, path: str, what: str = "an id") -> Ref | None:
        """Read an id: text, or a whole number (YAML reads 1713 as a number)."""
        if isinstance(value, bool):
            self.add(
                path,
                f"expected {what} (text), found {str(value).lower()} (YAML reads yes/no/on/off/"
                "true/false as true/false: put the id in quotes)",
            )
            return None
        if isinstance(value, int):
            return Ref(str(value), path)
        if isinstance(value, str):
            v = value.strip()
            if not v:
                self.add(path, f"expected {what}, found an empty text")
                return None
            return Ref(v, path) if self.writable(v, path) else None
        self.add(path, f"expected {what} (text), found {_kind(value)}")
        return None

    def text(self, value: Any, path: str, what: str = "a text") -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip() if self.writable(value, path) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        self.add(path, f"expected {what}, found {_kind(value)}")
        return None

    def writable(self, value: str, path: str) -> bool:
        """Refuse text that cannot be written as UTF-8 (a lone surrogate such as U+D800)."""
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = value[exc.start]
            self.add(
                path,
                f"{ascii(value)} holds U+{ord(bad):04X}, half of a UTF-16 pair with no other half "
                "(a lone surrogate): it cannot be written to any file; remove it or write the "
                "character itself",
            )
            return False
        return True

    def flag(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        self.add(path, f"expected true or false, found {_kind(value)}")
        return False

    def idlist(self, value: Any, path: str, what: str, *, min_len: int = 1) -> tuple[Ref, ...]:
        """Read a list of ids; one id alone is taken as a list of one."""
        if isinstance(value, str | int) and not isinstance(value, bool):
            items: list[Any] = [value]
            single = True
        elif isinstance(value, list | tuple):
            items = list(value)
            single = False
        else:
            self.add(path, f"expected a list of {what}, found {_kind(value)}")
            return ()
        out = []
        for i, v in enumerate(items):
            r = self.ident(v, path if single else f"{path}[{i}]", what=f"{_singular(what)}")
            if r is not None:
                out.append(r)
        if len(items) < min_len:
            self.add(
                path,
                f"expected at least {min_len} {what}, found {len(items)}",
            )
        seen: dict[str, str] = {}
        for r in out:
            if r.value in seen:
                self.add(r.path, f"{r.value!r} is given twice (also at {seen[r.value]})")
            else:
                seen[r.value] = r.path
        return tuple(out)

    def keys(
        self,
        mapping: Mapping[str, Any],
        path: str,
        required: Sequence[str],
        optional: Sequence[str],
        what: str,
    ) -> bool:
        ok = True
        valid = [*required, *optional]
        for k in mapping:
            if not isinstance(k, str) or k not in valid:
                hint = did_you_mean(str(k), valid)
                self.add(
                    _join(path, str(k)),
                    f"unknown key for {what}; valid keys: {', '.join(valid)}{hint}",
                )
        for k in required:
            if k not in mapping:
                self.add(path, f"{what} needs the key {k!r}")
                ok = False
        return ok


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return "a mapping {" + ", ".join(map(str, list(value)[:4])) + "}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"


def _singular(what: str) -> str:
    return {"ward codes": "a ward code", "area ids": "an area id", "districts": "a district"}.get(
        what, what
    )


def parse_spec(data: Any, *, source: str = "spec") -> Spec:
    """Check a spec's shape and normalise it; never raises for a wrong shape.

    Parameters
    ----------
    data : any
        The spec as loaded from YAML or TOML (a mapping).
    source : str, default "spec"
        Where it came from, for messages.

    Returns
    -------
    Spec
        With ``problems`` listing everything wrong with the shape (each starting with its key
        path); steps with problems keep the values that could be read.
    """
    chk = _Checker()
    if not isinstance(data, Mapping):
        what = "an empty file" if data is None else _kind(data)
        chk.add(
            "(top)",
            f"expected a mapping with 'changes' (and optionally 'exceptions', 'name' ...), "
            f"found {what}",
        )
        return Spec(source=source, problems=tuple(chk.problems))
    chk.keys(data, "", (), _TOP_KEYS, "the spec")
    if "version" in data and data["version"] != 1:
        chk.add("version", f"only version 1 is known, found {_kind(data['version'])}")
    name = chk.text(data["name"], "name") if "name" in data else None
    description = chk.text(data["description"], "description") if "description" in data else None
    levels = None
    if "levels" in data:
        levels = chk.idlist(data["levels"], "levels", "level names")
    district_column = None
    if "district_column" in data:
        district_column = chk.text(data["district_column"], "district_column", "a column name")

    steps: list[Step] = []
    changes = data.get("changes")
    if changes is None:
        changes = []
        if "changes" in data:
            chk.add("changes", "expected a list of changes, found nothing (null)")
    if not isinstance(changes, list):
        chk.add("changes", f"expected a list of changes, found {_kind(changes)}")
        changes = []
    for i, item in enumerate(changes):
        step = _parse_step(item, f"changes[{i}]", chk)
        if step is not None:
            steps.append(step)

    exceptions: dict[str, tuple[Ref, ...]] = {}
    exception_paths: dict[str, str] = {}
    if "exceptions" in data:
        exc = data["exceptions"]
        if not isinstance(exc, Mapping):
            chk.add(
                "exceptions",
                f"expected a mapping {{level: [area ids]}}, found {_kind(exc)}",
            )
        else:
            for lv, ids in exc.items():
                p = f"exceptions.{lv}"
                exceptions[str(lv)] = chk.idlist(ids, p, "area ids")
                exception_paths[str(lv)] = p
    if not steps and not exceptions and not chk.problems:
        chk.add("changes", "the spec holds no change and no exception; nothing to do")
    return Spec(
        source=source,
        name=name,
        description=description,
        levels=levels,
        district_column=district_column,
        steps=tuple(steps),
        exceptions=exceptions,
        exception_paths=exception_paths,
        problems=tuple(chk.problems),
    )


def _parse_step(item: Any, path: str, chk: _Checker) -> Step | None:
    if not isinstance(item, Mapping):
        chk.add(
            path,
            f"expected a change (a mapping with 'op' and its keys), found {_kind(item)}",
        )
        return None
    op_raw = item.get("op")
    if op_raw is None:
        single = [k for k in item if k in OPERATIONS]
        hint = (
            f" (write 'op: {single[0]}' and put its keys beside it)"
            if single
            else f"; one of: {', '.join(OPERATIONS)}"
        )
        chk.add(path, f"a change needs the key 'op'{hint}")
        return None
    if not isinstance(op_raw, str) or op_raw not in OPERATIONS:
        chk.add(
            f"{path}.op",
            f"unknown operation {op_raw!r}; one of: {', '.join(OPERATIONS)}"
            + (did_you_mean(str(op_raw), OPERATIONS) if isinstance(op_raw, str) else ""),
        )
        return None
    op = op_raw
    required, optional = _OP_KEYS[op]
    body = {k: v for k, v in item.items() if k != "op"}
    chk.keys(body, path, required, optional, f"op {op!r}")
    level = chk.ident(body["level"], f"{path}.level", "a level name") if "level" in body else None
    args: dict[str, Any] = {}
    for key, value in body.items():
        kp = f"{path}.{key}"
        if key in ("level",) or key not in (*required, *optional):
            continue
        if key in ("id", "to", "area"):
            args[key] = chk.ident(value, kp, "an area id")
        elif key == "name":
            args[key] = chk.text(value, kp, "a name")
        elif key == "note":
            args[key] = chk.text(value, kp, "a note")
        elif key == "allow_non_contiguous":
            args[key] = chk.flag(value, kp)
        elif key == "wards":
            args[key] = chk.idlist(value, kp, "ward codes")
        elif key == "districts":
            args[key] = chk.idlist(value, kp, "districts")
        elif key == "areas" and op == "merge":
            args[key] = chk.idlist(value, kp, "area ids", min_len=2)
        elif key == "areas":  # create: {level: [ids]}
            args[key] = _level_map(value, kp, chk, many=True)
        elif key == "within":
            args[key] = _level_map(value, kp, chk, many=False)
        elif key == "into":
            args[key] = _parse_parts(value, kp, chk)
    if op == "create" and not any(k in body for k in ("wards", "districts", "areas")):
        chk.add(path, "op 'create' needs at least one of 'wards', 'districts' or 'areas'")
    if op == "rename" and not any(k in body for k in ("id", "name")):
        chk.add(path, "op 'rename' needs a new 'id', a new 'name', or both")
    return Step(op=op, path=path, level=level, args=args)


def _level_map(value: Any, path: str, chk: _Checker, *, many: bool) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        form = "{level: [area ids]}" if many else "{level: area id}"
        chk.add(path, f"expected a mapping {form}, found {_kind(value)}")
        return {}
    out: dict[str, Any] = {}
    for lv, v in value.items():
        kp = f"{path}.{lv}"
        if many:
            out[str(lv)] = chk.idlist(v, kp, "area ids")
        else:
            r = chk.ident(v, kp, "an area id")
            if r is not None:
                out[str(lv)] = r
    return out


def _parse_parts(value: Any, path: str, chk: _Checker) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list | tuple):
        chk.add(path, f"expected a list of parts ({{id, name, wards}}), found {_kind(value)}")
        return ()
    if len(value) < 2:
        chk.add(path, f"a split needs at least 2 parts, found {len(value)}")
    parts = []
    n_rest = 0
    for j, part in enumerate(value):
        pp = f"{path}[{j}]"
        if not isinstance(part, Mapping):
            chk.add(pp, f"expected a part {{id, name, wards or rest}}, found {_kind(part)}")
            continue
        chk.keys(part, pp, (), _PART_KEYS, "a split part")
        p: dict[str, Any] = {"path": pp, "id": None, "name": None, "wards": (), "rest": False}
        if "id" in part:
            p["id"] = chk.ident(part["id"], f"{pp}.id", "an area id")
        if "name" in part:
            p["name"] = chk.text(part["name"], f"{pp}.name", "a name")
        if "rest" in part:
            p["rest"] = chk.flag(part["rest"], f"{pp}.rest")
        if "wards" in part:
            p["wards"] = chk.idlist(part["wards"], f"{pp}.wards", "ward codes")
        if not p["rest"] and "wards" not in part:
            chk.add(pp, "a split part needs 'wards' (or 'rest: true' for the remaining wards)")
        if p["rest"]:
            n_rest += 1
        parts.append(p)
    if n_rest > 1:
        chk.add(path, f"only one part can take the rest, found {n_rest}")
    return tuple(parts)
