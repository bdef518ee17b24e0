"""hotspots package."""

__all__: list[str] = []
