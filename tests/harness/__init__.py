"""Test harness: the headless Chromium driver and the map tests' helpers (not shipped)."""
