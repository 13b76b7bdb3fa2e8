"""Errors raised inside a composition name the stage they came from."""

from __future__ import annotations

__all__ = ["rule_name", "stage_error"]


def rule_name(rule: object) -> str:
    """A short, readable name for a rule: ``exp``, ``scale(-1.0)``, ``cube``.

    >>> from pullback import exp, scale
    >>> rule_name(exp), rule_name(scale(-1))
    ('exp', 'scale(-1.0)')
    """
    if hasattr(rule, "__qualname__") and hasattr(rule, "__code__"):
        name: str = rule.__name__  # type: ignore[attr-defined]
        return name
    if type(rule).__repr__ is not object.__repr__:
        return repr(rule)
    return getattr(rule, "__name__", type(rule).__name__)


_RETYPED = (TypeError, ValueError, ArithmeticError, AssertionError, LookupError)


def stage_error(err: Exception, where: str, name: str) -> Exception:
    """Return ``err`` again, its message prefixed by ``where`` (e.g. ``stage 3 of 4``).

    The common exception types are re-created with the longer message (so
    ``str(err)`` names the stage); any other type keeps its identity and gets
    the stage as a note (shown in tracebacks).
    """
    message = str(err)
    prefix = f"{where}: " if message.startswith(name) else f"{where}: {name}: "
    if type(err) in _RETYPED or type(err).__init__ is BaseException.__init__:
        try:
            new = type(err)(prefix + message)
        except Exception:  # an exception type with an unusual constructor
            new = None
        if new is not None:
            return new
    err.add_note(prefix.rstrip(": "))
    return err
