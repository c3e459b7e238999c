"""Tool schemas from Python annotations, and strict argument binding with cattrs.

A tool's ``inputSchema`` comes from its handler's annotated parameters (each one a property;
those without a default are required), or, when the handler takes exactly one argument
parameter annotated with an object class (attrs class, dataclass, ``TypedDict`` or pydantic
model), from that class (the whole ``arguments`` object is that class).
``typing.Annotated[X, "text"]`` adds a description (else a Google-style ``Args:`` entry of the
docstring does). pydantic metadata in ``Annotated``
(``Field(ge=0, description=...)``, validators, ``annotated_types`` constraints) or a
``Field(...)`` default hands that annotation to a pydantic ``TypeAdapter``, for its schema and
its validation.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``typing.Any``,
``list[X]``, ``tuple[X, ...]``, ``tuple[X, Y]``, ``set[X]`` and ``frozenset[X]`` of a hashable
``X`` (``uniqueItems``; duplicates are refused), ``dict[str, X]``, unions and ``X | None``,
``Literal[...]``, :class:`enum.Enum` subclasses, and, nested anywhere, attrs classes,
dataclasses, ``TypedDict`` classes (``total=False``, ``Required``, ``NotRequired``) and pydantic
models (only when pydantic is already imported; it is never imported here). Anything else
raises :class:`TypeError` (``cannot describe type X as JSON Schema``) when the tool is
registered.

Arguments are structured with a cattrs converter whose hooks never coerce: ``"1"`` is not an
``int``, ``1`` is not a ``str``, ``True`` is not an ``int`` (an ``int`` is accepted for a
``float``). A pydantic model validates its own part with pydantic, in strict mode on JSON
input (the same rules; a model whose config sets ``strict=False`` gets pydantic's lax mode).
Failures become one :class:`ArgumentError` line naming the JSON path of each problem; unknown
argument names are ignored.

Return annotations give the ``outputSchema``: an object class or ``dict[str, X]`` is the
structured object itself; any other supported type is wrapped as ``{"result": value}``
(``structuredContent`` must be an object). ``None``, ``Any``, content blocks, lists of them
and ``CallToolResult`` mean no structured output.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Literal, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError

from sansio import _codec

__all__ = [
    "ArgumentBinder",
    "ArgumentError",
    "ToolDefinitionError",
    "docstring_arguments",
    "input_schema_for",
    "is_context_annotation",
    "json_schema",
    "output_is_wrapped",
    "output_schema_for",
    "output_structurer",
    "structure_output",
    "unstructure",
]

_NONE = type(None)
_ANNOTATED: Any = typing.Annotated
_LITERAL: Any = Literal


class ArgumentError(ValueError):
    """The arguments of a tool call do not match its input schema (one readable line)."""


class ToolDefinitionError(TypeError, ValueError):
    """A tool cannot be registered: one line naming the tool and what is wrong with it.

    For example ``tool 'plot': parameter 'data': cannot describe type Frame as JSON Schema``.
    A :class:`TypeError` (what registration raised before) and a :class:`ValueError`.
    """


# ---------------------------------------------------------------- object classes


def _pydantic_base() -> type | None:
    """pydantic's ``BaseModel`` if pydantic is imported (a model class implies it is)."""
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None) if module is not None else None
    return base if isinstance(base, type) else None


def is_pydantic_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic (v2) model class; never imports pydantic."""
    base = _pydantic_base()
    return (base is not None and isinstance(tp, type) and issubclass(tp, base)
            and tp is not base and hasattr(tp, "model_json_schema"))


def _is_pydantic_metadata(item: Any) -> bool:
    """Whether an ``Annotated`` item is pydantic's (``Field(...)``, ``AfterValidator``, ...) or
    an ``annotated_types`` constraint (``Gt(0)``, ...): pydantic then describes and validates."""
    if "pydantic" not in sys.modules:
        return False
    return type(item).__module__.partition(".")[0] in ("pydantic", "annotated_types")


def _field_info(value: Any) -> Any:
    """``value`` if it is a pydantic ``FieldInfo`` (``x: int = Field(...)``), else ``None``."""
    fields = sys.modules.get("pydantic.fields")
    cls = getattr(fields, "FieldInfo", None)
    return value if isinstance(cls, type) and isinstance(value, cls) else None


def _type_adapter(tp: Any) -> Any:
    """A pydantic ``TypeAdapter`` for ``tp`` (pydantic is imported: metadata of it is here).

    Raises:
        TypeError: pydantic cannot handle ``tp``.
    """
    adapter_class: Any = sys.modules["pydantic"].TypeAdapter
    try:
        return adapter_class(tp)
    except Exception as exc:
        raise TypeError(f"cannot describe type {_type_name(tp)} as JSON Schema "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def is_typeddict(tp: Any) -> bool:
    """Whether ``tp`` is a ``TypedDict`` class (``typing`` or ``typing_extensions``)."""
    return (isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")
            and hasattr(tp, "__required_keys__"))


def _is_dataclass(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def is_object_class(tp: Any) -> bool:
    """Whether ``tp`` is a class whose instances are JSON objects: attrs, dataclass,
    ``TypedDict`` or pydantic model."""
    return isinstance(tp, type) and (attrs.has(tp) or _is_dataclass(tp) or is_typeddict(tp)
                                     or is_pydantic_model(tp))


def _qualifiers(name: str) -> tuple[Any, ...]:
    found = [getattr(m, name) for m in (typing, sys.modules.get("typing_extensions"))
             if m is not None and hasattr(m, name)]
    return tuple(found)


def _typeddict_keys(td: type) -> list[tuple[str, Any, bool]]:
    """``(key, annotation, required)`` for each key of a ``TypedDict``.

    An explicit ``Required``/``NotRequired`` decides (``__required_keys__`` misses them when
    annotations are strings); otherwise ``__required_keys__`` (the declaring class's
    ``total``) does.
    """
    hints = _hints(td)
    required_marks = _qualifiers("Required")
    optional_marks = _qualifiers("NotRequired")
    read_only = _qualifiers("ReadOnly")
    keys = []
    for key, annotation in hints.items():
        hint, required = annotation, None
        while get_origin(hint) in (*required_marks, *optional_marks, *read_only):
            origin = get_origin(hint)
            if origin in required_marks:
                required = True
            elif origin in optional_marks:
                required = False
            hint = get_args(hint)[0]
        if required is None:
            required = key in td.__required_keys__  # type: ignore[attr-defined]
        keys.append((key, hint, required))
    return keys


def _hints(cls: type) -> dict[str, Any]:
    """The resolved annotations of ``cls`` (``Annotated`` kept).

    Raises:
        TypeError: one names something undefined.
    """
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError, mostly: a class defined inside a function
        raise TypeError(f"cannot resolve the annotations of {cls.__qualname__}: {exc}"
                        ) from None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    # The repr without module paths: set[app.models.Frame] -> set[Frame].
    return re.sub(r"(?<![\w'\"])(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", repr(tp))


# ---------------------------------------------------------------- JSON Schema


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def json_schema(tp: Any, _seen: tuple[type, ...] = (), *, output: bool = False
                ) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a supported annotation.

    Args:
        tp: the annotation.
        output: describe values as a tool returns them (pydantic's serialization schema).

    Raises:
        TypeError: the annotation has no JSON Schema equivalent here (``cannot describe
            type X as JSON Schema``, after the fields that lead to it).
    """
    def sub(inner: Any) -> dict[str, Any]:
        return json_schema(inner, _seen, output=output)

    origin = get_origin(tp)
    if origin is typing.Annotated:
        inner, *extras = get_args(tp)
        if any(_is_pydantic_metadata(extra) for extra in extras):
            adapter = _type_adapter(tp)
            schema = _inline_defs(
                adapter.json_schema(mode="serialization" if output else "validation"),
                _type_name(inner))
        else:
            schema = sub(inner)
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
            return {"anyOf": [sub(non_null[0]), {"type": "null"}]}
        return {"anyOf": [sub(a) for a in arms]}
    if origin in (list, Sequence, typing.Sequence) or tp in (list,):
        args = get_args(tp)
        return {"type": "array", "items": sub(args[0]) if args else {}}
    if _is_set(tp):
        args = get_args(tp)
        if not args or not _hashable(args[0]):
            raise TypeError(f"cannot describe type {_type_name(tp)} as JSON Schema (set items "
                            "must be of a hashable type)")
        return {"type": "array", "items": sub(args[0]), "uniqueItems": True}
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": sub(args[0])}
        return {"type": "array", "prefixItems": [sub(a) for a in args],
                "items": False, "minItems": len(args), "maxItems": len(args)}
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        args = get_args(tp)
        if args and args[0] is not str:
            raise TypeError(f"cannot describe type {_type_name(tp)} as JSON Schema "
                            "(JSON object keys are strings; use dict[str, ...])")
        return {"type": "object", "additionalProperties": sub(args[1]) if args else {}}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        schema = {"enum": values}
        kinds = {_literal_type(v) for v in values}
        if len(kinds) == 1:
            schema["type"] = kinds.pop()
        return schema
    if is_object_class(tp):
        if tp in _seen:
            raise TypeError(f"{tp.__name__} refers to itself; recursive types are not supported")
        if is_pydantic_model(tp):
            return _inline_defs(
                tp.model_json_schema(mode="serialization" if output else "validation"),
                tp.__name__)
        return _class_schema(tp, (*_seen, tp), output)
    raise TypeError(f"cannot describe type {_type_name(tp)} as JSON Schema")


def _is_set(tp: Any) -> bool:
    return get_origin(tp) in (set, frozenset, typing.AbstractSet, AbstractSet) \
        or tp in (set, frozenset)


def _hashable(tp: Any) -> bool:
    """Whether every value of ``tp`` can be a set item."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _hashable(get_args(tp)[0])
    if origin is Literal or tp in (None, _NONE):
        return True
    if _is_union(tp) or origin is tuple:
        return all(_hashable(a) for a in get_args(tp) if a is not Ellipsis)
    return (origin is None and isinstance(tp, type) and tp.__hash__ is not None
            and not issubclass(tp, (list, dict, set)))


def _literal_type(value: Any) -> str:
    kind = _json_type(value)
    if kind not in ("boolean", "integer", "number", "string", "null"):
        raise TypeError(f"cannot describe literal {value!r} as JSON Schema")
    return kind


def _fields(cls: type) -> Iterator[tuple[str, Any, bool, Any]]:
    """``(JSON name, annotation, required, default or _NO_DEFAULT)`` for each field of an
    attrs class, dataclass or ``TypedDict``."""
    if is_typeddict(cls):
        for key, hint, required in _typeddict_keys(cls):
            yield key, hint, required, _NO_DEFAULT
        return
    hints = _hints(cls)
    if attrs.has(cls):
        for field in attrs.fields(cls):
            default: Any = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = _NO_DEFAULT
            yield (field.alias or field.name, hints.get(field.name, Any),
                   field.default is attrs.NOTHING, default)
        return
    for dfield in dataclasses.fields(cls):
        if not dfield.init:
            continue
        required = (dfield.default is dataclasses.MISSING
                    and dfield.default_factory is dataclasses.MISSING)
        default = _NO_DEFAULT if dfield.default is dataclasses.MISSING else dfield.default
        yield dfield.name, hints.get(dfield.name, Any), required, default


def _class_schema(cls: type, seen: tuple[type, ...], output: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, hint, is_required, default in _fields(cls):
        try:
            schema = json_schema(hint, seen, output=output)
        except TypeError as exc:
            raise TypeError(f"field {name!r}: {exc}") from None
        if is_required:
            required.append(name)
        elif (value := _json_default(default)) is not _NO_DEFAULT:
            schema = {**schema, "default": value}
        properties[name] = schema
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    doc = inspect.getdoc(cls)
    if doc and doc not in (inspect.getdoc(object), inspect.getdoc(dict)) \
            and not doc.startswith(cls.__name__ + "("):
        schema["description"] = doc.split("\n\n")[0]
    return schema


def _inline_defs(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """A JSON Schema pydantic made, with its ``$defs`` inlined (a tool schema, or a property
    in one, has no ``$defs`` of its own to refer to)."""
    defs = raw.pop("$defs", {})

    def inline(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            target_name = ref.rpartition("/")[2]
            if not ref.startswith("#/$defs/") or target_name not in defs:
                raise TypeError(f"{name}: cannot describe reference {ref!r}")
            if target_name in stack:
                raise TypeError(f"{name} refers to {target_name} inside itself; recursive "
                                "types are not supported")
            target = inline(defs[target_name], (*stack, target_name))
            return {**target, **{k: inline(v, stack) for k, v in node.items() if k != "$ref"}}
        return {k: v if k in ("default", "examples", "const", "enum") else inline(v, stack)
                for k, v in node.items()}

    schema = inline(raw, (name,))
    assert isinstance(schema, dict)
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
            out, errors = {}, []
            for k, v in value.items():
                try:
                    out[k] = inner(v, item)
                except Exception as exc:
                    errors.append((_key_path(k), exc))
            if errors:
                raise _NestedErrors(errors)
            return out
        return hook

    def keyed_hook(keys: list[tuple[str, Any, bool]],
                   build: Callable[[dict[str, Any]], Any]) -> Callable[[Any, Any], Any]:
        """Structure a JSON object key by key (every error at its path), then ``build``."""
        entries = [(key, hint, required, conv.get_structure_hook(hint))
                   for key, hint, required in keys]

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected object, got {_json_type(value)}")
            out: dict[str, Any] = {}
            errors: list[tuple[str, BaseException]] = []
            for key, hint, required, inner in entries:
                if key not in value:
                    if required:
                        errors.append((_key_path(key), KeyError(key)))
                    continue
                try:
                    out[key] = inner(value[key], hint)
                except Exception as exc:
                    errors.append((_key_path(key), exc))
            if errors:
                raise _NestedErrors(errors)
            return build(out)  # unknown keys are dropped, as for the other classes
        return hook

    def dataclass_hook(tp: Any) -> Callable[[Any, Any], Any]:
        # Not cattrs' own: that drops Annotated from string annotations (pydantic metadata).
        # What __post_init__ raises is reported at the object's path.
        return keyed_hook([(name, hint, required) for name, hint, required, _ in _fields(tp)],
                          lambda kwargs: tp(**kwargs))

    def typeddict_hook(tp: Any) -> Callable[[Any, Any], Any]:
        return keyed_hook(list(_typeddict_keys(tp)), lambda out: out)

    def pydantic_hook(tp: Any) -> Callable[[Any, Any], Any]:
        # Strict on JSON input (a string is no int, an array is a tuple, a string a date),
        # unless the model's own config asks for lax mode.
        strict = None if tp.model_config.get("strict") is False else True
        root = getattr(tp, "__pydantic_root_model__", False)  # a RootModel: any JSON value

        def hook(value: Any, _: Any) -> Any:
            if isinstance(value, tp):
                return value
            if not root and not isinstance(value, dict):
                raise TypeError(f"expected object, got {_json_type(value)}")
            return _pydantic_validate(tp.model_validate_json, value, strict)
        return hook

    def set_hook(tp: Any) -> Callable[[Any, Any], Any]:
        item = get_args(tp)[0]
        inner = conv.get_structure_hook(item)
        make = frozenset if get_origin(tp) is frozenset or tp is frozenset else set

        def hook(value: Any, _: Any) -> Any:
            if not isinstance(value, list):
                raise TypeError(f"expected array, got {_json_type(value)}")
            out: set[Any] = set()
            errors: list[tuple[str, BaseException]] = []
            for i, v in enumerate(value):
                try:
                    structured = inner(v, item)
                except Exception as exc:
                    errors.append((f"[{i}]", exc))
                    continue
                if structured in out:  # the schema says uniqueItems: no silent de-duplication
                    errors.append((f"[{i}]", ValueError("duplicate item")))
                out.add(structured)
            if errors:
                raise _NestedErrors(errors)
            return make(out)
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
            inside: list[Exception] = []
            for arm in arms:
                if arm is _NONE:
                    continue
                try:
                    return conv.structure(value, arm)
                except (_NestedErrors, ClassValidationError, IterableValidationError) as exc:
                    inside.append(exc)  # the value's kind fits the arm; something in it not
                except Exception:
                    continue
            if len(inside) == 1:  # only one arm could be meant: say what is wrong inside it
                raise inside[0]
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
        inner, *extras = get_args(tp)
        if any(_is_pydantic_metadata(extra) for extra in extras):
            validate_json = _type_adapter(tp).validate_json
            return lambda v, _: _pydantic_validate(validate_json, v, True)
        return lambda v, _: conv.structure(v, inner)

    conv.register_structure_hook_factory(lambda tp: get_origin(tp) is _ANNOTATED,
                                         annotated_hook)
    conv.register_structure_hook_factory(is_pydantic_model, pydantic_hook)
    conv.register_structure_hook_factory(is_typeddict, typeddict_hook)
    conv.register_structure_hook_factory(_is_dataclass, dataclass_hook)
    conv.register_structure_hook_factory(is_list, list_hook)
    conv.register_structure_hook_factory(is_dict, dict_hook)
    conv.register_structure_hook_factory(is_tuple, tuple_hook)
    conv.register_structure_hook_factory(_is_set, set_hook)
    conv.register_structure_hook_factory(_is_union, union_hook)
    conv.register_structure_hook_factory(lambda tp: get_origin(tp) is _LITERAL, literal_hook)
    conv.register_structure_hook_factory(
        lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), enum_hook)
    conv.register_unstructure_hook_func(
        is_pydantic_model, lambda value: value.model_dump(mode="json", by_alias=True))
    conv.register_unstructure_hook_func(
        lambda cls: isinstance(cls, type) and issubclass(cls, (set, frozenset)), _set_items)
    return conv


def _set_items(value: Any) -> list[Any]:
    items = [_converter.unstructure(v) for v in value]
    try:
        return sorted(items)  # a stable order where there is one
    except TypeError:
        return items


def _pydantic_validate(validate_json: Callable[..., Any], value: Any, strict: bool | None
                       ) -> Any:
    """Validate JSON ``value`` with a pydantic ``validate_json``; its errors as ours."""
    error_type: Any = sys.modules["pydantic"].ValidationError
    try:
        return validate_json(_codec.dumps(value), strict=strict)
    except error_type as exc:
        raise _NestedErrors([
            ("".join(_key_path(part) for part in error["loc"]),
             _PydanticIssue(_pydantic_message(error)))
            for error in exc.errors()]) from None


class _NestedErrors(Exception):
    """Errors below a value: ``(path suffix, exception)`` pairs (a suffix like ``.a[2]``)."""

    def __init__(self, errors: Sequence[tuple[str, BaseException]]) -> None:
        super().__init__(f"{len(errors)} invalid values")
        self.errors = errors


class _PydanticIssue(ValueError):
    """One error pydantic reported, already worded."""


_PYDANTIC_TYPES = {
    "int_type": "integer", "int_from_float": "integer", "string_type": "string",
    "bool_type": "boolean", "float_type": "number", "list_type": "array",
    "tuple_type": "array", "dict_type": "object", "model_type": "object",
    "model_attributes_type": "object",
}


def _pydantic_message(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "missing":
        return "required argument missing"
    if kind in _PYDANTIC_TYPES:
        return f"expected {_PYDANTIC_TYPES[kind]}, got {_json_type(error.get('input'))}"
    return str(error.get("msg", kind))


def _key_path(key: Any) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    text = str(key)
    return f".{text}" if text.isidentifier() else f"[{_codec.dumps(text).decode()}]"


def _describe(tp: Any) -> str:
    schema = json_schema(tp)
    if "type" in schema:
        return str(schema["type"])
    if "anyOf" in schema:
        return " or ".join(str(s.get("type", "value")) for s in schema["anyOf"])
    return "a valid value"


_converter = _make_converter()


def _format(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "required argument missing"
    return str(exc) or type(exc).__name__


def _problems(exc: BaseException, path: str) -> Iterator[tuple[str, str]]:
    """``(JSON path, message)`` for each failure in a structuring error."""
    if isinstance(exc, _NestedErrors):
        for suffix, sub in exc.errors:
            yield from _problems(sub, path + suffix)
    elif isinstance(exc, IterableValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _problems(sub, f"{path}[{note.index}]")
        for sub in others:
            yield from _problems(sub, path)
    elif isinstance(exc, ClassValidationError):
        with_names, others = exc.group_exceptions()
        for sub, attribute in with_names:
            yield from _problems(sub, path + _key_path(attribute.name))
        for sub in others:
            yield from _problems(sub, path)
    else:
        yield path, _format(exc)


def _argument_error(exc: BaseException) -> ArgumentError:
    parts = [f"{path}: {message}" for path, message in _problems(exc, "$")]
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


_ARGS_HEADING = re.compile(r"^(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def docstring_arguments(fn: Callable[..., Any]) -> dict[str, str]:
    """Parameter descriptions from the ``Args:`` section of a Google-style docstring.

    ``name: text`` or ``name (type): text``, continued on more-indented lines; the section
    ends at a line indented no more than its heading.
    """
    doc = inspect.getdoc(fn) or ""
    found: dict[str, str] = {}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if not _ARGS_HEADING.match(line.strip()):
            continue
        base = len(line) - len(line.lstrip())
        item_indent: int | None = None
        current: str | None = None
        for entry in lines[i + 1:]:
            if not entry.strip():
                continue
            indent = len(entry) - len(entry.lstrip())
            if indent <= base:
                break
            match = _ARG_LINE.match(entry.strip())
            if item_indent is None:
                item_indent = indent
            if indent == item_indent and match:
                current = match.group(1).lstrip("*")
                found[current] = match.group(2).strip()
            elif indent > item_indent and current is not None:
                found[current] = f"{found[current]} {entry.strip()}".strip()
        break
    return {name: text for name, text in found.items() if text}


def input_schema_for(
    fn: Callable[..., Any], *, context_types: tuple[type, ...] = ()
) -> tuple[dict[str, Any], ArgumentBinder]:
    """Return a tool handler's input schema and the binder for its arguments.

    Args:
        fn: the handler.
        context_types: annotations that mark the context parameter (not an argument).

    Raises:
        TypeError: a parameter is not annotated with a supported type, or is positional-only
            or variadic, or an annotation names something undefined (one line:
            ``parameter 'y': cannot describe type Foo as JSON Schema``).
    """
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # NameError for a misspelt or undefined name, mostly
        raise TypeError(f"cannot resolve the annotations: {exc}") from None
    params: list[inspect.Parameter] = []
    context_param: str | None = None
    for name, param in inspect.signature(fn).parameters.items():
        hint = hints.get(name, Any)
        if context_types and is_context_annotation(hint, context_types):
            context_param = name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"parameter {name!r} must be a plain or keyword-only parameter")
        params.append(param)
    if len(params) == 1:
        hint = hints.get(params[0].name, Any)
        if is_object_class(hint):
            try:
                schema = json_schema(hint)
            except TypeError as exc:
                raise TypeError(f"parameter {params[0].name!r}: {exc}") from None
            if schema.get("type") == "object":  # not a pydantic RootModel of a list, say
                return schema, ArgumentBinder(hint, params[0].name, context_param)
    fields: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    described = docstring_arguments(fn)
    for param in params:
        hint = hints.get(param.name, Any)
        default: Any = param.default
        info = _field_info(default)
        if info is not None:  # x: int = Field(3, ge=0): pydantic's, as Annotated[int, Field]
            hint = typing.Annotated[hint, info]
            default = (inspect.Parameter.empty if info.is_required()
                       else attrs.Factory(info.default_factory) if info.default_factory
                       else info.default)
        try:
            prop = json_schema(hint)
        except TypeError as exc:
            raise TypeError(f"parameter {param.name!r}: {exc}") from None
        if default is inspect.Parameter.empty:
            required.append(param.name)
            fields[param.name] = attrs.field(type=hint)
        else:
            json_default = _json_default(default)
            if json_default is not _NO_DEFAULT and "default" not in prop:
                prop = {**prop, "default": json_default}
            fields[param.name] = attrs.field(type=hint, default=default)
        if param.name in described and "description" not in prop:
            prop = {**prop, "description": described[param.name]}
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
        schema = json_schema(annotation, output=True)
    except TypeError:
        return None
    if schema.get("type") == "object":
        return schema
    return {"type": "object", "properties": {"result": schema}, "required": ["result"]}


def output_is_wrapped(annotation: Any) -> bool:
    """Whether values of return type ``annotation`` go out as ``{"result": value}`` (their
    schema is not an object's)."""
    try:
        schema = json_schema(annotation, output=True)
    except TypeError:
        return False
    return schema.get("type") != "object" and output_schema_for(annotation) is not None


def output_structurer(annotation: Any) -> Callable[[Any], dict[str, Any]]:
    """Return a function giving ``structuredContent`` for values of a tool's return type.

    The returned function raises :class:`TypeError` when its value does not match
    ``annotation``. A type whose schema is not an object is wrapped as ``{"result": ...}``
    (matching :func:`output_schema_for`). The schema work happens once, here.
    """
    wrap = output_is_wrapped(annotation)
    unstructure = _converter.unstructure
    structure = _converter.structure
    # A model instance is valid by construction; its dump is not validated again (it may
    # hold what only the serialization schema has, computed fields for one).
    model = annotation if is_pydantic_model(annotation) else None

    def build(value: Any) -> dict[str, Any]:
        data = unstructure(value)
        if model is None or not isinstance(value, model):
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


def unstructure(value: Any) -> Any:
    """``value`` as JSON data (attrs classes, dataclasses, pydantic models, enums, ...)."""
    return _converter.unstructure(value)
