"""Tool schemas from Python annotations, and strict argument binding with cattrs.

A tool's ``inputSchema`` comes from its handler's annotated parameters (each one a property;
those without a default are required), or, when the handler takes exactly one argument
parameter annotated with an attrs class, from that class (the whole ``arguments`` object is
that class). ``typing.Annotated[X, "text"]`` adds a description.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``typing.Any``,
``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``dict[str, X]``, unions and ``X | None``,
``Literal[...]``, :class:`enum.Enum` subclasses, nested attrs classes. Anything else raises
:class:`TypeError` when the tool is registered.

Arguments are structured with a cattrs converter whose hooks never coerce: ``"1"`` is not an
``int``, ``1`` is not a ``str``, ``True`` is not an ``int`` (an ``int`` is accepted for a
``float``). Failures become one :class:`ArgumentError` line naming the JSON path of each
problem; unknown argument names are ignored.

Return annotations give the ``outputSchema``: an attrs class or ``dict[str, X]`` is the
structured object itself; any other supported type is wrapped as ``{"result": value}``
(``structuredContent`` must be an object). ``None``, ``Any``, content blocks, lists of them
and ``CallToolResult`` mean no structured output.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

__all__ = [
    "ArgumentBinder",
    "ArgumentError",
    "input_schema_for",
    "is_context_annotation",
    "json_schema",
    "output_schema_for",
    "output_structurer",
    "structure_output",
]

_NONE = type(None)
_ANNOTATED: Any = typing.Annotated
_LITERAL: Any = Literal


class ArgumentError(ValueError):
    """The arguments of a tool call do not match its input schema (one readable line)."""


# ---------------------------------------------------------------- JSON Schema


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def json_schema(tp: Any, _seen: tuple[type, ...] = ()) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a supported annotation.

    Raises:
        TypeError: the annotation has no JSON Schema equivalent here.
    """
    origin = get_origin(tp)
    if origin is typing.Annotated:
        inner, *extras = get_args(tp)
        schema = json_schema(inner, _seen)
        for extra in extras:
            if isinstance(extra, str):
                schema = {**schema, "description": extra}
        return schema
    if tp is Any:
        return {}
    if tp is None or tp is _NONE:
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if origin is Literal:
        values = list(get_args(tp))
        schema = {"enum": values}
        kinds = {_literal_type(v) for v in values}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
        return schema
    if _is_union(tp):
        arms = get_args(tp)
        if Any in arms:  # Optional[Any] (Python 3.10 adds it for a None default) is Any
            return {}
        non_null = [a for a in arms if a is not _NONE]
        if len(non_null) == 1:
            return {"anyOf": [json_schema(non_null[0], _seen), {"type": "null"}]}
        return {"anyOf": [json_schema(a, _seen) for a in arms]}
    if origin in (list, Sequence, typing.Sequence) or tp in (list,):
        args = get_args(tp)
        return {"type": "array", "items": json_schema(args[0], _seen) if args else {}}
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": json_schema(args[0], _seen)}
        return {"type": "array", "prefixItems": [json_schema(a, _seen) for a in args],
                "items": False, "minItems": len(args), "maxItems": len(args)}
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        args = get_args(tp)
        if args and args[0] is not str:
            raise TypeError(f"{tp!r}: JSON object keys are strings; use dict[str, ...]")
        return {"type": "object",
                "additionalProperties": json_schema(args[1], _seen) if args else {}}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        schema = {"enum": values}
        kinds = {_literal_type(v) for v in values}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
        return schema
    if isinstance(tp, type) and attrs.has(tp):
        if tp in _seen:
            raise TypeError(f"{tp.__name__} refers to itself; recursive types are not supported")
        return _class_schema(tp, (*_seen, tp))
    raise TypeError(f"no JSON Schema for annotation {tp!r}")


def _literal_type(value: Any) -> str:
    kind = _json_type(value)
    if kind not in ("boolean", "integer", "number", "string", "null"):
        raise TypeError(f"unsupported literal {value!r}")
    return kind


def _class_schema(cls: type, seen: tuple[type, ...]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        name = field.alias or field.name
        schema = json_schema(hints.get(field.name, Any), seen)
        if field.default is attrs.NOTHING:
            required.append(name)
        elif not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            default = _json_default(field.default)
            if default is not _NO_DEFAULT:
                schema = {**schema, "default": default}
        properties[name] = schema
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    doc = inspect.getdoc(cls)
    if doc and doc != inspect.getdoc(object) and not doc.startswith(cls.__name__ + "("):
        schema["description"] = doc.split("\n\n")[0]
    return schema


_NO_DEFAULT = object()
_MISSING = object()


def _json_default(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        items = [_json_default(v) for v in value]
        return _NO_DEFAULT if _NO_DEFAULT in items else items
    return _NO_DEFAULT


# ---------------------------------------------------------------- strict converter


def _strict(expected: type, name: str) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if type(value) is expected or (expected is str and isinstance(value, str)):
            return value
        raise TypeError(f"expected {name}, got {_json_type(value)}")
    return hook


def _float_hook(value: Any, _: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    raise TypeError(f"expected number, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(str, _strict(str, "string"))
    conv.register_structure_hook(int, _strict(int, "integer"))
    conv.register_structure_hook(bool, _strict(bool, "boolean"))
    conv.register_structure_hook(float, _float_hook)
    conv.register_structure_hook_func(lambda tp: tp is Any, lambda v, _: v)

    def is_list(tp: Any) -> bool:
        return get_origin(tp) in (list, Sequence, typing.Sequence) or tp is list

    def list_hook(tp: Any) -> Callable[[Any, Any], Any]:
        args = get_args(tp)
        item = args[0] if args else Any
        inner = conv.get_structure_hook(item)

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, list):
                raise TypeError(f"expected array, got {_json_type(value)}")
            out, errors = [], []
            for i, v in enumerate(value):
                try:
                    out.append(inner(v, item))
                except Exception as exc:
                    note = cattrs.errors.IterableValidationNote(
                        f"Structuring {tp} @ index {i}", i, item)
                    setattr(exc, "__notes__", [*getattr(exc, "__notes__", []), note])  # noqa: B010
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
            return out
        return hook

    def is_dict(tp: Any) -> bool:
        return get_origin(tp) in (dict, Mapping, typing.Mapping) or tp is dict

    def dict_hook(tp: Any) -> Callable[[Any, Any], Any]:
        args = get_args(tp)
        item = args[1] if args else Any
        inner = conv.get_structure_hook(item)

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected object, got {_json_type(value)}")
            return {k: inner(v, item) for k, v in value.items()}
        return hook

    def is_tuple(tp: Any) -> bool:
        return get_origin(tp) is tuple

    def tuple_hook(tp: Any) -> Callable[[Any, Any], Any]:
        args = get_args(tp)

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, list):
                raise TypeError(f"expected array, got {_json_type(value)}")
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(conv.structure(v, args[0]) for v in value)
            if len(value) != len(args):
                raise TypeError(f"expected an array of {len(args)} items, got {len(value)}")
            return tuple(conv.structure(v, a) for v, a in zip(value, args, strict=True))
        return hook

    def union_hook(tp: Any) -> Callable[[Any, Any], Any]:
        arms = get_args(tp)

        def hook(value: Any, _: Any) -> Any:
            if value is None and _NONE in arms:
                return None
            for arm in arms:
                if arm is _NONE:
                    continue
                try:
                    return conv.structure(value, arm)
                except Exception:
                    continue
            raise TypeError(f"expected {_describe(tp)}, got {_json_type(value)}")
        return hook

    def literal_hook(tp: Any) -> Callable[[Any, Any], Any]:
        values = get_args(tp)

        def hook(value: Any, _: Any) -> Any:
            for v in values:
                if value == v and type(value) is type(v):
                    return value
            raise TypeError(f"expected one of {list(values)!r}, got {value!r}")
        return hook

    def enum_hook(tp: Any) -> Callable[[Any, Any], Any]:
        def hook(value: Any, _: Any) -> Any:
            for member in tp:
                if member.value == value and type(member.value) is type(value):
                    return member
            raise TypeError(f"expected one of {[m.value for m in tp]!r}, got {value!r}")
        return hook

    def annotated_hook(tp: Any) -> Callable[[Any, Any], Any]:
        inner = get_args(tp)[0]
        return lambda v, _: conv.structure(v, inner)

    conv.register_structure_hook_factory(lambda tp: get_origin(tp) is _ANNOTATED,
                                         annotated_hook)
    conv.register_structure_hook_factory(is_list, list_hook)
    conv.register_structure_hook_factory(is_dict, dict_hook)
    conv.register_structure_hook_factory(is_tuple, tuple_hook)
    conv.register_structure_hook_factory(_is_union, union_hook)
    conv.register_structure_hook_factory(lambda tp: get_origin(tp) is _LITERAL, literal_hook)
    conv.register_structure_hook_factory(
        lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), enum_hook)
    return conv


def _describe(tp: Any) -> str:
    schema = json_schema(tp)
    if "type" in schema:
        return str(schema["type"])
    if "anyOf" in schema:
        return " or ".join(str(s.get("type", "value")) for s in schema["anyOf"])
    return "a valid value"


_converter = _make_converter()


def _format(exc: BaseException, _tp: Any) -> str:
    if isinstance(exc, KeyError):
        return "required argument missing"
    if isinstance(exc, ForbiddenExtraKeysError):  # pragma: no cover - extras are ignored
        return f"unknown arguments: {sorted(exc.extra_fields)}"
    return str(exc) or type(exc).__name__


def _messages(exc: BaseException) -> list[str]:
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        return cattrs.transform_error(exc, path="$", format_exception=_format)
    return [f"{_format(exc, None)} @ $"]


def _argument_error(exc: BaseException) -> ArgumentError:
    parts = []
    for message in _messages(exc):
        text, _, path = message.rpartition(" @ ")
        parts.append(f"{path}: {text}" if text else message)
    return ArgumentError("invalid arguments: " + "; ".join(parts))


# ---------------------------------------------------------------- binding


def is_context_annotation(hint: Any, context_types: tuple[type, ...]) -> bool:
    """Whether ``hint`` is one of ``context_types`` (possibly ``Optional`` or ``Annotated``)."""
    if get_origin(hint) is _ANNOTATED:
        hint = get_args(hint)[0]
    if _is_union(hint):
        arms = [a for a in get_args(hint) if a is not _NONE]
        if len(arms) != 1:
            return False
        hint = arms[0]
    return isinstance(hint, type) and issubclass(hint, context_types)


class ArgumentBinder:
    """Turns a ``tools/call`` ``arguments`` object into the handler's keyword arguments.

    Attributes:
        context_param: the name of the parameter that receives the request context, if any.
    """

    def __init__(self, model: type, whole: str | None, context_param: str | None) -> None:
        self._model = model
        self._whole = whole
        self.context_param = context_param
        self._hook = _converter.get_structure_hook(model)
        # The fast path: every parameter a str, int or bool (checked exactly as the strict
        # converter checks them). Arguments that don't fit it (a missing optional one, a wrong
        # type) take the full path, which gives the same result or the error message.
        fast: list[tuple[str, type]] | None = None
        if whole is None:
            fast = []
            for f in attrs.fields(model):
                if f.type not in (str, int, bool):
                    fast = None
                    break
                fast.append((f.name, f.type))
        self._fast = None if fast is None else tuple(fast)

    def bind(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate and structure ``arguments``; return the keyword arguments to call with.

        Raises:
            ArgumentError: an argument is missing or has the wrong type (one readable line
                naming each JSON path).
        """
        fast = self._fast
        if fast is not None and arguments.__class__ is dict:
            out: dict[str, Any] = {}
            for name, cls in fast:
                value = arguments.get(name, _MISSING)
                if value.__class__ is not cls:
                    break
                out[name] = value
            else:
                return out
        data = {} if arguments is None else arguments
        if not isinstance(data, Mapping):
            raise ArgumentError(f"invalid arguments: $: expected object, got "
                                f"{_json_type(data)}")
        try:
            obj = self._hook(dict(data), self._model)
        except Exception as exc:
            raise _argument_error(exc) from None
        if self._whole is not None:
            return {self._whole: obj}
        return {f.name: getattr(obj, f.name) for f in attrs.fields(self._model)}


def input_schema_for(
    fn: Callable[..., Any], *, context_types: tuple[type, ...] = ()
) -> tuple[dict[str, Any], ArgumentBinder]:
    """Return a tool handler's input schema and the binder for its arguments.

    Args:
        fn: the handler.
        context_types: annotations that mark the context parameter (not an argument).

    Raises:
        TypeError: a parameter is not annotated with a supported type, or is positional-only
            or variadic.
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    params: list[inspect.Parameter] = []
    context_param: str | None = None
    for name, param in inspect.signature(fn).parameters.items():
        hint = hints.get(name, Any)
        if context_types and is_context_annotation(hint, context_types):
            context_param = name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"{fn.__name__}: parameter {name!r} must be a plain or "
                            "keyword-only parameter")
        params.append(param)
    if len(params) == 1:
        hint = hints.get(params[0].name, Any)
        if isinstance(hint, type) and attrs.has(hint):
            schema = json_schema(hint)
            return schema, ArgumentBinder(hint, params[0].name, context_param)
    fields: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params:
        hint = hints.get(param.name, Any)
        try:
            prop = json_schema(hint)
        except TypeError as exc:
            raise TypeError(f"{fn.__name__}: parameter {param.name!r}: {exc}") from None
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
            fields[param.name] = attrs.field(type=hint)
        else:
            default = _json_default(param.default)
            if default is not _NO_DEFAULT:
                prop = {**prop, "default": default}
            fields[param.name] = attrs.field(type=hint, default=param.default)
        properties[param.name] = prop
    # Required fields first: attrs wants no mandatory field after a defaulted one.
    ordered = dict(sorted(fields.items(), key=lambda kv: kv[1]._default is not attrs.NOTHING))
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in getattr(fn, "__name__", "tool"))
    model = attrs.make_class(f"{name}_arguments", ordered, kw_only=True)
    object_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        object_schema["required"] = required
    return object_schema, ArgumentBinder(model, None, context_param)


# ---------------------------------------------------------------- output


def _is_content(tp: Any, content_types: tuple[type, ...]) -> bool:
    if isinstance(tp, type) and content_types and issubclass(tp, content_types):
        return True
    if _is_union(tp):
        return all(a is _NONE or _is_content(a, content_types) for a in get_args(tp))
    if get_origin(tp) in (list, Sequence, typing.Sequence, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return bool(args) and all(_is_content(a, content_types) for a in args)
    return False


def output_schema_for(
    annotation: Any, *, content_types: tuple[type, ...] = ()
) -> dict[str, Any] | None:
    """Return the ``outputSchema`` for a tool's return annotation, or ``None`` for none.

    Args:
        annotation: the return annotation.
        content_types: classes that are content blocks (no structured output for them).
    """
    if annotation in (None, _NONE, Any, inspect.Signature.empty):
        return None
    if _is_content(annotation, content_types):
        return None
    if isinstance(annotation, type) and annotation.__name__ == "CallToolResult":
        return None
    try:
        schema = json_schema(annotation)
    except TypeError:
        return None
    if schema.get("type") == "object":
        return schema
    return {"type": "object", "properties": {"result": schema}, "required": ["result"]}


def output_structurer(annotation: Any) -> Callable[[Any], dict[str, Any]]:
    """Return a function giving ``structuredContent`` for values of a tool's return type.

    The returned function raises :class:`TypeError` when its value does not match
    ``annotation``. A type whose schema is not an object is wrapped as ``{"result": ...}``
    (matching :func:`output_schema_for`). The schema work happens once, here.
    """
    schema = output_schema_for(annotation)
    wrap = schema is not None and "result" in schema.get("properties", {}) and \
        schema.get("required") == ["result"] and json_schema(annotation).get("type") != "object"
    unstructure = _converter.unstructure
    structure = _converter.structure

    def build(value: Any) -> dict[str, Any]:
        data = unstructure(value)
        try:
            structure(data, annotation)
        except Exception as exc:
            raise TypeError(str(_argument_error(exc)).replace("invalid arguments: ", "")) \
                from None
        if wrap:
            return {"result": data}
        assert isinstance(data, dict)
        return data

    return build


def structure_output(value: Any, annotation: Any) -> dict[str, Any]:
    """Return ``structuredContent`` for a value of a tool's declared return type.

    Raises:
        TypeError: ``value`` does not match ``annotation``.
    """
    return output_structurer(annotation)(value)
