"""Frozen dataclasses that cost nothing to define: :func:`frozen`.

``@dataclass(frozen=True)`` writes six methods per class as source code and compiles
each with ``exec`` when the class is defined: 11 ms for the config's 13 classes, a
tenth of a read-only command's whole run (``bench/startup.py``). :func:`frozen` keeps
the dataclass (its fields, :func:`dataclasses.replace`, :func:`dataclasses.fields`)
and gives it generic methods instead, which read the fields at run time: the same
behaviour (arguments, defaults, ``__post_init__``, equality of the fields with
``compare``, hash of those or of those with ``hash=True``, repr of those with
``repr``, assignment refused), compiled once.
Use it for classes built a few times per run (settings), not for hot data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, FrozenInstanceError, Field
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def frozen(cls: T) -> T:
    """``@dataclass(frozen=True)`` for ``cls``, with the generic methods of this module."""
    methods = {
        "__init__": _init, "__repr__": _repr, "__eq__": _eq, "__hash__": _hash,
        "__setattr__": _setattr, "__delattr__": _delattr,
    }
    for name, method in methods.items():  # before dataclass(), which reads __init__'s signature
        if name not in cls.__dict__:
            setattr(cls, name, method)
    cls = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    every = dataclasses.fields(cls)
    cls._frozen_fields = every  # type: ignore[attr-defined]
    cls._frozen_init = {f.name: f for f in every if f.init}  # type: ignore[attr-defined]
    cls._frozen_compared = tuple(f.name for f in every if f.compare)  # type: ignore[attr-defined]
    cls._frozen_hashed = tuple(  # type: ignore[attr-defined]
        f.name for f in every if (f.compare if f.hash is None else f.hash)
    )
    cls._frozen_shown = tuple(f.name for f in every if f.repr)  # type: ignore[attr-defined]
    return cls


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    init: dict[str, Field[Any]] = cls._frozen_init
    if len(args) > len(init):
        raise TypeError(f"{cls.__name__}() takes {len(init)} positional arguments but {len(args)} were given")
    given = dict(zip(init, args))
    for name, value in kwargs.items():
        if name in given:
            raise TypeError(f"{cls.__name__}() got multiple values for argument '{name}'")
        if name not in init:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument '{name}'")
        given[name] = value
    for f in cls._frozen_fields:
        if f.name in given:
            value = given[f.name]
        elif f.default is not MISSING:
            value = f.default
        elif f.default_factory is not MISSING:
            value = f.default_factory()
        elif f.init:
            raise TypeError(f"{cls.__name__}() missing 1 required positional argument: '{f.name}'")
        else:
            continue
        object.__setattr__(self, f.name, value)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self)._frozen_shown)
    return f"{type(self).__qualname__}({shown})"


def _values(self: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(self, name) for name in names)


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = type(self)._frozen_compared
    return _values(self, names) == _values(other, names)


def _hash(self: Any) -> int:
    return hash(_values(self, type(self)._frozen_hashed))


def _setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field '{name}'")


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field '{name}'")
