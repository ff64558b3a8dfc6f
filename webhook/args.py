"""Editing a vLLM argument list without duplicating or contradicting flags.

vLLM's parser accepts several spellings of the same flag (`--block-size 32`,
`--block-size=32`, `--block_size 32`, `--enable-chunked-prefill` versus its
`--no-` twin, boolean flags written as `--enforce-eager=true`). Appending our flags next
to a user's spelling would either be rejected or silently lose to whichever comes last,
so every spelling of a flag family is removed before the webhook's own value is added.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from webhook.constants import CUDAGRAPH_EAGER, CUDAGRAPH_FULL_DECODE_ONLY
from webhook.engine import EngineConfig, compact_json

# Tokens after a bare `--` are positional for argparse; flags must go before it.
END_OF_OPTIONS = "--"
# Single-dash aliases vLLM defines for flags the webhook sets.
SHORT_ALIASES = {"-pp": "--pipeline-parallel-size"}
# Values argparse-style boolean flags have been seen with (`--enforce-eager true`).
BOOLEAN_WORDS = frozenset({"true", "false", "1", "0", "yes", "no", "on", "off"})


@dataclass(frozen=True, eq=False)  # module-level singletons: identity is equality
class FlagFamily:
    """All flag names that set one vLLM option, so they are removed together."""

    names: frozenset[str]
    takes_value: bool


ATTENTION_BACKEND = FlagFamily(frozenset({"--attention-backend"}), takes_value=True)
KV_TRANSFER_CONFIG = FlagFamily(frozenset({"--kv-transfer-config"}), takes_value=True)
BLOCK_SIZE = FlagFamily(frozenset({"--block-size"}), takes_value=True)
PIPELINE_PARALLEL = FlagFamily(frozenset({"--pipeline-parallel-size"}), takes_value=True)
CHUNKED_PREFILL = FlagFamily(
    frozenset({"--enable-chunked-prefill", "--no-enable-chunked-prefill"}), takes_value=False
)
ASYNC_SCHEDULING = FlagFamily(
    frozenset({"--async-scheduling", "--no-async-scheduling"}), takes_value=False
)
ENFORCE_EAGER = FlagFamily(frozenset({"--enforce-eager", "--no-enforce-eager"}), takes_value=False)
COMPILATION_CONFIG = FlagFamily(frozenset({"--compilation-config"}), takes_value=True)

# Families the webhook owns in every cudagraph mode. `--enforce-eager` is among them:
# in the non-eager modes it would switch CUDA graphs off behind the engine's back.
ALWAYS_REPLACED = (
    ATTENTION_BACKEND,
    KV_TRANSFER_CONFIG,
    BLOCK_SIZE,
    PIPELINE_PARALLEL,
    CHUNKED_PREFILL,
    ASYNC_SCHEDULING,
    ENFORCE_EAGER,
)

# In full_decode_only mode the webhook also owns the cudagraph mode.
ALWAYS_REPLACED_AND_COMPILATION = (*ALWAYS_REPLACED, COMPILATION_CONFIG)

FULL_DECODE_ONLY = {"cudagraph_mode": "FULL_DECODE_ONLY"}
# Dotted spellings of other compilation keys stay; only the mode itself is ours.
COMPILATION_SUBKEYS = {COMPILATION_CONFIG: frozenset({None, "cudagraph_mode", "cudagraph-mode"})}


@dataclass(frozen=True)
class ParsedFlag:
    name: str  # canonical: leading `--`, dashes for underscores
    subkey: str | None  # `--compilation-config.level` -> "level"
    inline_value: str | None  # `--flag=value` -> "value"


def flag_name(token: str) -> str | None:
    """`parse_flag(token).name` without building a ParsedFlag (most tokens match nothing).

    The `--` prefix holds no `=`, `.` or `_`, so cutting and replacing on the whole token
    gives the same name as `parse_flag`.
    """
    if token.startswith("--"):
        if len(token) == 2:
            return None
        name = token.partition("=")[0].partition(".")[0]
        return name.replace("_", "-") if "_" in name else name
    if token.startswith("-"):
        return SHORT_ALIASES.get(token.partition("=")[0])
    return None


def parse_flag(token: str) -> ParsedFlag | None:
    """Read a token as vLLM's parser would name it, or None when it is not a flag."""
    if token.startswith("--") and len(token) > 2:
        body, has_value, value = token[2:].partition("=")
        base, has_dot, subkey = body.partition(".")
        return ParsedFlag(
            name="--" + base.replace("_", "-"),
            subkey=subkey if has_dot else None,
            inline_value=value if has_value else None,
        )
    if token.startswith("-") and not token.startswith("--"):
        body, has_value, value = token.partition("=")
        if body in SHORT_ALIASES:
            return ParsedFlag(SHORT_ALIASES[body], None, value if has_value else None)
    return None


def _looks_like_flag(token: str) -> bool:
    # "-1" is a value; "-pp" or "--x" is a flag.
    return token.startswith("--") or (len(token) > 1 and token[0] == "-" and token[1].isalpha())


def has_flag(args: Sequence[str], family: FlagFamily) -> bool:
    names = family.names
    for token in args:
        if token == END_OF_OPTIONS:
            return False
        if token[:1] == "-" and flag_name(token) in names:
            return True
    return False


Removed = list[tuple[ParsedFlag, str | None]]


@functools.cache
def _by_name(families: tuple[FlagFamily, ...]) -> dict[str, FlagFamily]:
    return {name: family for family in families for name in family.names}


def remove_families(
    args: Sequence[str],
    families: Sequence[FlagFamily],
    subkeys: Mapping[FlagFamily, frozenset[str | None]] | None = None,
) -> tuple[list[str], dict[FlagFamily, Removed]]:
    """Drop every spelling of the given families (with their values), in one pass.

    `subkeys` limits a family to the listed dotted sub-keys (None standing for the
    plain flag); by default all of them go. Returns the kept tokens and, per family,
    what was dropped.
    """
    by_name = _by_name(families if isinstance(families, tuple) else tuple(families))
    kept: list[str] = []
    removed: dict[FlagFamily, Removed] = {family: [] for family in families}
    index = 0
    while index < len(args):
        token = args[index]
        if token == END_OF_OPTIONS:
            kept.extend(args[index:])
            break
        # The name alone decides for most tokens; only a family member is fully parsed.
        name = flag_name(token) if token[:1] == "-" else None
        family = by_name.get(name) if name is not None else None
        parsed = parse_flag(token) if family is not None else None
        if (
            parsed is None
            or family is None
            or (subkeys is not None and family in subkeys and parsed.subkey not in subkeys[family])
        ):
            kept.append(token)
            index += 1
            continue
        following = args[index + 1] if index + 1 < len(args) else None
        if parsed.inline_value is not None:
            removed[family].append((parsed, parsed.inline_value))
            index += 1
        elif family.takes_value and following is not None and not _looks_like_flag(following):
            removed[family].append((parsed, following))
            index += 2
        elif (
            not family.takes_value and following is not None and following.lower() in BOOLEAN_WORDS
        ):
            removed[family].append((parsed, following))
            index += 2
        else:
            removed[family].append((parsed, None))
            index += 1
    return kept, removed


def _insert_options(args: list[str], additions: list[str]) -> list[str]:
    if END_OF_OPTIONS in args:
        at = args.index(END_OF_OPTIONS)
        return args[:at] + additions + args[at:]
    return args + additions


def _full_decode_only_config(removed: Removed) -> str:
    """Keep a user's own compilation settings, overriding only the cudagraph mode."""
    merged: dict[str, object] = {}
    for parsed, value in removed:
        if parsed.subkey is not None or value is None:
            continue
        try:
            loaded = json.loads(value)
        except ValueError:
            continue
        if isinstance(loaded, dict):
            merged.update(loaded)
    merged.update(FULL_DECODE_ONLY)
    return compact_json(merged)


def cacheblend_args(args: Sequence[str], engine: EngineConfig) -> list[str]:
    """The target container's args with the CacheBlend flags in place of any earlier ones."""
    families = (
        ALWAYS_REPLACED_AND_COMPILATION
        if engine.cudagraph == CUDAGRAPH_FULL_DECODE_ONLY
        else ALWAYS_REPLACED
    )
    result, removed = remove_families(args, families, COMPILATION_SUBKEYS)

    additions = [
        "--attention-backend",
        "CUSTOM",
        "--kv-transfer-config",
        engine.kv_transfer_config,
        "--block-size",
        "64",
        "--pipeline-parallel-size",
        "1",
        "--no-enable-chunked-prefill",
        "--no-async-scheduling",
    ]
    if engine.cudagraph == CUDAGRAPH_EAGER:
        additions.append("--enforce-eager")
    elif engine.cudagraph == CUDAGRAPH_FULL_DECODE_ONLY:
        additions += ["--compilation-config", _full_decode_only_config(removed[COMPILATION_CONFIG])]
    return _insert_options(result, additions)
