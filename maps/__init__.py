"""maps package."""

__all__: list[str] = []
