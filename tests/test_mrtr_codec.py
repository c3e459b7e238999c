"""The requestState codec (sansio/mrtr.py): what a server relies on when it seals its state into
an ``InputRequiredResult`` and opens it on the client's retry (MCP 2026-07-28, mrtr)."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio import ErrorCode
from sansio.mrtr import (
    INVALID_REQUEST_STATE_MESSAGE,
    HmacRequestStateCodec,
    RejectReason,
    RequestStateCodec,
    RequestStateError,
    canonical_json,
    params_digest,
    salient_params,
)
from tests.conftest import load_schema

REVISION = "2026-07-28"
KEY_A = ("2026-a", bytes(range(32)))
KEY_B = ("2026-b", bytes(range(100, 148)))
CALL = {"name": "deploy", "arguments": {"env": "prod", "replicas": 3}}
META = {"io.modelcontextprotocol/protocolVersion": REVISION,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}


def counter_random() -> Callable[[int], bytes]:
    """A deterministic stand-in for ``secrets.token_bytes``: a fresh value on every call."""
    state = {"n": 0}

    def random(n: int) -> bytes:
        state["n"] += 1
        return hashlib.sha256(state["n"].to_bytes(8, "big")).digest()[:n]

    return random


def seal(codec: HmacRequestStateCodec, payload: Any = None, **kw: Any) -> str:
    args: dict[str, Any] = {"method": "tools/call", "params": CALL, "principal": "alice",
                            "now": 1000.0, "random": counter_random()}
    args.update(kw)
    return codec.seal(payload, **args)


def open_(codec: HmacRequestStateCodec, token: str, **kw: Any) -> Any:
    args: dict[str, Any] = {"method": "tools/call", "params": CALL, "principal": "alice",
                            "now": 1000.0}
    args.update(kw)
    return codec.open(token, **args)


def refusal(codec: HmacRequestStateCodec, token: Any, **kw: Any) -> RequestStateError:
    with pytest.raises(RequestStateError) as info:
        open_(codec, token, **kw)
    return info.value


_validators: dict[str, Any] = {}


def assert_valid(definition: str, value: Any) -> None:
    if definition not in _validators:
        root = load_schema(REVISION)
        schema = {"$schema": root["$schema"], "$defs": root["$defs"],
                  "$ref": f"#/$defs/{definition}"}
        _validators[definition] = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(_validators[definition].iter_errors(value))
    assert error is None, f"{definition}: {value!r}: {error.message} at {error.json_path}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
payloads = json_values | st.binary(max_size=200)


# -- round trip --------------------------------------------------------------------------------


@given(payload=payloads)
@settings(max_examples=200, deadline=None)
def test_open_gives_back_what_was_sealed(payload: Any) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    opened = open_(codec, seal(codec, payload))
    assert opened == payload
    assert type(opened) is type(payload)


def test_the_token_is_url_safe_versioned_and_unique_per_seal() -> None:
    codec = HmacRequestStateCodec([KEY_A])
    random = counter_random()
    first = seal(codec, {"step": 1}, random=random)
    second = seal(codec, {"step": 1}, random=random)
    assert first.startswith("mrtr1.")
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert first != second  # a fresh nonce each time: a server can record tokens for single use


def test_a_dict_comes_back_equal_whatever_its_key_order() -> None:
    codec = HmacRequestStateCodec([KEY_A])
    assert open_(codec, seal(codec, {"b": 1, "a": [True, None, 1.5]})) == {"a": [True, None, 1.5],
                                                                          "b": 1}


@pytest.mark.parametrize("payload", [float("nan"), [float("inf")], (1, 2), {1: "x"}, {"s": {1}},
                                     object()])
def test_seal_refuses_what_json_would_not_give_back(payload: Any) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    with pytest.raises(ValueError, match="payload"):
        seal(codec, payload)


# -- tampering ---------------------------------------------------------------------------------


@given(data=st.data(), payload=payloads)
@settings(max_examples=300, deadline=None)
def test_any_single_character_change_is_refused(data: st.DataObject, payload: Any) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    token = seal(codec, payload)
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00é"
    char = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[index]), label="char")
    changed = token[:index] + char + token[index + 1:]
    refusal(codec, changed)


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_any_single_byte_change_of_the_decoded_state_is_refused(data: st.DataObject) -> None:
    codec = HmacRequestStateCodec([KEY_A, KEY_B])
    token = seal(codec, data.draw(payloads, label="payload"))
    raw = bytearray(base64.urlsafe_b64decode(token[6:] + "=" * (-len(token[6:]) % 4)))
    index = data.draw(st.integers(0, len(raw) - 1), label="index")
    raw[index] ^= data.draw(st.integers(1, 255), label="xor")
    changed = "mrtr1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    refusal(codec, changed)


def test_truncation_and_extension_are_refused() -> None:
    codec = HmacRequestStateCodec([KEY_A])
    token = seal(codec, {"step": 1})
    for bad in (token[:-1], token[:-4], token + "A", token + "AAAA", "mrtr1.", "mrtr1.AA"):
        assert refusal(codec, bad).reason in (RejectReason.MALFORMED, RejectReason.TAMPERED)


def test_a_state_sealed_with_another_secret_under_the_same_key_id_is_tampered() -> None:
    ours = HmacRequestStateCodec([KEY_A])
    forged = seal(HmacRequestStateCodec([(KEY_A[0], b"\xff" * 32)]), {"admin": True})
    assert refusal(ours, forged).reason is RejectReason.TAMPERED


@pytest.mark.parametrize(("token", "reason"), [
    (42, RejectReason.NOT_A_STRING),
    (None, RejectReason.NOT_A_STRING),
    ("", RejectReason.UNKNOWN_VERSION),
    ("mrtr2.AAAA", RejectReason.UNKNOWN_VERSION),
    ("eyJhbGciOiJIUzI1NiJ9.e30.sig", RejectReason.UNKNOWN_VERSION),
    ("mrtr1.not base64!", RejectReason.MALFORMED),
    ("mrtr1.A", RejectReason.MALFORMED),
])
def test_garbage_is_refused_with_its_reason(token: Any, reason: RejectReason) -> None:
    assert refusal(HmacRequestStateCodec([KEY_A]), token).reason is reason


# -- size bound --------------------------------------------------------------------------------


def test_seal_over_the_maximum_is_a_clear_error() -> None:
    codec = HmacRequestStateCodec([KEY_A], max_size=512)
    seal(codec, "x" * 200)
    with pytest.raises(ValueError, match=r"would be \d+ characters, over the maximum of 512"):
        seal(codec, "x" * 400)


def test_open_over_the_maximum_is_refused_before_decoding() -> None:
    big = HmacRequestStateCodec([KEY_A], max_size=4096)
    small = HmacRequestStateCodec([KEY_A], max_size=512)
    token = seal(big, "x" * 1000)
    assert open_(big, token) == "x" * 1000
    error = refusal(small, token)
    assert error.reason is RejectReason.TOO_LARGE
    # Not even the version prefix is looked at past the bound.
    assert refusal(small, "?" * 513).reason is RejectReason.TOO_LARGE
    assert refusal(small, "?" * 512).reason is RejectReason.UNKNOWN_VERSION


# -- expiry ------------------------------------------------------------------------------------


@given(now=st.floats(-1e12, 1e12), ttl=st.floats(1e-3, 1e7))
@settings(max_examples=200, deadline=None)
def test_the_expiry_boundary_is_exact(now: float, ttl: float) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    token = seal(codec, "s", now=now, ttl=ttl)
    expires_at = now + ttl
    assert open_(codec, token, now=math.nextafter(expires_at, -math.inf)) == "s"
    assert refusal(codec, token, now=expires_at).reason is RejectReason.EXPIRED
    assert refusal(codec, token, now=expires_at + 1).reason is RejectReason.EXPIRED


def test_the_default_ttl_applies_and_integer_times_work() -> None:
    codec = HmacRequestStateCodec([KEY_A], default_ttl=60)
    token = seal(codec, "s", now=1000)
    assert open_(codec, token, now=1059) == "s"
    assert refusal(codec, token, now=1060).reason is RejectReason.EXPIRED


@pytest.mark.parametrize("kw", [{"ttl": 0}, {"ttl": -1}, {"ttl": math.inf}, {"now": math.nan}])
def test_seal_refuses_bad_times(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="now|ttl"):
        seal(HmacRequestStateCodec([KEY_A]), "s", **kw)


def test_open_with_a_bad_clock_is_a_caller_error_not_a_refusal() -> None:
    codec = HmacRequestStateCodec([KEY_A])
    with pytest.raises(ValueError, match="now"):
        open_(codec, seal(codec, "s"), now=math.nan)


# -- key ring ----------------------------------------------------------------------------------


def test_key_rotation_old_key_still_opens_new_key_seals() -> None:
    before = HmacRequestStateCodec([KEY_A])
    old_token = seal(before, {"step": 1})
    after = HmacRequestStateCodec([KEY_B, KEY_A])
    assert after.key_ids == ("2026-b", "2026-a")
    assert open_(after, old_token) == {"step": 1}
    new_token = seal(after, {"step": 2})
    assert open_(after, new_token) == {"step": 2}
    # The new token is sealed with the new key: a server that has only the old one cannot open it.
    error = refusal(before, new_token)
    assert error.reason is RejectReason.UNKNOWN_KEY
    assert "'2026-b'" in str(error)
    # Once the old key is dropped, its states stop opening.
    assert refusal(HmacRequestStateCodec([KEY_B]), old_token).reason is RejectReason.UNKNOWN_KEY


@pytest.mark.parametrize(("keys", "match"), [
    ([], "at least one key"),
    ([("k", b"short")], "at least 32 bytes"),
    ([("k", "x" * 32)], "at least 32 bytes"),
    ([("", bytes(32))], "key id"),
    ([("has space", bytes(32))], "key id"),
    ([("k" * 65, bytes(32))], "key id"),
    ([("k", bytes(32)), ("k", bytes(range(32)))], "appears twice"),
])
def test_the_key_ring_is_checked(keys: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        HmacRequestStateCodec(keys)


@pytest.mark.parametrize("kw", [{"default_ttl": 0}, {"max_size": 100}, {"max_size": 1000.0}])
def test_the_codec_settings_are_checked(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="default_ttl|max_size"):
        HmacRequestStateCodec([KEY_A], **kw)


# -- binding to the request --------------------------------------------------------------------


binding_values = st.fixed_dictionaries({
    "method": st.sampled_from(["tools/call", "prompts/get", "resources/read", "x/custom"]),
    "params": st.fixed_dictionaries({
        "name": st.sampled_from(["a", "b"]),
        "uri": st.sampled_from(["file:///a", "file:///b"]),
        "arguments": st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 2), max_size=2),
    }),
    "principal": st.none() | st.sampled_from(["alice", "bob", ""]),
})


@given(sealed_for=binding_values, opened_for=binding_values)
@settings(max_examples=300, deadline=None)
def test_a_state_opens_only_for_the_request_it_was_sealed_for(
        sealed_for: dict[str, Any], opened_for: dict[str, Any]) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    token = seal(codec, "s", **sealed_for)
    same = (sealed_for["method"] == opened_for["method"]
            and params_digest(sealed_for["method"], sealed_for["params"])
            == params_digest(opened_for["method"], opened_for["params"])
            and sealed_for["principal"] == opened_for["principal"])
    if same:
        assert open_(codec, token, **opened_for) == "s"
    else:
        reason = refusal(codec, token, **opened_for).reason
        assert reason in (RejectReason.WRONG_METHOD, RejectReason.WRONG_PARAMS,
                          RejectReason.WRONG_PRINCIPAL)


@pytest.mark.parametrize(("kw", "reason"), [
    ({"method": "prompts/get"}, RejectReason.WRONG_METHOD),
    ({"params": {"name": "deploy", "arguments": {"env": "dev", "replicas": 3}}},
     RejectReason.WRONG_PARAMS),
    ({"params": {"name": "destroy", "arguments": CALL["arguments"]}}, RejectReason.WRONG_PARAMS),
    ({"principal": "mallory"}, RejectReason.WRONG_PRINCIPAL),
    ({"principal": None}, RejectReason.WRONG_PRINCIPAL),
])
def test_a_foreign_state_says_what_differs(kw: dict[str, Any], reason: RejectReason) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    assert refusal(codec, seal(codec, "s"), **kw).reason is reason


def test_the_retry_opens_the_state_though_meta_and_input_responses_differ() -> None:
    codec = HmacRequestStateCodec([KEY_A])
    token = seal(codec, {"step": 1}, params={**CALL, "_meta": META})
    retry = {"_meta": {**META, "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "2"}},
             "name": "deploy", "arguments": {"replicas": 3, "env": "prod"},
             "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}},
             "requestState": token}
    assert_valid("CallToolRequestParams", retry)
    assert open_(codec, token, params=retry) == {"step": 1}


def test_salient_params_per_method() -> None:
    assert salient_params("tools/call", {"name": "t", "_meta": {}, "requestState": "x"}) == \
        {"name": "t", "arguments": {}}
    assert salient_params("prompts/get", {"name": "p", "arguments": {"a": "1"}}) == \
        {"name": "p", "arguments": {"a": "1"}}
    assert salient_params("resources/read", {"uri": "file:///x", "_meta": {}}) == \
        {"uri": "file:///x"}
    assert salient_params("x/custom", {"a": 1, "_meta": {}, "inputResponses": {}}) == {"a": 1}
    assert salient_params("tools/call", None) == {"name": None, "arguments": {}}
    # Absent and null arguments are the same call.
    assert params_digest("tools/call", {"name": "t"}) == \
        params_digest("tools/call", {"name": "t", "arguments": None})
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


# -- what the client gets ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(RejectReason))
def test_every_refusal_gives_the_client_the_same_generic_invalid_params(
        reason: RejectReason) -> None:
    error = RequestStateError(reason, "key id 'x'")
    assert reason.value in str(error)
    wire = error.error_object().to_json()
    assert wire == {"code": -32602, "message": INVALID_REQUEST_STATE_MESSAGE}
    assert wire["code"] == ErrorCode.INVALID_PARAMS
    assert reason.value not in wire["message"] and "key" not in wire["message"]
    assert_valid("JSONRPCErrorResponse", {"jsonrpc": "2.0", "id": 2, "error": wire})
    assert_valid("InvalidParamsError", wire)


def test_the_sealed_state_fits_an_input_required_result() -> None:
    codec = HmacRequestStateCodec([KEY_A])
    token = seal(codec, {"step": 1}, params={**CALL, "_meta": META})
    result = {"resultType": "input_required", "requestState": token, "inputRequests": {
        "confirm": {"method": "elicitation/create", "params": {
            "mode": "form", "message": "Deploy to prod?",
            "requestedSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}
    assert_valid("InputRequiredResult", result)
    assert_valid("JSONRPCResultResponse", {"jsonrpc": "2.0", "id": 1, "result": result})


def test_the_hmac_codec_is_a_request_state_codec() -> None:
    codec: RequestStateCodec = HmacRequestStateCodec([KEY_A])
    token = codec.seal(b"\x00raw", method="resources/read", params={"uri": "file:///a"},
                       principal=None, now=0, random=counter_random())
    assert codec.open(token, method="resources/read", params={"uri": "file:///a"},
                      principal=None, now=1) == b"\x00raw"


def test_a_short_random_source_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="random"):
        seal(HmacRequestStateCodec([KEY_A]), "s", random=lambda n: b"\x00" * (n - 1))


@given(tail=st.text(max_size=300) | st.binary(max_size=200).map(
    lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()))
@settings(max_examples=300, deadline=None)
def test_open_of_anything_raises_only_request_state_error(tail: str) -> None:
    codec = HmacRequestStateCodec([KEY_A])
    for token in (tail, "mrtr1." + tail):
        refusal(codec, token)
