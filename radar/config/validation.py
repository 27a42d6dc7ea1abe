"""Turn pydantic ValidationErrors into one-line user messages: `key.path[0].name: reason, got value`.

Shared by the config loader and the strategy parameter models so both speak the same language.
"""
from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]

_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}

_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}

_MAX_SHOWN_ERRORS = 5


def show_value(value: Any) -> str:
    """A short, YAML-flavoured rendering of a received value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Mapping):
        text = f"a mapping {dict(value)!r}"
    elif isinstance(value, (list, tuple)):
        text = f"a list {list(value)!r}"
    else:
        text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 80 else text[:77] + "..."


def format_location(loc: Sequence[str | int]) -> str:
    """`('kill_switch', 'grace_hours')` -> `kill_switch.grace_hours`; list indices as `[i]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (key)"
        elif "." in part or " " in part or not part:
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


def describe_error(err: ErrorDetails, known_keys: Sequence[str] | None = None) -> str:
    """The reason part of one pydantic error, e.g. `must be > 0, got -5`."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = show_value(err.get("input"))
    if kind == "extra_forbidden":
        return f"unknown key (known: {', '.join(known_keys)})" if known_keys else "unknown key"
    if kind == "missing":
        return "missing required key"
    if kind in _BOUNDS:
        op, name = _BOUNDS[kind]
        bound = ctx.get(name)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # Gt(0) on a float field reports 0.0; the user wrote 0
        return f"must be {op} {show_value(bound)}, got {got}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {got}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {got}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s), got {got}"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s), got {got}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {got}"


def _strip_union_tags(loc: Sequence[str | int]) -> Loc:
    # Pydantic adds schema tags like 'function-after[...]' to locations inside validators; users never wrote them.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p and p.endswith("]")) and p != "[key]"))


def describe_validation_error(
    exc: ValidationError, prefix: Sequence[str | int] = (), model: type | None = None
) -> str:
    """All errors of `exc` as `path: reason` joined with "; " (paths get `prefix` in front)."""
    parts = []
    errors = exc.errors(include_url=False)
    for err in errors[:_MAX_SHOWN_ERRORS]:
        loc = _strip_union_tags(err["loc"])
        known = _known_keys(model, loc[:-1]) if model is not None and err["type"] == "extra_forbidden" else None
        path = format_location((*prefix, *loc))
        reason = describe_error(err, known)
        parts.append(f"{path}: {reason}" if path else reason)
    if len(errors) > _MAX_SHOWN_ERRORS:
        parts.append(f"and {len(errors) - _MAX_SHOWN_ERRORS} more error(s)")
    return "; ".join(parts)


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _known_keys(model: type | None, parent: Sequence[str | int]) -> list[str] | None:
    """Field names of the model found at `parent` inside `model` (for 'unknown key' hints), if any."""
    tp: Any = model
    for part in parent:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str) or part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif origin in (dict, Mapping, typing.Mapping):
            tp = get_args(tp)[1]
        elif origin in (list, tuple, Sequence):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return None
