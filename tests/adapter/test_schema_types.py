"""Tool argument and result types: dataclasses, TypedDict, pydantic models, Annotated
descriptions, and tools whose types cannot be described (left out, or raising when strict).

The module uses ``from __future__ import annotations`` on purpose: every annotation is a
string, the case where ``TypedDict.__required_keys__`` misses ``Required``/``NotRequired``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import attrs
import pydantic
import pytest
from adapter_support import connected
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from sansio import HANDSHAKE_VERSIONS
from sansio import types as t
from tests.conftest import load_schema
from trio_adapter import Context, Server, ToolDefinitionError
from trio_adapter._schema import (
    ArgumentError,
    input_schema_for,
    output_schema_for,
    structure_output,
)

if sys.version_info >= (3, 11):
    from typing import NotRequired, Required, TypedDict
else:  # pragma: no cover - Required and NotRequired are new in 3.11
    from typing_extensions import NotRequired, Required, TypedDict

# ---------------------------------------------------------------- the types under test


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@dataclasses.dataclass
class Item:
    """An item of an order."""

    name: str
    price: float
    size: Size = Size.SMALL
    tags: list[str] = dataclasses.field(default_factory=list)
    note: Annotated[str, "free text for the packer"] = ""


@dataclasses.dataclass(frozen=True)
class Order:
    items: list[Item]
    rush: bool = False
    counted: int = dataclasses.field(default=0, init=False)


class Address(TypedDict):
    street: str
    city: Annotated[str, "the city, in full"]
    postcode: NotRequired[str]


class Filters(TypedDict, total=False):
    query: Required[str]
    limit: int
    labels: list[str]


class Contact(pydantic.BaseModel):
    email: str
    primary: bool = False


class Customer(pydantic.BaseModel):
    """A customer of the shop."""

    name: str
    age: int = pydantic.Field(ge=0)
    contacts: list[Contact] = []
    since: datetime.date | None = None


class LaxCustomer(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=False)

    name: str
    age: int


@attrs.define
class Point:
    x: int
    y: int = 0


VALIDATOR = Draft202012Validator


def mcp_tool_validator() -> Any:
    """A validator for the ``Tool`` definition of the newest MCP revision."""
    root = load_schema(max(HANDSHAKE_VERSIONS))
    return Draft202012Validator({"$defs": root["$defs"], "$ref": "#/$defs/Tool"})


def valid_tool(tool: t.Tool) -> dict[str, Any]:
    """``tool`` as sent in ``tools/list``, checked against JSON Schema and the MCP schema."""
    data: dict[str, Any] = t.unstructure(tool)
    Draft202012Validator.check_schema(data["inputSchema"])
    if "outputSchema" in data:
        Draft202012Validator.check_schema(data["outputSchema"])
    errors = list(mcp_tool_validator().iter_errors(data))
    assert not errors, errors[0].message
    return data


def bind_error(fn: Callable[..., Any], arguments: Any) -> str:
    _, binder = input_schema_for(fn, context_types=(Context,))
    with pytest.raises(ArgumentError) as info:
        binder.bind(arguments)
    text = str(info.value)
    assert "\n" not in text and text.startswith("invalid arguments: ")
    return text.removeprefix("invalid arguments: ")


# ---------------------------------------------------------------- dataclasses


def add_item(item: Item) -> None:
    del item


def place(order: Order, priority: int, ctx: Context) -> None:
    del order, priority, ctx


ITEM_SCHEMA = {
    "type": "object",
    "description": "An item of an order.",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "number"},
        "size": {"enum": ["s", "l"], "type": "string", "default": "s"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string", "description": "free text for the packer", "default": ""},
    },
    "required": ["name", "price"],
}


def test_a_single_dataclass_parameter_is_the_whole_arguments_object() -> None:
    schema, binder = input_schema_for(add_item)
    assert schema == ITEM_SCHEMA
    kwargs = binder.bind({"name": "cup", "price": 2, "size": "l", "extra": 1})
    assert kwargs == {"item": Item("cup", 2.0, Size.LARGE)}
    assert type(kwargs["item"].price) is float


@pytest.mark.parametrize(("arguments", "message"), [
    ({"price": 1}, "$.name: required argument missing"),
    ({"name": "cup", "price": "1"}, "$.price: expected number, got string"),
    ({"name": "cup", "price": 1, "tags": ["a", 2]}, "$.tags[1]: expected string, got integer"),
    ({"name": "cup", "price": 1, "size": "m"}, "$.size: expected one of ['s', 'l'], got 'm'"),
])
def test_dataclass_arguments_are_strict(arguments: dict[str, Any], message: str) -> None:
    assert bind_error(add_item, arguments) == message


def test_a_dataclass_nested_in_a_parameter() -> None:
    schema, binder = input_schema_for(place, context_types=(Context,))
    assert schema["required"] == ["order", "priority"]
    order = schema["properties"]["order"]
    assert order["required"] == ["items"]
    assert "counted" not in order["properties"]  # init=False: not an argument
    assert order["properties"]["items"] == {"type": "array", "items": ITEM_SCHEMA}
    kwargs = binder.bind({"order": {"items": [{"name": "a", "price": 1.5}]}, "priority": 1})
    assert kwargs == {"order": Order([Item("a", 1.5)]), "priority": 1}
    assert bind_error(place, {"order": {"items": [{"name": "a", "price": True}]},
                              "priority": 1}) == \
        "$.order.items[0].price: expected number, got boolean"


@dataclasses.dataclass
class Span:
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end before start")


def test_what_a_dataclass_refuses_is_reported_at_its_path() -> None:
    def select(span: Span, text: str) -> None:
        del span, text

    assert bind_error(select, {"span": {"start": 2, "end": 1}, "text": ""}) == \
        "$.span: end before start"


@dataclasses.dataclass
class Dangling:
    where: Missing  # type: ignore[name-defined]  # noqa: F821 - a misspelt or unimported name


def test_a_class_with_unresolvable_annotations_is_named() -> None:
    def use(dangling: Dangling) -> None:
        del dangling

    with pytest.raises(TypeError) as info:
        input_schema_for(use)
    assert str(info.value) == ("parameter 'dangling': cannot resolve the annotations of "
                               "Dangling: name 'Missing' is not defined")


# ---------------------------------------------------------------- TypedDict


def ship(to: Address, filters: Filters | None = None) -> None:
    del to, filters


def search(filters: Filters) -> None:
    del filters


def test_typeddict_required_and_optional_keys() -> None:
    schema, _ = input_schema_for(ship)
    assert schema["required"] == ["to"]
    assert schema["properties"]["to"] == {
        "type": "object",
        "properties": {"street": {"type": "string"},
                       "city": {"type": "string", "description": "the city, in full"},
                       "postcode": {"type": "string"}},
        "required": ["street", "city"]}  # NotRequired in a total TypedDict
    whole, _ = input_schema_for(search)
    assert whole == {"type": "object",
                     "properties": {"query": {"type": "string"}, "limit": {"type": "integer"},
                                    "labels": {"type": "array", "items": {"type": "string"}}},
                     "required": ["query"]}  # Required in a total=False TypedDict


def test_typeddict_binding_gives_a_dict_of_the_declared_keys() -> None:
    _, binder = input_schema_for(search)
    assert binder.bind({"query": "q", "labels": ["x"], "unknown": 1}) == \
        {"filters": {"query": "q", "labels": ["x"]}}
    _, binder = input_schema_for(ship)
    assert binder.bind({"to": {"street": "s", "city": "c"}}) == \
        {"to": {"street": "s", "city": "c"}, "filters": None}


@pytest.mark.parametrize(("fn", "arguments", "message"), [
    (search, {"limit": 1}, "$.query: required argument missing"),
    (search, {"query": "q", "limit": "1"}, "$.limit: expected integer, got string"),
    (ship, {"to": {"street": "s"}}, "$.to.city: required argument missing"),
    (ship, {"to": {"street": "s", "city": "c"}, "filters": {"query": "q", "labels": [1]}},
     "$.filters.labels[0]: expected string, got integer"),
    (ship, {"to": []}, "$.to: expected object, got array"),
])
def test_typeddict_arguments_are_strict(fn: Callable[..., Any], arguments: dict[str, Any],
                                        message: str) -> None:
    assert bind_error(fn, arguments) == message


# ---------------------------------------------------------------- pydantic


def register(customer: Customer) -> None:
    del customer


def greet(who: Customer, times: int = 1) -> None:
    del who, times


def lax(customer: LaxCustomer) -> None:
    del customer


def test_a_pydantic_model_schema_is_its_own_with_definitions_inlined() -> None:
    schema, _ = input_schema_for(register)
    assert schema["type"] == "object" and schema["required"] == ["name", "age"]
    assert schema["description"] == "A customer of the shop."
    assert schema["properties"]["age"]["minimum"] == 0
    assert schema["properties"]["contacts"]["items"]["properties"]["email"]["type"] == "string"
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)
    nested, _ = input_schema_for(greet)
    assert nested["required"] == ["who"]
    assert nested["properties"]["who"] == schema


def test_pydantic_binding_structures_into_the_model() -> None:
    _, binder = input_schema_for(register)
    kwargs = binder.bind({"name": "ann", "age": 30, "contacts": [{"email": "a@x"}],
                          "since": "2024-02-29"})
    assert kwargs == {"customer": Customer(name="ann", age=30, contacts=[Contact(email="a@x")],
                                           since=datetime.date(2024, 2, 29))}
    _, binder = input_schema_for(greet)
    assert binder.bind({"who": {"name": "bo", "age": 2}}) == \
        {"who": Customer(name="bo", age=2), "times": 1}


@pytest.mark.parametrize(("fn", "arguments", "message"), [
    (register, {"name": "ann", "age": "30"}, "$.age: expected integer, got string"),
    (register, {"name": "ann", "age": 30.0}, "$.age: expected integer, got number"),
    (register, {"age": 30}, "$.name: required argument missing"),
    (register, {"name": "ann", "age": -1}, "$.age: Input should be greater than or equal to 0"),
    (register, {"name": "ann", "age": 1, "contacts": [{"email": "a"}, {"email": 2}]},
     "$.contacts[1].email: expected string, got integer"),
    (register, {"name": "ann", "age": 1, "contacts": [{"email": "a", "primary": "yes"}]},
     "$.contacts[0].primary: expected boolean, got string"),
    (greet, {"who": {"name": 1, "age": 1}}, "$.who.name: expected string, got integer"),
    (greet, {"who": "ann"}, "$.who: expected object, got string"),
])
def test_pydantic_arguments_are_strict_with_json_paths(
        fn: Callable[..., Any], arguments: dict[str, Any], message: str) -> None:
    assert bind_error(fn, arguments) == message


def test_a_model_that_asks_for_lax_mode_gets_it() -> None:
    _, binder = input_schema_for(lax)
    assert binder.bind({"name": "ann", "age": "30"}) == \
        {"customer": LaxCustomer(name="ann", age=30)}
    assert bind_error(lax, {"name": "ann", "age": "thirty"}).startswith("$.age: Input should")


@dataclasses.dataclass
class Visit:
    customer: Customer
    where: Address
    at: list[Point]


def test_models_nested_in_other_classes() -> None:
    def visit(v: Visit, note: str) -> None:
        del v, note

    schema, binder = input_schema_for(visit)
    props = schema["properties"]["v"]["properties"]
    assert props["customer"]["required"] == ["name", "age"]
    assert props["where"]["required"] == ["street", "city"]
    assert props["at"]["items"]["required"] == ["x"]
    kwargs = binder.bind({"v": {"customer": {"name": "a", "age": 1},
                                "where": {"street": "s", "city": "c"}, "at": [{"x": 1}]},
                          "note": ""})
    assert kwargs["v"] == Visit(Customer(name="a", age=1), {"street": "s", "city": "c"},
                                [Point(1)])
    assert bind_error(visit, {"v": {"customer": {"name": "a", "age": "1"},
                                    "where": {"street": "s"}, "at": [{"x": 1}, {}]},
                              "note": ""}) == (
        "$.v.customer.age: expected integer, got string; "
        "$.v.where.city: required argument missing; $.v.at[1].x: required argument missing")


class Tags(pydantic.RootModel[list[str]]):
    pass


def test_a_pydantic_root_model_is_a_plain_property() -> None:
    def tag(tags: Tags) -> Tags:
        return tags

    schema, binder = input_schema_for(tag)  # not the whole arguments object: not an object
    assert schema["properties"]["tags"]["type"] == "array"
    assert binder.bind({"tags": ["a"]}) == {"tags": Tags(["a"])}
    assert bind_error(tag, {"tags": ["a", 1]}) == "$.tags[1]: expected string, got integer"
    assert output_schema_for(Tags)["required"] == ["result"]  # type: ignore[index]
    assert structure_output(Tags(["x"]), Tags) == {"result": ["x"]}


def _even(value: int) -> int:
    if value % 2:
        raise ValueError("must be even")
    return value


@dataclasses.dataclass
class Box:
    width: Annotated[int, pydantic.Field(gt=0)]


def sdk_style(
    n: Annotated[int, pydantic.Field(ge=0, le=10, description="how many")],
    name: str = pydantic.Field("x", max_length=3, description="the name"),
    tags: list[str] = pydantic.Field(default_factory=list),  # noqa: B008 - the SDK's style
    even: Annotated[int, pydantic.AfterValidator(_even), "an even number"] = 0,
    box: Box | None = None,
    key: str = pydantic.Field(description="no default: required"),
) -> Annotated[int, pydantic.Field(ge=0)]:
    return n


def test_pydantic_field_metadata_in_plain_parameters() -> None:
    # What users of the official SDK's FastMCP write: pydantic describes and validates these.
    schema, binder = input_schema_for(sdk_style)
    props = schema["properties"]
    assert schema["required"] == ["n", "key"]
    assert props["n"] == {"type": "integer", "minimum": 0, "maximum": 10,
                          "description": "how many"}
    assert props["name"] == {"type": "string", "maxLength": 3, "default": "x",
                             "description": "the name"}
    assert props["even"]["description"] == "an even number"
    assert props["box"]["anyOf"][0]["properties"]["width"] == {"type": "integer",
                                                               "exclusiveMinimum": 0}
    assert props["key"] == {"type": "string", "description": "no default: required"}
    first = binder.bind({"n": 3, "key": "k"})
    assert first == {"n": 3, "name": "x", "tags": [], "even": 0, "box": None, "key": "k"}
    assert binder.bind({"n": 3, "key": "k"})["tags"] is not first["tags"]  # a fresh list
    assert bind_error(sdk_style, {"n": "3", "key": "k"}) == "$.n: expected integer, got string"
    assert bind_error(sdk_style, {"n": 11, "name": "abcd", "even": 3, "box": {"width": 0},
                                  "key": "k"}) == (
        "$.n: Input should be less than or equal to 10; "
        "$.name: String should have at most 3 characters; $.even: Value error, must be even; "
        "$.box.width: Input should be greater than 0")
    assert bind_error(sdk_style, {"n": 1}) == "$.key: required argument missing"
    result = Annotated[int, pydantic.Field(ge=0)]
    assert output_schema_for(result) == {"type": "object", "properties": {
        "result": {"type": "integer", "minimum": 0}}, "required": ["result"]}
    with pytest.raises(TypeError, match=r"\$: Input should be greater than or equal to 0"):
        structure_output(-1, result)


# ---------------------------------------------------------------- results


def test_output_schemas_and_structured_content_of_the_classes() -> None:
    assert output_schema_for(Item) == ITEM_SCHEMA
    assert output_schema_for(Address)["required"] == ["street", "city"]  # type: ignore[index]
    assert output_schema_for(Customer)["required"] == ["name", "age"]  # type: ignore[index]
    assert structure_output(Item("a", 1.0), Item) == {
        "name": "a", "price": 1.0, "size": "s", "tags": [], "note": ""}
    assert structure_output({"street": "s", "city": "c"}, Address) == \
        {"street": "s", "city": "c"}
    assert structure_output(Customer(name="a", age=1, since=datetime.date(2024, 1, 2)),
                            Customer) == {"name": "a", "age": 1, "contacts": [],
                                          "since": "2024-01-02"}
    assert structure_output([Contact(email="e")], list[Contact]) == \
        {"result": [{"email": "e", "primary": False}]}
    with pytest.raises(TypeError, match=r"\$.city: required argument missing"):
        structure_output({"street": "s"}, Address)
    with pytest.raises(TypeError, match=r"\$.price: expected number, got string"):
        structure_output(Item("a", "1"), Item)  # type: ignore[arg-type]


def _shop() -> Server:
    server = Server("shop", "1.0")

    @server.tool()
    def quote(item: Item) -> Item:
        return dataclasses.replace(item, price=item.price * 2)

    @server.tool()
    def address(to: Address) -> Address:
        return {"street": to["street"].upper(), "city": to["city"]}

    @server.tool()
    def customer(c: Customer) -> Customer:
        return c.model_copy(update={"age": c.age + 1})

    @server.tool()
    def contacts(n: int) -> list[Contact]:
        return [Contact(email=f"{i}@x") for i in range(n)]

    @server.tool()
    def broken() -> Customer:
        return {"name": 1}  # type: ignore[return-value]

    return server


async def test_the_classes_as_tool_arguments_and_results_on_the_wire() -> None:
    server = _shop()
    for tool in server.tools:
        valid_tool(tool)
    async with connected(server) as (session, _):
        result = await session.call_tool("quote", {"name": "cup", "price": 2})
        assert result.structured_content == {"name": "cup", "price": 4.0, "size": "s",
                                             "tags": [], "note": ""}
        assert json.loads(result.content[0].text) == result.structured_content  # type: ignore
        result = await session.call_tool("address", {"street": "s", "city": "c"})
        assert result.structured_content == {"street": "S", "city": "c"}
        result = await session.call_tool("customer", {"name": "a", "age": 1})
        assert result.structured_content == {"name": "a", "age": 2, "contacts": [],
                                             "since": None}
        result = await session.call_tool("contacts", {"n": 2})
        assert result.structured_content == {"result": [
            {"email": "0@x", "primary": False}, {"email": "1@x", "primary": False}]}
        assert [json.loads(c.text) for c in result.content] == \
            result.structured_content["result"]  # type: ignore[union-attr]
        result = await session.call_tool("customer", {"name": "a", "age": "1"})
        assert result.is_error is True
        assert result.content == [t.TextContent(
            text="invalid arguments: $.age: expected integer, got string")]
        result = await session.call_tool("broken", {})
        assert result.is_error is True
        assert result.content[0].text.startswith(  # type: ignore[union-attr]
            "broken returned a value that does not match its output schema: $.name: ")


# ---------------------------------------------------------------- sets


def test_sets_of_hashable_items_are_unique_arrays() -> None:
    def label(names: set[str], sizes: frozenset[Size] = frozenset(),
              points: set[int | None] | None = None) -> set[int]:
        del names, sizes, points
        return {3, 1, 2}

    schema, binder = input_schema_for(label)
    assert schema["properties"]["names"] == {"type": "array", "items": {"type": "string"},
                                             "uniqueItems": True}
    assert schema["required"] == ["names"]
    assert binder.bind({"names": ["a", "b"], "sizes": ["s"]}) == \
        {"names": {"a", "b"}, "sizes": frozenset({Size.SMALL}), "points": None}
    assert bind_error(label, {"names": ["a", "b", "a"]}) == "$.names[2]: duplicate item"
    assert bind_error(label, {"names": ["a", 1]}) == "$.names[1]: expected string, got integer"
    assert bind_error(label, {"names": [], "sizes": "s"}) == "$.sizes: expected array, got string"
    assert output_schema_for(set[int]) == {"type": "object", "properties": {"result": {
        "type": "array", "items": {"type": "integer"}, "uniqueItems": True}},
        "required": ["result"]}
    assert structure_output({3, 1, 2}, set[int]) == {"result": [1, 2, 3]}


@attrs.frozen
class Cell:
    row: int
    col: int


@dataclasses.dataclass(frozen=True)
class Pin:
    name: str


def test_sets_of_frozen_classes() -> None:
    def mark(cells: set[Cell], pins: frozenset[Pin]) -> None:
        del cells, pins

    _, binder = input_schema_for(mark)
    assert binder.bind({"cells": [{"row": 1, "col": 2}], "pins": [{"name": "a"}]}) == \
        {"cells": {Cell(1, 2)}, "pins": frozenset({Pin("a")})}
    assert bind_error(mark, {"cells": [{"row": 1, "col": 2}, {"row": 1, "col": 2}],
                             "pins": [{"name": 1}]}) == \
        "$.cells[1]: duplicate item; $.pins[0].name: expected string, got integer"


# ---------------------------------------------------------------- descriptions


def test_annotated_strings_are_descriptions_wherever_they_are() -> None:
    def described(
        city: Annotated[str, "the city"],
        days: Annotated[int, "how many days"] = 3,
        points: list[Annotated[int, "a point"]] | None = None,
        unit: Annotated[Literal["C", "F"], 42, "the unit"] = "C",
    ) -> None:
        del city, days, points, unit

    schema, binder = input_schema_for(described)
    props = schema["properties"]
    assert props["city"] == {"type": "string", "description": "the city"}
    assert props["days"] == {"type": "integer", "description": "how many days", "default": 3}
    assert props["points"]["anyOf"][0]["items"] == {"type": "integer", "description": "a point"}
    assert props["unit"] == {"enum": ["C", "F"], "type": "string", "description": "the unit",
                             "default": "C"}  # other metadata is ignored
    assert schema["required"] == ["city"]
    assert binder.bind({"city": "x", "points": [1]}) == \
        {"city": "x", "days": 3, "points": [1], "unit": "C"}


# ---------------------------------------------------------------- required lists


def test_required_lists_and_every_schema_is_a_valid_tool_schema() -> None:
    def mixed(a: int, b: int | None, c: Item | None, d: str = "x", e: Filters | None = None,
              *, f: bool, g: Customer | None = None) -> None:
        del a, b, c, d, e, f, g

    server = Server("s", "1.0")
    for fn in (mixed, add_item, place, ship, search, register, greet, lax):
        server.add_tool(fn)
    tools = {tool.name: valid_tool(tool) for tool in server.tools}
    assert len(tools) == 8
    schema = tools["mixed"]["inputSchema"]
    assert schema["required"] == ["a", "b", "c", "f"]  # Optional without default: nullable
    assert schema["properties"]["b"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert schema["properties"]["c"]["anyOf"][1] == {"type": "null"}
    assert schema["properties"]["g"]["default"] is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "price", "tags", "query", "limit", "email", "age", "x"]),
        inner, max_size=4),
    max_leaves=8,
)


def tagged(tags: set[str], limit: int = 1) -> None:
    del tags, limit


def _candidates() -> st.SearchStrategy[dict[str, Any]]:
    """Argument objects near the valid ones: a valid one with one key replaced or dropped."""
    valid = [{"name": "a", "price": 1.5, "tags": ["t", "u"]}, {"query": "q", "limit": 2},
             {"name": "a", "age": 3, "contacts": [{"email": "e"}]}]
    keys = st.sampled_from(["name", "price", "tags", "query", "limit", "age", "contacts"])
    return st.one_of(
        st.tuples(st.sampled_from(valid), keys, json_values).map(
            lambda v: {**v[0], v[1]: v[2]}),
        st.tuples(st.sampled_from(valid), keys).map(
            lambda v: {k: x for k, x in v[0].items() if k != v[1]}),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_candidates())
def test_binding_accepts_exactly_what_the_schema_accepts(arguments: dict[str, Any]) -> None:
    # No integral floats in the values: JSON Schema counts 1.0 as an integer, we do not.
    for fn in (add_item, search, register, tagged):
        schema, binder = input_schema_for(fn)
        schema_ok = VALIDATOR(schema).is_valid(arguments)
        try:
            binder.bind(arguments)
        except ArgumentError:
            bound = False
        else:
            bound = True
        assert bound == schema_ok, (fn.__name__, arguments)


# ---------------------------------------------------------------- what cannot be described


class Frame:
    """An arbitrary class: no JSON Schema for it."""


@pytest.mark.parametrize(("annotation", "name"), [
    (Frame, "Frame"),
    (Callable[[int], int], "Callable[[int], int]"),
    (set[list[int]], "set[list[int]]"),
    (frozenset[Item], "frozenset[Item]"),  # a dataclass that is not frozen is unhashable
    (datetime.datetime, "datetime"),
    (list[Frame], "Frame"),
    (dict[int, str], "dict[int, str]"),
])
def test_an_undescribable_parameter_is_named(annotation: Any, name: str) -> None:
    def tool(y: Any) -> None:
        del y

    tool.__annotations__ = {"y": annotation}
    with pytest.raises(TypeError) as info:
        input_schema_for(tool)
    assert str(info.value).startswith(f"parameter 'y': cannot describe type {name} as JSON "
                                      "Schema")


def _bad_tool(y: Frame) -> None:
    del y


def _bad_field(order: Order, when: Annotated[Item, "x"]) -> None:
    del order, when


@dataclasses.dataclass
class Booking:
    when: datetime.datetime


def _bad_nested(booking: Booking) -> None:
    del booking


def _undefined(y: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
    del y


@pytest.mark.parametrize(("fn", "message"), [
    (_bad_tool, "tool '_bad_tool': parameter 'y': cannot describe type Frame as JSON Schema"),
    (_bad_nested, "tool '_bad_nested': parameter 'booking': field 'when': cannot describe "
                  "type datetime as JSON Schema"),
    (_undefined, "tool '_undefined': cannot resolve the annotations: name 'NoSuchType' is "
                 "not defined"),
])
def test_a_strict_server_raises_for_an_undescribable_tool(
        fn: Callable[..., Any], message: str) -> None:
    server = Server("s", "1.0", strict=True)
    with pytest.raises(ToolDefinitionError) as info:
        server.add_tool(fn)
    assert str(info.value) == message
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert server.tools == []
    with pytest.raises(ToolDefinitionError, match="structured_output needs a return"):
        server.add_tool(lambda: None, "nothing", structured_output=True)


async def test_by_default_an_undescribable_tool_is_left_out_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    server = Server("s", "1.0")

    @server.tool()
    def good(a: int) -> int:
        return a

    with caplog.at_level(logging.WARNING, logger="trio_mcp.server"):
        decorated = server.tool()(_bad_tool)
        assert server.add_tool(_bad_nested) is None

    @server.tool()
    def also_good(item: Item) -> str:
        return item.name

    assert decorated is _bad_tool  # the decorator still hands the function back
    assert [tool.name for tool in server.tools] == ["good", "also_good"]
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("trio_mcp.server", "WARNING", "tool '_bad_tool': parameter 'y': cannot describe type "
         "Frame as JSON Schema; the tool is not registered"),
        ("trio_mcp.server", "WARNING", "tool '_bad_nested': parameter 'booking': field 'when': "
         "cannot describe type datetime as JSON Schema; the tool is not registered")]
    async with connected(server) as (session, _):
        listed = await session.list_tools()
        assert [tool.name for tool in listed.tools] == ["good", "also_good"]
        result = await session.call_tool("also_good", {"name": "n", "price": 1})
        assert result.content == [t.TextContent(text="n")]


def test_serve_still_serves_the_other_tools(tmp_path: Path) -> None:
    script = tmp_path / "shop.py"
    script.write_text(textwrap.dedent('''
        from trio_adapter import Server

        class Frame:
            pass

        server = Server("shop", "1.0")

        @server.tool()
        def good(a: int) -> int:
            return a

        @server.tool()
        def plot(data: Frame) -> str:
            return "never"
    '''))
    root = Path(__file__).resolve().parents[2]
    serve = [sys.executable, "-m", "trio_adapter", "serve", str(script), "--stdio"]
    proc = subprocess.run(serve, cwd=root, input="", capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "tool 'plot': parameter 'data': cannot describe type Frame as JSON Schema; the tool "
        "is not registered"]
    proc = subprocess.run([sys.executable, "-m", "trio_adapter", "call", "good", '{"a": 5}',
                           "--", *serve], cwd=root, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "5"


def test_pydantic_is_never_imported_by_trio_mcp() -> None:
    code = textwrap.dedent('''
        import dataclasses, sys
        from trio_adapter import Server

        @dataclasses.dataclass
        class Item:
            name: str

        server = Server("s", "1.0")

        @server.tool()
        def add(item: Item, n: int = 1) -> Item:
            return item

        assert [tool.name for tool in server.tools] == ["add"]
        assert "pydantic" not in sys.modules, "pydantic was imported"
    ''')
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_parameter_descriptions_from_a_google_style_docstring() -> None:
    def forecast(city: str, days: int = 3, unit: Annotated[str, "C or F"] = "C",
                 ctx: Context | None = None) -> None:
        """Tomorrow's weather.

        Args:
            city: the city, in full,
                with its country.
            days (int): how many days.
            unit: not this one: the Annotated text wins.
            ctx: the request context.

        Returns:
            nothing: a doc example.
        """
        del city, days, unit, ctx

    schema, _ = input_schema_for(forecast, context_types=(Context,))
    props = schema["properties"]
    assert props["city"] == {"type": "string",
                             "description": "the city, in full, with its country."}
    assert props["days"] == {"type": "integer", "default": 3, "description": "how many days."}
    assert props["unit"]["description"] == "C or F"
    assert "ctx" not in props and "nothing" not in props
