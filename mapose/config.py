"""Typed, strict configuration: frozen dataclasses built from dicts / YAML.

Every stage defines its config as a frozen dataclass in its own package (e.g.
``mapose.training.config.TrainConfig``) and uses the helpers here:

- :func:`from_dict` builds a (possibly nested) dataclass from a mapping and raises
  :class:`~mapose.errors.ConfigError` for unknown keys, listing the allowed ones;
- :func:`load_yaml` / :func:`save_yaml` read and (atomically) write a config file;
- :func:`to_dict` turns a config back into plain data (the *resolved* config saved beside outputs);
- :func:`choice` checks a string option against its allowed values.

Only builders read configs; algorithms take explicit arguments.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Cfg:
...     sigma: float = 2.0
>>> from_dict(Cfg, {"sigma": 3})
Cfg(sigma=3.0)
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing
from pathlib import Path
from typing import Any, Mapping, Sequence, TypeVar, Union

import numpy as np

from mapose.errors import ConfigError

T = TypeVar("T")


def choice(value: str, allowed: Sequence[str], what: str) -> str:
    """Return ``value`` if it is one of ``allowed``; else raise a :class:`ConfigError` listing them."""
    if value not in allowed:
        raise ConfigError(f"unknown {what} {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(a, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not allowed; allowed: {', '.join(map(repr, args))}")
        return value
    if origin in (tuple, list, Sequence, typing.Sequence) or tp in (tuple, list):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        inner = args[0] if args else Any
        seq = [_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(seq) if (origin is tuple or tp is tuple) else seq
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return bool(value)
    if tp is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            if isinstance(value, numbers.Real) and float(value).is_integer():
                return int(value)
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_fields(obj: Any) -> None:
    """Check and normalise every field of the dataclass instance ``obj`` against its type hint.

    Call it first in a config's ``__post_init__``: a number given as text (``max_speed="1500"``)
    or a single value where a list is wanted raises :class:`ConfigError` naming the field, as the
    YAML reader does; numpy numbers become Python numbers and lists become tuples where the hint
    says tuple.  Works on frozen dataclasses.
    """
    cls = type(obj)
    hints = _hints(cls)
    for f in dataclasses.fields(obj):
        if f.name not in hints:
            continue
        value = getattr(obj, f.name)
        new = _convert(hints[f.name], value, f"{cls.__name__}.{f.name}")
        if new is not value:
            object.__setattr__(obj, f.name, new)


class CheckedConfig:
    """Base of the config dataclasses: on construction every field is checked against its type
    hint (:func:`check_fields`).  A subclass with its own ``__post_init__`` calls
    ``super().__post_init__()`` first."""

    def __post_init__(self) -> None:
        check_fields(self)


def as_number(value: Any, what: str, *, positive: bool = False, minimum: float | None = None,
              maximum: float | None = None, optional: bool = False, whole: bool = False) -> float | None:
    """``value`` as a finite float, or a :class:`ConfigError` naming ``what`` and the value.

    Text (``"0.5"``), booleans, NaN and infinity are refused; None is allowed only with
    ``optional``.  ``positive`` requires > 0; ``minimum`` / ``maximum`` are inclusive bounds;
    ``whole`` requires a whole number (``3`` or ``3.0``, not ``2.5``).
    """
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ConfigError(f"{what} must be a {'whole ' if whole else ''}number; got {value!r}")
    value = float(value)
    if whole and not value.is_integer():
        raise ConfigError(f"{what} must be a whole number; got {value:g}")
    if positive and not value > 0:
        raise ConfigError(f"{what} must be > 0 (a positive number); got {value:g}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{what} must be >= {minimum:g}; got {value:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{what} must be <= {maximum:g}; got {value:g}")
    return value


def as_config(cls: type[T], value: Any, what: str = "config") -> T:
    """``value`` as a ``cls`` config: an instance as it is, a mapping through :func:`from_dict`
    (unknown keys refused), None as the defaults; anything else raises :class:`ConfigError`."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return from_dict(cls, value)
    raise ConfigError(f"{what} must be a {cls.__name__} or a dict of its keys; got {str(value)[:60]!r} "
                      f"({type(value).__name__})")


def from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys raise :class:`ConfigError`."""
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    prefix = f"{where}." if where else ""
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + k for k in unknown)} in {cls.__name__}; "
            f"allowed: {', '.join(sorted(fields))}"
        )
    hints = _hints(cls)
    kwargs = {k: _convert(hints[k], v, prefix + k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{cls.__name__}: {exc}") from None


def replace(cfg: T, overrides: Mapping[str, Any]) -> T:
    """Copy of ``cfg`` with nested ``overrides`` applied (strict, like :func:`from_dict`)."""
    merged = _merge(to_dict(cfg), overrides)
    return from_dict(type(cfg), merged)


def _merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def to_dict(cfg: Any) -> dict:
    """Plain-data (YAML-safe) form of a config dataclass."""

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v) if f.init}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, Path):
            return str(v)
        return v

    return conv(cfg)


def load_yaml(path: str | Path, cls: type[T], section: str | None = None) -> T:
    """Read a YAML config file into ``cls`` (strict).  With ``section``, a file that has that
    top-level key is read from it (e.g. the ``cleaning:`` part of a ``mapose features`` config).
    A missing, binary or invalid file, or one that holds no mapping, raises :class:`ConfigError`
    naming it."""
    import yaml

    from mapose.io._files import parse_error_line, require_file

    p = require_file(path, "config file")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text (YAML) file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML, {parse_error_line(exc)}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: expected a mapping of config keys at the top level")
    if section is not None and section in data:
        data = data[section] or {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{p}: '{section}' must be a mapping of {cls.__name__} keys")
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def save_yaml(cfg: Any, path: str | Path) -> None:
    """Write the resolved config atomically as YAML."""
    import yaml

    from mapose.io._files import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
