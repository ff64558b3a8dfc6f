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

from webhook.connection import compact_json

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


# A flag token as vLLM's parser names it: (name, subkey, inline value). The name is
# canonical (leading `--`, dashes for underscores); `--compilation-config.mode=3` gives
# ("--compilation-config", "mode", "3"). A plain tuple: this runs for every flag of every
# pod, and a tuple costs about a third of a dataclass or a NamedTuple to build.
Flag = tuple[str, str | None, str | None]


def parse_flag(token: str) -> Flag | None:
    """Read a token as vLLM's parser would name it, or None when it is not a flag."""
    if token[:2] == "--":
        if "=" in token or "." in token or "_" in token:
            # The `--` prefix holds no `=`, `.` or `_`: cutting the whole token is safe.
            body, has_value, value = token.partition("=")
            name, has_dot, subkey = body.partition(".")
            return (
                name.replace("_", "-"),
                (subkey if has_dot else None),
                (value if has_value else None),
            )
        # The usual `--flag`, already canonical; a bare `--` ends the options.
        return (token, None, None) if len(token) > 2 else None
    if token[:1] == "-":
        body, has_value, value = token.partition("=")
        name = SHORT_ALIASES.get(body)
        return None if name is None else (name, None, value if has_value else None)
    return None


def _looks_like_flag(token: str) -> bool:
    # "-1" is a value; "-pp" or "--x" is a flag.
    return token.startswith("--") or (len(token) > 1 and token[0] == "-" and token[1].isalpha())


def has_flag(args: Sequence[str], family: FlagFamily) -> bool:
    """Whether any spelling of `family` is among the options (before a bare `--`)."""
    names = family.names
    for token in args:
        if token == END_OF_OPTIONS:
            return False
        # Most tokens are values: only a leading "-" is worth a call.
        if token[:1] == "-" and (flag := parse_flag(token)) is not None and flag[0] in names:
            return True
    return False


# Per family, each dropped flag with its value (None for a bare boolean flag).
Removed = list[tuple[Flag, str | None]]


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
        flag = parse_flag(token) if token[:1] == "-" else None
        family = None if flag is None else by_name.get(flag[0])
        if family is not None:
            _, subkey, inline_value = flag
            if subkeys is not None and family in subkeys and subkey not in subkeys[family]:
                family = None  # another sub-key of an owned flag stays
        if family is None:
            kept.append(token)
            index += 1
            continue
        following = args[index + 1] if index + 1 < len(args) else None
        if inline_value is not None:
            removed[family].append((flag, inline_value))
            index += 1
        elif family.takes_value and following is not None and not _looks_like_flag(following):
            removed[family].append((flag, following))
            index += 2
        elif (
            not family.takes_value and following is not None and following.lower() in BOOLEAN_WORDS
        ):
            removed[family].append((flag, following))
            index += 2
        else:
            removed[family].append((flag, None))
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
    for (_, subkey, _), value in removed:
        if subkey is not None or value is None:
            continue
        try:
            loaded = json.loads(value)
        except ValueError:
            continue
        if isinstance(loaded, dict):
            merged.update(loaded)
    merged.update(FULL_DECODE_ONLY)
    return compact_json(merged)


def cacheblend_args(args: Sequence[str], kv_transfer_config: str, cudagraph: str) -> list[str]:
    """The target container's args with the CacheBlend flags in place of any earlier ones.

    `kv_transfer_config` is the single JSON token vLLM receives; `cudagraph` is one of the
    modes of `lmcache_k8s.values.InjectionSpec.cudagraph` (SPEC 4 step 5 says what each
    adds; tests/webhook/test_args.py runs every mode the model allows). Raises ValueError
    for a mode this function does not know, rather than injecting the wrong flags.
    """
    full_decode_only = cudagraph == "full_decode_only"
    families = ALWAYS_REPLACED_AND_COMPILATION if full_decode_only else ALWAYS_REPLACED
    result, removed = remove_families(args, families, COMPILATION_SUBKEYS)

    additions = [
        "--attention-backend",
        "CUSTOM",
        "--kv-transfer-config",
        kv_transfer_config,
        "--block-size",
        "64",
        "--pipeline-parallel-size",
        "1",
        "--no-enable-chunked-prefill",
        "--no-async-scheduling",
    ]
    if cudagraph == "eager":
        additions.append("--enforce-eager")
    elif full_decode_only:
        additions += ["--compilation-config", _full_decode_only_config(removed[COMPILATION_CONFIG])]
    elif cudagraph != "piecewise":  # piecewise: vLLM's default graphs, no flag
        raise ValueError(f"unknown cudagraph mode {cudagraph!r}")
    return _insert_options(result, additions)


def lmcache_args(args: Sequence[str], kv_transfer_config: str) -> list[str]:
    """The target container's args with `--kv-transfer-config <kv_transfer_config>` in
    place of every earlier spelling (`--kv-transfer-config v`, `--kv-transfer-config=v`,
    `--kv_transfer_config v`), added before a bare `--` if there is one."""
    result, _ = remove_families(args, (KV_TRANSFER_CONFIG,))
    return _insert_options(result, ["--kv-transfer-config", kv_transfer_config])
