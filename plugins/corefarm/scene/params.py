"""Generic YafaRay parameter blocks: ``<name ival|fval|bval|sval=.../>``,
points (``x y z``), colours (``r g b a``) and matrices (``m00``..``m33``).

The original parser is strictly typed and silently falls back to a default on
a type mismatch; we coerce int<->float (with a warning) so hand-written files
work, and never coerce strings or booleans.
"""

import math

from .colors import decode_rgb

SCALAR_KINDS = {"ival": "int", "fval": "float", "bval": "bool", "sval": "str"}
MATRIX_KEYS = tuple(f"m{i}{j}" for i in range(4) for j in range(4))


def _num(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def parse_value(attrib):
    """Return ``(kind, value)`` for one parameter element's attributes, or
    ``None`` when the attributes do not form a value."""
    if len(attrib) == 1:
        (key, text), = attrib.items()
        kind = SCALAR_KINDS.get(key)
        if kind == "int":
            return kind, int(_num(text))
        if kind == "float":
            return kind, _num(text)
        if kind == "bool":
            return kind, text
        if kind == "str":
            return kind, text
    if "m00" in attrib:
        return "matrix", tuple(_num(attrib.get(k, "0")) for k in MATRIX_KEYS)
    keys = set(attrib)
    if keys & {"r", "g", "b"}:
        return "color", tuple(_num(attrib.get(k, "0")) for k in "rgba")
    if keys & {"x", "y", "z"}:
        return "point", tuple(_num(attrib.get(k, "0")) for k in "xyz")
    for key, kind in SCALAR_KINDS.items():
        if key in attrib:
            text = attrib[key]
            if kind == "int":
                return kind, int(_num(text))
            if kind == "float":
                return kind, _num(text)
            return kind, text
    return None


class Params:
    """One parameter block with typed getters that record warnings."""

    def __init__(self, where, warnings, color_space="linear"):
        self.where = where
        self.values = {}
        self._warnings = warnings
        self._color_space = color_space

    def set(self, name, attrib):
        try:
            parsed = parse_value(attrib)
        except (ValueError, OverflowError):
            self._warnings.add(f"{self.where}: bad value for parameter '{name}' ignored")
            return
        if parsed is not None:
            self.values[name] = parsed

    def __contains__(self, name):
        return name in self.values

    def _mismatch(self, name, want, got):
        self._warnings.add(
            f"{self.where}: parameter '{name}' should be {want}, found {got}; "
            "using the default")

    def int(self, name, default):
        kind, value = self.values.get(name, (None, None))
        if kind is None:
            return default
        if kind == "int":
            return value
        if kind == "float":
            self._warnings.add(f"{self.where}: parameter '{name}' written as fval, "
                               "expected ival; converted")
            return int(value)
        self._mismatch(name, "ival", kind)
        return default

    def float(self, name, default):
        kind, value = self.values.get(name, (None, None))
        if kind is None:
            return default
        if kind == "float":
            return value
        if kind == "int":
            self._warnings.add(f"{self.where}: parameter '{name}' written as ival, "
                               "expected fval; converted")
            return float(value)
        self._mismatch(name, "fval", kind)
        return default

    def bool(self, name, default):
        kind, value = self.values.get(name, (None, None))
        if kind is None:
            return default
        if kind == "bool":
            # 0.1.x treats only the exact string "true" as true.
            return value == "true"
        self._mismatch(name, "bval", kind)
        return default

    def str(self, name, default=None):
        kind, value = self.values.get(name, (None, None))
        if kind is None:
            return default
        if kind == "str":
            return value
        self._mismatch(name, "sval", kind)
        return default

    def point(self, name, default):
        kind, value = self.values.get(name, (None, None))
        if kind is None:
            return tuple(default)
        if kind == "point":
            return value
        if kind == "color":
            return value[:3]
        self._mismatch(name, "a point", kind)
        return tuple(default)

    def color(self, name, default, decode=True):
        """Linear RGB colour (alpha dropped); v3 files are decoded from sRGB."""
        kind, value = self.values.get(name, (None, None))
        if kind is None:
            return tuple(default)
        if kind == "color":
            rgb = value[:3]
        elif kind == "point":
            rgb = value
        elif kind == "float":
            rgb = (value, value, value)
        else:
            self._mismatch(name, "a colour", kind)
            return tuple(default)
        return decode_rgb(rgb, self._color_space) if decode else tuple(rgb)

    def matrix(self, name):
        kind, value = self.values.get(name, (None, None))
        return value if kind == "matrix" else None
