"""RFC 6570 URI templates, level 1 (simple string expansion, ``{var}``), both ways.

Level 1 expansion percent-encodes every character outside the unreserved set
(``A-Z a-z 0-9 - . _ ~``), so an expanded value never contains a literal ``/``, ``?`` or ``{``.
Matching is the inverse: each variable matches a non-empty run of characters other than
``/``, ``?`` and ``#``, which is then percent-decoded.

Spec: https://www.rfc-editor.org/rfc/rfc6570#section-3.2.2
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["UriTemplate"]

_EXPR = re.compile(r"\{([^{}]*)\}")
_VARNAME = re.compile(r"^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*$")


class UriTemplate:
    """A level-1 URI template such as ``file:///logs/{day}/{name}``.

    Args:
        template: the template text.

    Raises:
        ValueError: unbalanced braces, an empty or invalid variable name, an operator or a
            modifier (levels 2-4: ``{+x}``, ``{#x}``, ``{x*}``, ``{x:3}``, ``{x,y}``), or a
            variable used twice.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        variables: list[str] = []
        pattern: list[str] = []
        pos = 0
        for m in _EXPR.finditer(template):
            literal = template[pos:m.start()]
            if "{" in literal or "}" in literal:
                raise ValueError(f"unbalanced braces in URI template {template!r}")
            pattern.append(re.escape(literal))
            name = m.group(1)
            if not _VARNAME.match(name):
                raise ValueError(f"URI template {template!r}: {{{name}}} is not a level-1 "
                                 "expression (one variable name, no operator or modifier)")
            if name in variables:
                raise ValueError(f"URI template {template!r} uses {{{name}}} twice")
            variables.append(name)
            pattern.append(f"(?P<v{len(variables) - 1}>[^/?#]+)")
            pos = m.end()
        tail = template[pos:]
        if "{" in tail or "}" in tail:
            raise ValueError(f"unbalanced braces in URI template {template!r}")
        pattern.append(re.escape(tail))
        self.variables: tuple[str, ...] = tuple(variables)
        self._regex = re.compile("".join(pattern), re.DOTALL)

    def __repr__(self) -> str:
        return f"UriTemplate({self.template!r})"

    def expand(self, **values: str) -> str:
        """Return the URI with each variable replaced by its percent-encoded value.

        Raises:
            KeyError: a variable has no value.
        """
        def sub(m: re.Match[str]) -> str:
            return quote(str(values[m.group(1)]), safe="-._~")

        return _EXPR.sub(sub, self.template)

    def match(self, uri: str) -> dict[str, str] | None:
        """Return the variables' (percent-decoded) values if ``uri`` matches, else ``None``."""
        m = self._regex.fullmatch(uri)
        if m is None:
            return None
        return {name: unquote(m.group(f"v{i}")) for i, name in enumerate(self.variables)}
