"""Tool schemas from annotations, strict argument binding, URI templates and cursors."""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from trio_adapter import Context
from trio_adapter._pagination import decode_cursor, encode_cursor, paginate
from trio_adapter._schema import (
    ArgumentError,
    input_schema_for,
    json_schema,
    output_schema_for,
    structure_output,
)
from trio_adapter._uritemplate import UriTemplate


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen
class Point:
    """A point."""

    x: int
    y: int = 0


@attrs.frozen
class Shape:
    name: str
    points: list[Point]
    color: Color = Color.RED


async def everything(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list[str],
    weights: dict[str, float],
    pair: tuple[int, str],
    mode: Literal["fast", "slow"],
    color: Color,
    where: Point,
    note: Annotated[str, "a note for the log"] = "",
    maybe: int | None = None,
    anything: Any = None,
    ctx: Context | None = None,
) -> None:
    return None


def test_input_schema_from_annotations_is_valid_json_schema() -> None:
    schema, binder = input_schema_for(everything, context_types=(Context,))
    Draft202012Validator.check_schema(schema)
    props = schema["properties"]
    assert schema["required"] == ["text", "count", "ratio", "flag", "tags", "weights", "pair",
                                  "mode", "color", "where"]
    assert props["count"] == {"type": "integer"}
    assert props["ratio"] == {"type": "number"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["weights"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["mode"] == {"enum": ["fast", "slow"], "type": "string"}
    assert props["color"] == {"enum": ["red", "blue"], "type": "string"}
    assert props["where"]["required"] == ["x"]
    assert props["note"] == {"type": "string", "description": "a note for the log",
                             "default": ""}
    assert props["maybe"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert props["anything"] == {"default": None}
    assert "ctx" not in props
    assert binder.context_param == "ctx"


GOOD = {"text": "t", "count": 2, "ratio": 1, "flag": True, "tags": ["a"],
        "weights": {"w": 0.5}, "pair": [1, "x"], "mode": "fast", "color": "blue",
        "where": {"x": 1}}


def test_binder_structures_valid_arguments() -> None:
    _, binder = input_schema_for(everything, context_types=(Context,))
    kwargs = binder.bind({**GOOD, "unknown": "ignored"})
    assert kwargs["ratio"] == 1.0 and isinstance(kwargs["ratio"], float)
    assert kwargs["pair"] == (1, "x")
    assert kwargs["color"] is Color.BLUE
    assert kwargs["where"] == Point(1, 0)
    assert kwargs["note"] == "" and kwargs["maybe"] is None
    assert "unknown" not in kwargs and "ctx" not in kwargs


@pytest.mark.parametrize(("change", "message"), [
    ({"count": "2"}, "$.count: expected integer, got string"),
    ({"count": True}, "$.count: expected integer, got boolean"),
    ({"count": 2.5}, "$.count: expected integer, got number"),
    ({"text": 1}, "$.text: expected string, got integer"),
    ({"flag": "false"}, "$.flag: expected boolean, got string"),
    ({"ratio": "1.5"}, "$.ratio: expected number, got string"),
    ({"tags": "abc"}, "$.tags: expected array, got string"),
    ({"tags": ["a", 1]}, "$.tags[1]: expected string, got integer"),
    ({"mode": "medium"}, "$.mode: expected one of ['fast', 'slow']"),
    ({"color": "green"}, "$.color: expected one of ['red', 'blue']"),
    ({"where": {"y": 1}}, "$.where.x: required argument missing"),
    ({"where": {"x": "1"}}, "$.where.x: expected integer, got string"),
    ({"maybe": "3"}, "$.maybe: expected integer or null, got string"),
])
def test_binder_refuses_with_the_json_path(change: dict[str, Any], message: str) -> None:
    _, binder = input_schema_for(everything, context_types=(Context,))
    with pytest.raises(ArgumentError) as info:
        binder.bind({**GOOD, **change})
    text = str(info.value)
    assert text.startswith("invalid arguments: ")
    assert message in text
    assert "\n" not in text


def test_binder_reports_missing_required_arguments() -> None:
    _, binder = input_schema_for(everything, context_types=(Context,))
    with pytest.raises(ArgumentError, match=r"\$.count: required argument missing"):
        binder.bind({k: v for k, v in GOOD.items() if k != "count"})
    with pytest.raises(ArgumentError, match=r"\$: expected object, got array"):
        binder.bind([1])  # type: ignore[arg-type]


def test_a_single_attrs_parameter_is_the_whole_arguments_object() -> None:
    async def draw(shape: Shape, ctx: Context) -> None:
        return None

    schema, binder = input_schema_for(draw, context_types=(Context,))
    assert schema["required"] == ["name", "points"]
    assert schema["properties"]["color"] == {"enum": ["red", "blue"], "type": "string",
                                             "default": "red"}
    kwargs = binder.bind({"name": "tri", "points": [{"x": 1, "y": 2}]})
    assert kwargs == {"shape": Shape("tri", [Point(1, 2)])}
    with pytest.raises(ArgumentError, match=r"\$.points\[0\].x: expected integer"):
        binder.bind({"name": "tri", "points": [{"x": "1"}]})


def test_unsupported_annotations_fail_at_registration() -> None:


    async def when(at: datetime.datetime) -> None:
        return None

    with pytest.raises(TypeError, match="parameter 'at'"):
        input_schema_for(when)

    async def variadic(*args: int) -> None:
        return None

    with pytest.raises(TypeError, match="plain or keyword-only"):
        input_schema_for(variadic)

    with pytest.raises(TypeError, match="dict"):
        json_schema(dict[int, str])


def test_output_schemas() -> None:
    assert output_schema_for(None) is None
    assert output_schema_for(Any) is None
    assert output_schema_for(Point)["required"] == ["x"]  # type: ignore[index]
    assert output_schema_for(int) == {"type": "object", "properties": {
        "result": {"type": "integer"}}, "required": ["result"]}
    assert output_schema_for(dict[str, int]) == {"type": "object",
                                                 "additionalProperties": {"type": "integer"}}

    class Block:
        pass

    assert output_schema_for(Block, content_types=(Block,)) is None
    assert output_schema_for(list[Block], content_types=(Block,)) is None


def test_structure_output() -> None:
    assert structure_output(Point(1, 2), Point) == {"x": 1, "y": 2}
    assert structure_output(3, int) == {"result": 3}
    assert structure_output([Point(1)], list[Point]) == {"result": [{"x": 1, "y": 0}]}
    assert structure_output({"a": 1}, dict[str, int]) == {"a": 1}
    with pytest.raises(TypeError, match="expected integer"):
        structure_output("3", int)


@given(st.lists(st.integers(), max_size=5), st.text(max_size=5))
def test_structured_values_validate_against_their_schema(xs: list[int], name: str) -> None:
    value = Shape(name, [Point(x) for x in xs])
    Draft202012Validator(output_schema_for(Shape)).validate(structure_output(value, Shape))
    Draft202012Validator(output_schema_for(list[int])).validate(
        structure_output(xs, list[int]))


# ---------------------------------------------------------------- URI templates


def test_uri_template_expand_and_match() -> None:
    tpl = UriTemplate("file:///logs/{day}/{name}.txt")
    assert tpl.variables == ("day", "name")
    assert tpl.expand(day="2026-11-24", name="a b/c") == "file:///logs/2026-11-24/a%20b%2Fc.txt"
    assert tpl.match("file:///logs/2026-11-24/a%20b%2Fc.txt") == {"day": "2026-11-24",
                                                                 "name": "a b/c"}
    assert tpl.match("file:///logs/2026-11-24/x/y.txt") is None
    assert tpl.match("file:///logs//x.txt") is None
    assert tpl.match("file:///logs/d/x.txt?q") is None


@pytest.mark.parametrize("bad", ["a{b", "a}b", "{}", "{+x}", "{#x}", "{x*}", "{x:3}", "{x,y}",
                                 "{x}{x}", "{a b}"])
def test_uri_template_refuses_non_level_1(bad: str) -> None:
    with pytest.raises(ValueError):
        UriTemplate(bad)


@given(st.text(min_size=1), st.text(min_size=1))
def test_uri_template_round_trip(a: str, b: str) -> None:
    tpl = UriTemplate("x://{a}/{b}")
    assert tpl.match(tpl.expand(a=a, b=b)) == {"a": a, "b": b}


# ---------------------------------------------------------------- cursors


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["tools/list", "prompts/list"]))
def test_cursor_round_trip(offset: int, key: str) -> None:
    assert decode_cursor(encode_cursor(offset, key), key) == offset


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", "bm90IGpzb24", "x" * 300])
def test_garbage_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError):
        decode_cursor(cursor, "tools/list")


def test_a_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(ValueError, match="another list"):
        decode_cursor(encode_cursor(2, "tools/list"), "resources/list")


def test_paginate() -> None:
    items = list(range(5))
    page, cursor = paginate(items, None, 2, "k")
    assert page == [0, 1]
    pages = [page]
    while cursor is not None:
        page, cursor = paginate(items, cursor, 2, "k")
        pages.append(page)
    assert pages == [[0, 1], [2, 3], [4]]
    assert paginate([], None, 2, "k") == ([], None)
    with pytest.raises(ValueError):
        paginate(items, encode_cursor(9, "k"), 2, "k")
