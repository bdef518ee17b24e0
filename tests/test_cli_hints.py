"""Every ``--option`` an error message or hint names exists on a command that can say it.

The hints are collected from the source: every text (string literal or f-string part) outside
docstrings and outside the click declarations themselves that names ``--something`` in running
words. Which commands can say a hint is worked out from the imports: a command module reaches
the modules it imports (at the top or inside a function), and theirs, and so on. The hint must
name an option of at least one command that reaches the module the text is in (for a text in
a command's own module: of that command).
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

import click
import pytest

from beatplan.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
#: source folder -> the module prefix it installs as
PACKAGES = {
    "beatplan": "beatplan",
    "geo": "beatplan.geo",
    "boundaries": "beatplan.boundaries",
    "hotspots": "beatplan.hotspots",
    "maps": "beatplan.maps",
}
HINT = re.compile(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
#: calls whose string arguments declare options rather than name them in a message
DECLARATIONS = {"option", "argument", "Choice", "command", "group", "add_argument"}


def _modules() -> dict[str, Path]:
    out = {}
    for folder, prefix in PACKAGES.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            name = prefix if path.stem == "__init__" else f"{prefix}.{path.stem}"
            out[name] = path
    return out


MODULES = _modules()


@cache
def _imports(path: Path, name: str) -> frozenset[str]:
    """The beatplan modules ``path`` imports, anywhere in it (relative imports resolved)."""
    found: set[str] = set()
    pkg = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            if t in MODULES:
                found.add(t)
    return frozenset(found)


@cache
def _closure(start: str) -> frozenset[str]:
    seen, todo = {start}, [start]
    while todo:
        mod = todo.pop()
        for nxt in _imports(MODULES[mod], mod):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def _options(cmd: click.Command, path: str) -> dict[str, set[str]]:
    """Every (sub)command under ``cmd``, by its path, with its long option names."""
    names = {o[2:] for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}
    out = {path: names | {"help"}}
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            out |= _options(sub, f"{path} {sub.name}")
    return out


def _commands() -> dict[str, tuple[str, set[str]]]:
    """Command path -> (its module, its long options); the global options belong to all."""
    glob = {o[2:] for p in main.params for o in p.opts if o.startswith("--")}
    out = {}
    for name, (module, _) in COMMANDS.items():
        cmd = importlib.import_module(f"beatplan.{module}").command
        for path, opts in _options(cmd, f"beatplan {name}").items():
            out[path] = (f"beatplan.{module}", opts | glob | {"version"})
    return out


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _declared(tree: ast.AST) -> set[int]:
    """Ids of string nodes that declare options (click/argparse calls, help texts)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            inside = list(node.args) if name in DECLARATIONS or "option" in name else []
            inside += [k.value for k in node.keywords if k.arg in ("help", "param_hint")]
            for arg in inside:
                ids |= {id(n) for n in ast.walk(arg)}
    return ids


def hints() -> list[tuple[str, int, str, str]]:
    """(module, line, option, text) for every ``--option`` named in running words."""
    found = []
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _declared(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skip or " " not in node.value.strip():
                    continue  # a docstring, a declaration, or a bare token (a subprocess arg)
                for m in HINT.finditer(node.value):
                    found.append((mod, node.lineno, m.group(1), node.value.strip()))
    return found


HINTS = hints()
COMMANDS_FOUND = _commands()


def _named_commands(text: str) -> list[str]:
    """The commands a text names (``beatplan realign/reorganise ...`` -> both)."""
    out = []
    for m in re.finditer(r"beatplan ([a-z][\w-]*(?:/[a-z][\w-]*)*)", text):
        out += [f"beatplan {c}" for c in m.group(1).split("/")]
    return out


def _options_under(path: str) -> set[str]:
    """The options of a command, or of a group and its subcommands (its default may be one)."""
    return {
        o for p, (_, opts) in COMMANDS_FOUND.items() if p == path or p.startswith(path + " ")
        for o in opts
    }  # fmt: skip


def test_hints_are_found():
    # the collector sees the hints we know are there (a guard against a collector finding none)
    named = {h[2] for h in HINTS}
    assert {"overwrite", "crs", "min-coverage", "online"} <= named, named
    assert len(HINTS) >= 20


@pytest.mark.parametrize("hint", HINTS, ids=[f"{m}:{ln}:--{o}" for m, ln, o, _ in HINTS])
def test_every_hint_names_an_option_of_a_command_that_can_say_it(hint):
    mod, line, option, text = hint
    able = {
        path: opts
        for path, (cmd_mod, opts) in COMMANDS_FOUND.items()
        if mod in _closure(cmd_mod) and (not mod.endswith("_cmd") or mod == cmd_mod)
    }
    assert able, f"{mod}:{line}: no command reaches this module (text: {text!r})"
    named = _named_commands(text)
    if named:  # "beatplan realign/reorganise --out ...": those commands, each of them
        missing = [c for c in named if option not in _options_under(c)]
        assert not missing, f"{mod}:{line}: {text!r} names --{option}, which {missing} lack"
        return
    having = [path for path, opts in able.items() if option in opts]
    assert having, (
        f"{mod}:{line}: --{option} is named in {text!r}, but no command that can say it has "
        f"that option (commands reaching it: {', '.join(sorted(able))})"
    )


def test_the_issue_cases_are_gone():
    """The hints issue 11 found pointing at nothing: --id-col, --layer (hotspots)."""
    named = {(m, o) for m, _, o, _ in HINTS}
    assert not any(o == "id-col" for _, o in named)
    assert not any(o == "layer" for _, o in named)


def test_the_checker_catches_a_hint_to_nothing():
    bad = ("beatplan.geo.layers", 1, "id-col", "pass id_col= (--id-col on the command line)")
    with pytest.raises(AssertionError, match="no command that can say it"):
        test_every_hint_names_an_option_of_a_command_that_can_say_it(bad)
    bad = ("beatplan.boundaries.pipeline", 1, "out", "(beatplan sample --out DIR)")
    with pytest.raises(AssertionError, match="lack"):
        test_every_hint_names_an_option_of_a_command_that_can_say_it(bad)
