"""Split a program's argument tokens into `--flag [value]` occurrences, as argparse would.

Both the read-back (`postrender.readback`, which maps flags to values fields) and the
invariants (`postrender.invariants`, which add and remove flags in place) need the same
split, so it lives here once. It knows nothing about lmcache: the caller passes the switches
(flags that never take a value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


@dataclass
class Flag:
    """One `--flag [value]` occurrence among a program's tokens.

    A positional token is a Flag with the empty name and the token as its value.
    """

    name: str
    value: str | None
    index: int  # position of the flag token among the program's flags
    inline: bool  # written as --flag=value


def parse_flags(tokens: list[str], switches: set[str]) -> list[Flag]:
    """Split tokens into flags. A flag that is not a known switch takes the next token as
    its value unless that token is itself a flag (a negative number is a value, as for
    argparse); `--flag=value` is one token."""
    flags: list[Flag] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("-") or tok == "-":
            flags.append(Flag("", tok, i, False))  # a positional token
            i += 1
        elif tok.startswith("--") and "=" in tok:
            name, value = tok.split("=", 1)
            flags.append(Flag(name, value, i, True))
            i += 1
        elif tok not in switches and i + 1 < len(tokens) and not _looks_like_flag(tokens[i + 1]):
            flags.append(Flag(tok, tokens[i + 1], i, False))
            i += 2
        else:
            flags.append(Flag(tok, None, i, False))
            i += 1
    return flags


def _looks_like_flag(tok: str) -> bool:
    return tok.startswith("-") and not _FLOAT.fullmatch(tok)


def number(text: str, kind: str) -> Any:
    """A flag value typed as `kind` says ("int", "number" or "str").

    Numbers are parsed (int when the text is an integer, else float) whatever the kind asks
    for, so that the values rules, not this parser, report `--port 80.5` ("must be an
    integer"); text that is no number, and any "str" value, is returned as it came.
    """
    if kind == "str":
        return text
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
