"""Keep secrets out of everything dc43 shows or stores: results, records, reports and logs.

A value is hidden when its key looks secret (``password``, ``token``, ``sasl.jaas.config``,
``Authorization``, ...), and inside any text when it follows a secret-looking key
(``token=abc``, ``password="abc"``), an authorization scheme (``Bearer abc``) or sits in a
URL's user info (``//user:pass@host``).  In argument lists the value after a secret-looking
flag is hidden (``["--password", "abc"]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "***"

#: parts of a key (case-insensitive) that make its value a secret
SECRET_KEY_PARTS = ("pass", "secret", "token", "credential", "auth", "private", "jaas", "ssl.key",
                    "api_key", "apikey", "api-key", "access_key", "accesskey", "cookie", "signature")
_KEY_WORD = r"[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credentials?)"
_ASSIGNED = re.compile(rf"(?i)({_KEY_WORD}\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,)\]}}]+)")
_SCHEME = re.compile(r"(?i)\b(bearer|basic|token|digest)(\s+)[A-Za-z0-9._~+/=\-]{4,}")
_USERINFO = re.compile(r"(//)[^/@\s]+@")


def is_secret_key(key: str) -> bool:
    """Whether a value stored under ``key`` must never be shown."""
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    """``text`` with every secret-looking value in it replaced by ``***``."""
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _SCHEME.sub(rf"\1\2{REDACTED}", text)
    return _ASSIGNED.sub(lambda m: m.group(1) + _quoted(m.group(2)), text)


def _quoted(value: str) -> str:
    return f"{value[0]}{REDACTED}{value[0]}" if value[:1] in "\"'" and len(value) > 1 else REDACTED


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` (mappings, lists and text, nested) with every secret hidden."""
    if key is not None and is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        hidden, follows_flag = [], False
        for item in value:
            hidden.append(REDACTED if follows_flag else redact(item))
            follows_flag = isinstance(item, str) and item.startswith("-") and "=" not in item \
                and is_secret_key(item)
        return hidden
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Reader or writer options as they may be shown: secret values hidden."""
    return redact(dict(options))
