"""The police.uk street-level CSV format, written out independently as the tests' specification.

Deliberately not imported from ``geo``: tests check the code against this, so it must not be the
code's own constant. Source: police.uk's data page and DESIGN.md ("police.uk street-level CSV").
"""

from __future__ import annotations

__all__ = ["CRIME_TYPES", "HEADER"]

#: The header line of every police.uk street-level CSV.
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)

#: The 14 crime types police.uk publishes.
CRIME_TYPES = frozenset(
    {
        "Anti-social behaviour",
        "Bicycle theft",
        "Burglary",
        "Criminal damage and arson",
        "Drugs",
        "Other crime",
        "Other theft",
        "Possession of weapons",
        "Public order",
        "Robbery",
        "Shoplifting",
        "Theft from the person",
        "Vehicle crime",
        "Violence and sexual offences",
    }
)
