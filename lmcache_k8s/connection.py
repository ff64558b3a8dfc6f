"""The identity of a vLLM connection: one hash for "the kv-transfer-config a pod received".

The connection ConfigMap holds the kv-transfer-config as pretty JSON (SPEC 2.4); the
injection webhook passes it to vLLM as one compact argv token. Both spell the same object,
so the hash is taken over one canonical spelling of the parsed object, never over the
text as stored: reformatting the ConfigMap does not make every pod look stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# 16 hex characters (64 bits): short enough for an annotation and a table column, and a
# collision between two configurations of one engine is not a practical concern.
HASH_LENGTH = 16


def canonical_json(value: Mapping[str, Any]) -> str:
    """The compact spelling: keys sorted, no spaces, non-ASCII escaped (json's defaults).

    This is also the argv token the webhook gives vLLM (`--kv-transfer-config <this>`).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def connection_hash(config: Mapping[str, Any] | str) -> str:
    """First 16 hex characters of the SHA-256 of `canonical_json(config)` (UTF-8).

    `config` is the kv-transfer-config object, or its JSON text in any formatting (the
    ConfigMap's pretty form, the compact argv token). Raises ValueError when the text is
    not JSON or not a JSON object.
    """
    if isinstance(config, str):
        parsed = json.loads(config)
        if not isinstance(parsed, dict):
            raise ValueError("a kv-transfer-config must be a JSON object")
        config = parsed
    digest = hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()
    return digest[:HASH_LENGTH]
