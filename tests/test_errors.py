"""beatplan.geo.errors: one root, every subclass also a built-in, options checked against their
choices."""

from __future__ import annotations

import pytest

from beatplan.geo import errors


def test_every_error_class_is_also_a_builtin():
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and cls is not errors.BeatplanError:
            assert issubclass(cls, errors.BeatplanError), name
            builtin = [b for b in cls.__mro__ if b.__module__ == "builtins" and b is not object]
            assert any(b is not Exception and b is not BaseException for b in builtin), name


def test_check_option_lists_the_valid_choices():
    assert errors.check_option("by", "area", ("area", "demand")) == "area"
    with pytest.raises(errors.OptionError, match="'area', 'demand'"):
        errors.check_option("by", "areas", ("area", "demand"))


def test_validation_error_lists_every_problem():
    exc = errors.ValidationError("wards.gpkg", ["no CRS", "duplicate id 'E05000001'"])
    assert exc.problems == ["no CRS", "duplicate id 'E05000001'"]
    assert "2 problems" in str(exc)
    assert "no CRS" in str(exc) and "E05000001" in str(exc)


def test_missing_column_message_is_not_quoted_like_a_key_error():
    assert str(errors.ColumnNotFoundError("no column 'WD13CD'")) == "no column 'WD13CD'"
