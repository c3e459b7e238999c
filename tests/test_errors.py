"""Error codes and the exception hierarchy."""

from __future__ import annotations

import pytest

from sansio import ErrorCode, LocalProtocolError, ProtocolError, RemoteProtocolError
from tests.conftest import load_schema

# Where each code is fixed by the specification's own schema.
SPEC_CODES = {
    ("2026-07-28", "ParseError"): ErrorCode.PARSE_ERROR,
    ("2026-07-28", "InvalidRequestError"): ErrorCode.INVALID_REQUEST,
    ("2026-07-28", "MethodNotFoundError"): ErrorCode.METHOD_NOT_FOUND,
    ("2026-07-28", "InvalidParamsError"): ErrorCode.INVALID_PARAMS,
    ("2026-07-28", "InternalError"): ErrorCode.INTERNAL_ERROR,
    ("2026-07-28", "HeaderMismatchError"): ErrorCode.HEADER_MISMATCH,
    ("2026-07-28", "MissingRequiredClientCapabilityError"):
        ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY,
    ("2026-07-28", "UnsupportedProtocolVersionError"): ErrorCode.UNSUPPORTED_PROTOCOL_VERSION,
    ("2025-11-25", "URLElicitationRequiredError"): ErrorCode.URL_ELICITATION_REQUIRED,
}


def _const_code(node: object) -> int | None:
    if isinstance(node, dict):
        code = node.get("properties", {}).get("code", {}) if "properties" in node else {}
        if isinstance(code, dict) and isinstance(code.get("const"), int):
            return code["const"]  # type: ignore[no-any-return]
        for value in node.values():
            found = _const_code(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _const_code(value)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize(("where", "code"), SPEC_CODES.items(), ids=lambda v: str(v))
def test_error_codes_match_the_spec(where: tuple[str, str], code: ErrorCode,
                                    schema_dir: object) -> None:
    revision, name = where
    assert _const_code(load_schema(revision)["$defs"][name]) == code


def test_resource_not_found_code() -> None:
    # resources.mdx (2024-11-05 .. 2025-11-25): "Resource not found: -32002".
    assert ErrorCode.RESOURCE_NOT_FOUND == -32002


def test_every_code_is_covered() -> None:
    # SERVER_BUSY is this engine's own, in JSON-RPC's implementation-defined server range.
    assert set(ErrorCode) == {*SPEC_CODES.values(), ErrorCode.RESOURCE_NOT_FOUND,
                              ErrorCode.SERVER_BUSY}
    assert -32099 <= ErrorCode.SERVER_BUSY <= -32000
    assert ErrorCode.SERVER_BUSY not in SPEC_CODES.values()


def test_describe() -> None:
    assert ErrorCode.describe(-32601) == "METHOD_NOT_FOUND"
    assert ErrorCode.describe(-1) == "error -1"


def test_hierarchy() -> None:
    assert issubclass(LocalProtocolError, ProtocolError)
    assert issubclass(RemoteProtocolError, ProtocolError)
    with pytest.raises(TypeError):
        ProtocolError("abstract")
    exc = RemoteProtocolError("bad", ErrorCode.PARSE_ERROR, response_hint=b"x\n", fatal=True)
    assert exc.code is ErrorCode.PARSE_ERROR and exc.fatal and exc.response_hint == b"x\n"
    assert exc.message == "bad"
