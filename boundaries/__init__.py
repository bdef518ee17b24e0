"""boundaries package."""

__all__: list[str] = []
