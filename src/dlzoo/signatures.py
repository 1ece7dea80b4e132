"""Constructor signatures of subclasses that pass their base's arguments on as ``**kwargs``.

A subclass that adds one argument to its base need not list the base's ten again: it
takes its own and ``**kwargs``, and :func:`extends_signature` gives it the whole
signature back, so what reads it (``inspect``, the check that a config's keys are the
class's arguments, the API reference) sees every argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

__all__ = ["extends_signature"]

T = TypeVar("T", bound=type)


def extends_signature(base: type) -> Callable[[T], T]:
    """Class decorator: the class's signature is its own arguments (its ``**kwargs``
    left out), then ``base``'s that it does not name, keyword-only.

    Args:
        base: the class whose ``__init__`` receives the ``**kwargs``.
    """

    def decorate(cls: T) -> T:
        own = [
            p
            for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
            if p.kind is not p.VAR_KEYWORD
        ]
        names = {p.name for p in own}
        inherited = list(inspect.signature(base.__init__).parameters.values())[1:]
        keyword = [p.replace(kind=p.KEYWORD_ONLY) for p in inherited if p.name not in names]
        cls.__signature__ = inspect.Signature(own + keyword)
        return cls

    return decorate
