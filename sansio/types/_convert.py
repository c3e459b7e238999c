"""The converter: strict structuring, omit-if-absent unstructuring, unknown keys kept.

One cattrs converter is built at import (the preconf converter matching
:data:`sansio._codec.BACKEND`), every hook is registered on it, and the hooks of the MCP
classes are prefetched. Unstructuring for an older revision uses a second converter, built
once per revision on first use, whose class hooks leave out the fields that revision does not
know.

The rules the hooks enforce:

* ``str``, ``int``, ``float`` and ``bool`` are never coerced. A ``bool`` is not an ``int``; an
  ``int`` is a valid ``float`` (a JSON number) and is kept as it is; a ``float`` is not an
  ``int``. Unions of primitives and ``Literal`` values (``RequestId``, ``int | None``) follow
  the same rules: ``True`` is not a request id.
* Arrays must be JSON arrays (``list``), objects must be JSON objects (``dict``); a string is
  not a list of characters.
* ``null`` for an optional field is accepted as "absent"; absent optional fields are omitted
  on the way out, never written as ``null``.
* Opaque payloads (``Any`` and ``dict[str, Any]`` fields: ``_meta``, ``arguments``,
  ``structuredContent``, ``inputSchema``...) are checked to be objects where typed so and are
  then passed through by identity in both directions (no copy).
* Undeclared keys go to ``extra`` and come back out on unstructure.
* Unions are dispatched by hand on their tag (``type``, ``mode``) or on the keys present.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, overload

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    IterableValidationError,
    StructureHandlerNotFoundError,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception as _cattrs_format_exception

from .. import _codec
from . import _lifecycle, _tasks  # noqa: F401 - their classes are prefetched below
from ._base import DEFAULT, SINCE, UNTIL, MCPType, wire_name
from ._client import BooleanSchema as _BooleanSchema
from ._client import (
    CreateMessageRequest,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitRequestURLParams,
    ElicitResult,
    ElicitValue,
    EnumSchema,
    InputRequest,
    InputResponse,
    LegacyTitledEnumSchema,
    ListRootsRequest,
    ListRootsResult,
    MultiSelectEnumSchema,
    NumberSchema,
    PrimitiveSchemaDefinition,
    SingleSelectEnumSchema,
    StringSchema,
    TitledMultiSelectEnumSchema,
    TitledSingleSelectEnumSchema,
    UntitledMultiSelectEnumSchema,
    UntitledSingleSelectEnumSchema,
)
from ._content import (
    AudioContent,
    BlobResourceContents,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceContentsUnion,
    ResourceLink,
    SamplingContent,
    SamplingMessageContentBlock,
    TextContent,
    TextResourceContents,
    ToolResultContent,
    ToolUseContent,
)
from ._modern import RESULT_INPUT_REQUIRED, InputRequiredResult
from ._server import CompletionReference, PromptReference, ResourceTemplateReference

__all__ = ["TypeValidationError", "structure", "unstructure"]

T = TypeVar("T")
_NoneType = type(None)
_PRIMITIVES = (str, int, float, bool, _NoneType)
_JSON_NAMES = {str: "str", int: "int", float: "float", bool: "bool", _NoneType: "null"}
Hook = Callable[[Any, Any], Any]


class TypeValidationError(ValueError):
    """Data does not fit the MCP type it was structured as.

    Attributes:
        errors: one message per problem, each ending in the JSON path of the offending value,
            such as ``"invalid value for type, expected str @ $.name"``. Suitable for the
            ``data`` of a JSON-RPC -32602 error.
        cls: the type that was asked for.
    """

    def __init__(self, errors: list[str], cls: Any) -> None:
        name = getattr(cls, "__name__", None) or repr(cls)
        super().__init__(f"invalid {name}: {'; '.join(errors)}")
        self.errors = errors
        self.cls = cls


class _Invalid(ValueError):
    """A hook's own refusal; its message is reported as is."""


def _identity(value: Any) -> Any:
    return value


def _json_type(value: Any) -> str:
    if value.__class__ in (dict,):
        return "object"
    if value.__class__ in (list,):
        return "array"
    return _JSON_NAMES.get(value.__class__, type(value).__name__)


def _is_union(t: Any) -> bool:
    return get_origin(t) in (Union, types.UnionType)


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _is_primitive_union(t: Any) -> bool:
    return _is_union(t) and all(a in _PRIMITIVES or _is_literal(a) for a in get_args(t))


def _is_optional(t: Any) -> bool:
    return _is_union(t) and _NoneType in get_args(t) and not _is_primitive_union(t)


def _is_mcp_class(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, MCPType)


def _is_opaque(t: Any) -> bool:
    return t is Any or t == dict[str, Any] or t == (dict[str, Any] | None)


def _describe(t: Any) -> str:
    if t in _JSON_NAMES:
        return _JSON_NAMES[t]
    if _is_literal(t):
        return "one of " + ", ".join(repr(v) for v in get_args(t))
    return " | ".join(_describe(a) for a in get_args(t)) if _is_union(t) else repr(t)


# ---------------------------------------------------------------- primitive hooks


def _strict(cls: type) -> Hook:
    message = f"invalid value for type, expected {_JSON_NAMES[cls]}"

    def hook(value: Any, _: Any) -> Any:
        if value.__class__ is cls:
            return value
        raise _Invalid(message)

    return hook


def _strict_float(value: Any, _: Any) -> Any:
    if value.__class__ is float or value.__class__ is int:
        return value
    raise _Invalid("invalid value for type, expected float")


def _primitive_union_hook(t: Any) -> Hook:
    """Literals, primitives and None, without coercion (``True`` is not an ``int | str``)."""
    args = (t,) if _is_literal(t) else get_args(t)
    classes: set[type] = set()
    literals: set[tuple[type, Any]] = set()
    for arg in args:
        if _is_literal(arg):
            literals.update((v.__class__, v) for v in get_args(arg))
        else:
            classes.add(arg)
            if arg is float:
                classes.add(int)
    literal_classes = frozenset(c for c, _ in literals)
    message = f"invalid value for type, expected {_describe(t)}"

    def hook(value: Any, _: Any) -> Any:
        cls = value.__class__
        if cls in classes or (cls in literal_classes and (cls, value) in literals):
            return value
        raise _Invalid(message)

    return hook


# ---------------------------------------------------------------- opaque payloads


def _opaque_object(value: Any, _: Any) -> Any:
    if value.__class__ is dict:
        return value
    raise _Invalid("invalid value for type, expected object")


def _opaque_object_or_none(value: Any, _: Any) -> Any:
    if value is None or value.__class__ is dict:
        return value
    raise _Invalid("invalid value for type, expected object")


def _opaque_any(value: Any, _: Any) -> Any:
    return value


def _opaque_struct_hook(t: Any) -> Hook:
    if t is Any:
        return _opaque_any
    if t == dict[str, Any]:
        return _opaque_object
    return _opaque_object_or_none


def _lazy(conv: cattrs.Converter, t: Any) -> Hook:
    """A hook that fetches ``conv``'s hook for ``t`` on first use (types refer to each other)."""
    hook: Hook | None = None

    def call(value: Any, _: Any) -> Any:
        nonlocal hook
        if hook is None:
            hook = conv.get_structure_hook(t)
        return hook(value, t)

    return call


# ---------------------------------------------------------------- the converter


def _make_converter() -> cattrs.Converter:
    """The preconf converter of the JSON backend in use (see :mod:`sansio._codec`)."""
    if _codec.BACKEND == "orjson":
        from cattrs.preconf.orjson import make_converter

        return make_converter(detailed_validation=True)
    from cattrs.preconf.json import make_converter as make_json_converter

    return make_json_converter(detailed_validation=True)


def _origin(t: Any) -> Any:
    return get_origin(t)


def _build(version: str | None) -> cattrs.Converter:
    """A converter whose MCP class hooks write what ``version`` knows (all if ``None``)."""
    conv = _make_converter()

    for cls in (str, int, bool):
        conv.register_structure_hook(cls, _strict(cls))
    conv.register_structure_hook(float, _strict_float)

    def list_factory(t: Any) -> Hook:
        inner = list_structure_factory(t, conv)

        def hook(value: Any, _: Any) -> Any:
            if value.__class__ is not list:
                raise _Invalid("invalid value for type, expected array")
            return inner(value, t)

        return hook

    def dict_factory(t: Any) -> Hook:
        if _is_opaque(t):
            return _opaque_object
        inner = mapping_structure_factory(t, conv)

        def hook(value: Any, _: Any) -> Any:
            if value.__class__ is not dict:
                raise _Invalid("invalid value for type, expected object")
            return inner(value, t)

        return hook

    def optional_factory(t: Any) -> Hook:
        rest = tuple(a for a in get_args(t) if a is not _NoneType)
        inner = _lazy(conv, rest[0] if len(rest) == 1 else Union[rest])  # noqa: UP007

        def hook(value: Any, _: Any) -> Any:
            return None if value is None else inner(value, None)

        return hook

    conv.register_structure_hook_factory(lambda t: _origin(t) is list, list_factory)
    conv.register_structure_hook_factory(lambda t: _origin(t) is dict, dict_factory)
    conv.register_structure_hook_factory(_is_optional, optional_factory)
    # Unions of primitives (RequestId and ProgressToken are `int | str`) are registered by
    # predicate: the preconf converters' union passthrough would shadow a plain
    # `register_structure_hook` and let `True` through as an `int`.
    conv.register_structure_hook_factory(
        lambda t: _is_literal(t) or _is_primitive_union(t), _primitive_union_hook
    )
    _register_unions(conv)

    def union_unstructure_factory(t: Any) -> Callable[[Any], Any]:
        hooks: dict[type, Callable[[Any], Any]] = {}

        def hook(obj: Any) -> Any:
            cls = obj.__class__
            inner = hooks.get(cls)
            if inner is None:
                inner = hooks[cls] = conv.get_unstructure_hook(cls)
            return inner(obj)

        return hook

    conv.register_unstructure_hook_factory(
        lambda t: _is_union(t) and not _is_primitive_union(t), union_unstructure_factory
    )
    conv.register_structure_hook_factory(_is_mcp_class, lambda cls: _class_structure(conv, cls))
    conv.register_unstructure_hook_factory(
        _is_mcp_class, lambda cls: _class_unstructure(conv, cls, version)
    )
    return conv


def _class_structure(conv: cattrs.Converter, cls: type) -> Hook:
    attrs.resolve_types(cls)
    overrides: dict[str, Any] = {"extra": override(omit=True)}
    known: list[str] = []
    for a in attrs.fields(cls):
        if a.name == "extra":
            continue
        wire = wire_name(a)
        known.append(wire)
        kwargs: dict[str, Any] = {}
        if wire != a.name:
            kwargs["rename"] = wire
        if _is_opaque(a.type):
            kwargs["struct_hook"] = _opaque_struct_hook(a.type)
        if kwargs:
            overrides[a.name] = override(**kwargs)
    fn: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, conv, _cattrs_detailed_validation=True, **overrides
    )
    known_keys = frozenset(known)

    def hook(data: Any, _: Any) -> Any:
        if data.__class__ is not dict:
            if not isinstance(data, Mapping):
                raise _Invalid("invalid value for type, expected object")
            data = dict(data)
        obj = fn(data, cls)
        if not known_keys.issuperset(data):
            object.__setattr__(
                obj, "extra", {k: v for k, v in data.items() if k not in known_keys}
            )
        return obj

    return hook


def _known_in(a: attrs.Attribute[Any], version: str | None) -> bool:
    """Whether the field ``a`` exists in revision ``version`` (``None``: every field does)."""
    if version is None:
        return True
    since = a.metadata.get(SINCE)
    until = a.metadata.get(UNTIL)
    return (since is None or since <= version) and (until is None or version <= until)


def _class_unstructure(conv: cattrs.Converter, cls: type, version: str | None) -> Any:
    attrs.resolve_types(cls)
    overrides: dict[str, Any] = {}
    defaults: list[tuple[str, Any]] = []
    for a in attrs.fields(cls):
        if a.name == "extra" or not _known_in(a, version):
            overrides[a.name] = override(omit=True)
            continue
        kwargs: dict[str, Any] = {"omit_if_default": a.default is None}
        wire = wire_name(a)
        if wire != a.name:
            kwargs["rename"] = wire
        if _is_opaque(a.type):
            kwargs["unstruct_hook"] = _identity
        overrides[a.name] = override(**kwargs)
        if version is not None and a.metadata.get(DEFAULT) is not None:
            defaults.append((wire, a.metadata[DEFAULT]))
    fn: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cls, conv, _cattrs_omit_if_default=False, **overrides
    )

    def hook(obj: Any) -> dict[str, Any]:
        out = fn(obj)
        for key, value in defaults:
            if key not in out:
                out[key] = value
        extra = obj.extra
        if extra:
            for key, value in extra.items():
                if key not in out:
                    out[key] = value
        return out

    return hook


# ---------------------------------------------------------------- unions


def _tagged(
    conv: cattrs.Converter, union: Any, tag: str, table: Mapping[Any, type], what: str
) -> None:
    """Dispatch ``union`` on ``data[tag]`` through ``table``."""
    expected = ", ".join(repr(k) for k in table if k is not None)
    resolved: dict[type, Hook] = {}

    def hook(value: Any, _: Any) -> Any:
        if value.__class__ is not dict:
            raise _Invalid("invalid value for type, expected object")
        key = value.get(tag)
        cls = table.get(key) if key is None or key.__class__ is str else None
        if cls is None:
            if key is None:
                raise _Invalid(f"missing {what} {tag!r}, expected one of {expected}")
            raise _Invalid(f"unknown {what} {tag} {key!r}, expected one of {expected}")
        inner = resolved.get(cls)
        if inner is None:
            inner = resolved[cls] = conv.get_structure_hook(cls)
        return inner(value, cls)

    conv.register_structure_hook_func(lambda t: t == union, hook)


def _register_unions(conv: cattrs.Converter) -> None:
    content: dict[Any, type] = {
        "text": TextContent,
        "image": ImageContent,
        "audio": AudioContent,
        "resource_link": ResourceLink,
        "resource": EmbeddedResource,
    }
    _tagged(conv, ContentBlock, "type", content, "content")
    sampling: dict[Any, type] = {
        "text": TextContent,
        "image": ImageContent,
        "audio": AudioContent,
        "tool_use": ToolUseContent,
        "tool_result": ToolResultContent,
    }
    _tagged(conv, SamplingMessageContentBlock, "type", sampling, "content")
    _tagged(
        conv,
        CompletionReference,
        "type",
        {"ref/prompt": PromptReference, "ref/resource": ResourceTemplateReference},
        "reference",
    )
    _tagged(
        conv,
        ElicitRequestParams,
        "mode",
        {None: ElicitRequestFormParams, "form": ElicitRequestFormParams,
         "url": ElicitRequestURLParams},
        "elicitation",
    )

    _tagged(
        conv,
        InputRequest,
        "method",
        {"sampling/createMessage": CreateMessageRequest, "elicitation/create": ElicitRequest,
         "roots/list": ListRootsRequest},
        "input request",
    )

    responses = {cls: _lazy(conv, cls) for cls in (ElicitResult, ListRootsResult,
                                                     CreateMessageResult)}

    def input_response(value: Any, _: Any) -> Any:
        if value.__class__ is not dict:
            raise _Invalid("invalid value for type, expected object")
        if "action" in value:
            return responses[ElicitResult](value, None)
        if "roots" in value:
            return responses[ListRootsResult](value, None)
        if "model" in value or "role" in value or "content" in value:
            return responses[CreateMessageResult](value, None)
        raise _Invalid("invalid input response, expected an 'action', 'roots' or 'model' key")

    conv.register_structure_hook_func(lambda t: t == InputResponse, input_response)

    def interim_factory(union: Any) -> Hook:
        """``X | InputRequiredResult``: told apart by ``resultType`` (2026-07-28)."""
        interim = _lazy(conv, InputRequiredResult)
        rest = tuple(a for a in get_args(union) if a is not InputRequiredResult)
        final = _lazy(conv, rest[0] if len(rest) == 1 else Union[rest])  # noqa: UP007

        def hook(value: Any, _: Any) -> Any:
            if value.__class__ is dict and value.get("resultType") == RESULT_INPUT_REQUIRED:
                return interim(value, None)
            return final(value, None)

        return hook

    conv.register_structure_hook_factory(
        lambda t: _is_union(t) and InputRequiredResult in get_args(t)
        and _NoneType not in get_args(t),
        interim_factory,
    )

    block = _lazy(conv, SamplingMessageContentBlock)
    blocks = _lazy(conv, list[SamplingMessageContentBlock])

    def sampling_content(value: Any, _: Any) -> Any:
        if value.__class__ is list:
            return blocks(value, None)
        return block(value, None)

    conv.register_structure_hook_func(lambda t: t == SamplingContent, sampling_content)

    text = _lazy(conv, TextResourceContents)
    blob = _lazy(conv, BlobResourceContents)

    def resource_contents(value: Any, _: Any) -> Any:
        if value.__class__ is not dict:
            raise _Invalid("invalid value for type, expected object")
        if "text" in value:
            return text(value, None)
        if "blob" in value:
            return blob(value, None)
        raise _Invalid("invalid resource contents, expected a 'text' or a 'blob' key")

    conv.register_structure_hook_func(lambda t: t == ResourceContentsUnion, resource_contents)

    def elicit_value(value: Any, _: Any) -> Any:
        cls = value.__class__
        if cls is str or cls is int or cls is float or cls is bool:
            return value
        if cls is list and all(item.__class__ is str for item in value):
            return value
        raise _Invalid("invalid value for type, expected str, number, bool or list of str")

    conv.register_structure_hook_func(lambda t: t == ElicitValue, elicit_value)

    schemas: dict[type | None, Hook] = {
        cls: _lazy(conv, cls)
        for cls in (
            StringSchema, NumberSchema, _BooleanSchema, UntitledSingleSelectEnumSchema,
            TitledSingleSelectEnumSchema, UntitledMultiSelectEnumSchema,
            TitledMultiSelectEnumSchema, LegacyTitledEnumSchema,
        )
    }

    def schema_variant(value: dict[str, Any]) -> type | None:
        kind = value.get("type")
        if kind == "string":
            if "oneOf" in value:
                return TitledSingleSelectEnumSchema
            if "enum" in value:
                if "enumNames" in value:
                    return LegacyTitledEnumSchema
                return UntitledSingleSelectEnumSchema
            return StringSchema
        if kind in ("number", "integer"):
            return NumberSchema
        if kind == "boolean":
            return _BooleanSchema
        if kind == "array":
            items = value.get("items")
            if items.__class__ is dict:
                if "anyOf" in items:
                    return TitledMultiSelectEnumSchema
                if "enum" in items:
                    return UntitledMultiSelectEnumSchema
        return None

    def primitive_schema_factory(union: Any) -> Hook:
        allowed = set(get_args(union))
        keep_raw = dict[str, Any] in allowed
        expected = _describe_classes(allowed)

        def hook(value: Any, _: Any) -> Any:
            if value.__class__ is not dict:
                raise _Invalid("invalid value for type, expected object")
            variant = schema_variant(value)
            if variant in allowed:
                return schemas[variant](value, None)
            if keep_raw:
                return value
            raise _Invalid(f"invalid value for type, expected {expected}")

        return hook

    conv.register_structure_hook_factory(
        lambda t: t in (PrimitiveSchemaDefinition, EnumSchema, SingleSelectEnumSchema,
                        MultiSelectEnumSchema),
        primitive_schema_factory,
    )


def _describe_classes(classes: set[Any]) -> str:
    return " | ".join(sorted(c.__name__ for c in classes if isinstance(c, type)))


# ---------------------------------------------------------------- public functions


def _format_exception(exc: BaseException, t: Any) -> str:
    if isinstance(exc, _Invalid):
        return str(exc)
    return _cattrs_format_exception(exc, t)


_WIRE_NAMES: dict[type, dict[str, str]] = {}


def _wire_names(cls: type) -> dict[str, str]:
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = _WIRE_NAMES[cls] = (
            {a.name: wire_name(a) for a in attrs.fields(cls)} if _is_mcp_class(cls) else {}
        )
    return names


def _errors(exc: BaseException, path: str = "$") -> list[str]:
    """``cattrs.transform_error``, with the JSON (wire) names of fields in the paths."""
    errors: list[str] = []
    if isinstance(exc, IterableValidationError):
        items, without = exc.group_exceptions()
        for sub, inote in items:
            _add(errors, sub, f"{path}[{inote.index!r}]", inote.type)
    elif isinstance(exc, ClassValidationError):
        names = _wire_names(exc.cl)
        fields, without = exc.group_exceptions()
        for sub, anote in fields:
            _add(errors, sub, f"{path}.{names.get(anote.name, anote.name)}", anote.type)
    else:
        return [f"{_format_exception(exc, None)} @ {path}"]
    errors.extend(f"{_format_exception(sub, None)} @ {path}" for sub in without)
    return errors


def _add(errors: list[str], exc: BaseException, path: str, t: Any) -> None:
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        errors.extend(_errors(exc, path))
    else:
        errors.append(f"{_format_exception(exc, t)} @ {path}")


_CONVERTER = _build(None)
_BY_VERSION: dict[str, cattrs.Converter] = {}
_STRUCTURE_HOOKS: dict[Any, Hook] = {}
_UNSTRUCTURE_HOOKS: dict[type, Callable[[Any], Any]] = {}
_VERSION_HOOKS: dict[str, dict[type, Callable[[Any], Any]]] = {}


def _converter_for(version: str) -> cattrs.Converter:
    conv = _BY_VERSION.get(version)
    if conv is None:
        conv = _BY_VERSION[version] = _build(version)
    return conv


@overload
def structure(data: Any, cls: type[T]) -> T: ...
@overload
def structure(data: Any, cls: Any) -> Any: ...
def structure(data: Any, cls: Any) -> Any:
    """Build an MCP type (or a union alias of them, or a container of them) from JSON data.

    Nothing is coerced: a number is not a string, ``"false"`` is not a bool, ``True`` is not
    an id. Keys the type does not declare are kept in ``extra``.

    Args:
        data: decoded JSON (dicts, lists, str, int, float, bool, None).
        cls: the target, e.g. :class:`Tool`, :data:`ContentBlock`, ``list[Tool]``.

    Returns:
        the structured value.

    Raises:
        TypeValidationError: ``data`` does not fit ``cls``; ``errors`` has one message with a
            JSON path per problem.
        TypeError: ``cls`` is not something this module knows how to structure.
    """
    hook = _STRUCTURE_HOOKS.get(cls)
    if hook is None:
        try:
            hook = _STRUCTURE_HOOKS[cls] = _CONVERTER.get_structure_hook(cls)
        except StructureHandlerNotFoundError as exc:
            raise TypeError(f"can't structure {cls!r}: {exc}") from None
    try:
        return hook(data, cls)
    except (BaseValidationError, ValueError, TypeError, KeyError, AttributeError,
            RecursionError) as exc:
        raise TypeValidationError(_errors(exc), cls) from None


def unstructure(obj: Any, version: str | None = None) -> Any:
    """Turn an MCP type (or a list or dict of them) into JSON data.

    Absent optional fields are left out, keys kept in ``extra`` are written back, and opaque
    payloads are passed through as they are (not copied).

    Args:
        obj: the value to write.
        version: the protocol revision of the peer. Fields that revision does not know are
            left out (``Tool.title`` for 2024-11-05, ``resultType`` before 2026-07-28,
            ``Tool.execution`` from 2026-07-28 on), and absent fields it requires that have a
            default are written with it (``resultType: "complete"`` for 2026-07-28).
            ``None`` writes every field that is set, and no defaults. Revisions compare as
            strings. Whole classes outside ``version`` (an ``AudioContent`` block for
            2024-11-05, a ``Task`` for 2026-07-28) and changes of a field's type (a list of
            sampling content blocks before 2025-11-25) are written as they are: deciding what
            to send instead is the caller's business.

    Returns:
        dicts, lists and JSON scalars.

    Raises:
        TypeError: ``version`` is not a string or ``None``.
    """
    if version is not None:
        if version.__class__ is not str:
            raise TypeError(f"version must be a str or None, not {type(version).__name__}")
        hooks = _VERSION_HOOKS.get(version)
        if hooks is None:
            hooks = _VERSION_HOOKS[version] = {}
        hook = hooks.get(obj.__class__)
        if hook is None:
            hook = hooks[obj.__class__] = _converter_for(version).get_unstructure_hook(
                obj.__class__
            )
        return hook(obj)
    cls = obj.__class__
    hook = _UNSTRUCTURE_HOOKS.get(cls)
    if hook is None:
        if not attrs.has(cls):
            return _CONVERTER.unstructure(obj)
        hook = _UNSTRUCTURE_HOOKS[cls] = _CONVERTER.get_unstructure_hook(cls)
    return hook(obj)

