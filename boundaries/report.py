"""The report every boundary check returns: :class:`Problem` and :class:`CheckReport`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from beatplan.geo.errors import ValidationError, check_option

__all__ = [
    "CheckReport",
    "Problem",
]


_SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Problem:
    """One problem found by a check.

    Attributes
    ----------
    check : str
        Which check: ``"assignment"``, ``"nesting"``, ``"union"``, ``"coverage"``,
        ``"overlap"``, ``"gap"``, ``"contiguity"`` or ``"input"``.
    level : str
        The level (``"ward"``, ``"beat"`` ...) or layer concerned.
    ids : tuple of str
        The ids of the wards or areas involved.
    message : str
        What is wrong and how to fix it.
    severity : {"error", "warning"}
        Errors break an invariant; warnings are for a human to look at.
    """

    check: str
    level: str
    ids: tuple[str, ...]
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"[{self.severity}] {self.check} ({self.level}): {self.message}"


@dataclass
class CheckReport:
    """The problems found by a set of checks.

    Attributes
    ----------
    problems : list of Problem
        Every problem, in the order found.
    checks : list of str
        The names of the checks that ran (so "no problem" means something).
    tables : dict of str to pandas.DataFrame
        Detail tables some checks add (e.g. ``"nesting"``: one row per child area).
    """

    problems: list[Problem] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when no check found an error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``"error"``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity ``"warning"``."""
        return [p for p in self.problems if p.severity == "warning"]

    def add(
        self,
        check: str,
        level: str,
        ids: Iterable[Any],
        message: str,
        severity: str = "error",
    ) -> None:
        """Record a problem."""
        check_option("severity", severity, _SEVERITIES)
        self.problems.append(Problem(check, level, tuple(str(i) for i in ids), message, severity))

    def ran(self, name: str) -> None:
        """Record that a check ran."""
        if name not in self.checks:
            self.checks.append(name)

    def extend(self, other: CheckReport) -> CheckReport:
        """Add another report's problems, checks and tables to this one; return self."""
        self.problems.extend(other.problems)
        for c in other.checks:
            self.ran(c)
        self.tables.update(other.tables)
        return self

    def ids(self, check: str | None = None, level: str | None = None) -> set[str]:
        """Return the ids named by the problems of one check and/or level."""
        return {
            i
            for p in self.problems
            if (check is None or p.check == check) and (level is None or p.level == level)
            for i in p.ids
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: check, level, severity, n_ids, ids (``;``-joined), message."""
        return pd.DataFrame(
            {
                "check": [p.check for p in self.problems],
                "level": [p.level for p in self.problems],
                "severity": [p.severity for p in self.problems],
                "n_ids": [len(p.ids) for p in self.problems],
                "ids": [";".join(p.ids) for p in self.problems],
                "message": [p.message for p in self.problems],
            }
        )

    def raise_for_errors(self, source: str = "checks") -> None:
        """Raise a :class:`~beatplan.geo.errors.ValidationError` listing every error, if any."""
        if self.errors:
            raise ValidationError(
                source, [f"{p.check} ({p.level}): {p.message}" for p in self.errors]
            )

    def __str__(self) -> str:
        if not self.problems:
            return f"all {len(self.checks)} checks passed ({', '.join(self.checks)})"
        head = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
