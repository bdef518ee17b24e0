"""The police.uk street-level CSV format, written out independently as the tests' specification.

Deliberately not imported from ``geo``: tests check the code against this, so it must not be the
code's own constant. Source: police.uk's data page and DESIGN.md ("police.uk street-level CSV").
"""

from __future__ import annotations

__all__ = ["CRIME_TYPES", "HEADER", "police_row"]

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


def police_row(
    n: int,
    *,
    crime_id: str | None = None,
    month: str = "2022-03",
    lon: str | None = None,
    lat: str | None = None,
    category: str = "Burglary",
    location: str | None = None,
) -> str:
    """One police.uk row around Leicester; its location names its number so rows can be traced."""
    lon = f"{-1.13 + 0.001 * (n % 50):.6f}" if lon is None else lon
    lat = f"{52.63 + 0.001 * (n % 37):.6f}" if lat is None else lat
    crime_id = f"id{n:05d}" if crime_id is None else crime_id
    location = f"On or near Street {n}" if location is None else location
    return (
        f"{crime_id},{month},Leicestershire Police,Leicestershire Police,{lon},{lat},"
        f"{location},E01025631,Leicester 001A,{category},Under investigation,"
    )
