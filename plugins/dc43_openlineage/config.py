"""Whether OpenLineage is configured, and the client for the configuration in force.

OpenLineage's client prints events to the console when it finds no configuration; dc43
sends nothing then, so it checks for a configured transport itself, the way the client
looks for one: ``OPENLINEAGE_DISABLED``, ``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``
variables and an ``openlineage.yml`` (``OPENLINEAGE_CONFIG``, the working directory,
``~/.openlineage``).  A client is made once per configuration, so a changed environment
takes effect at the next write.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dc43.errors import ConfigurationError, did_you_mean
from dc43.redaction import redact_text

log = logging.getLogger(__name__)

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()
_warned_missing = False


def config_file() -> Path | None:
    """The ``openlineage.yml`` the client reads, if any."""
    for candidate in (os.environ.get("OPENLINEAGE_CONFIG"), Path.cwd() / "openlineage.yml",
                      Path("~/.openlineage/openlineage.yml").expanduser()):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _file_transport(path: Path | None) -> dict[str, Any] | None:
    """The transport an ``openlineage.yml`` configures; a file that cannot be read is refused."""
    if path is None:
        return None
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"the OpenLineage config {path} cannot be read ({type(exc).__name__}: "
                                 f"{redact_text(str(exc)).splitlines()[0]}); fix it, or remove it to send no lineage") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("transport", {}), dict):
        raise ConfigurationError(f"the OpenLineage config {path} must be a mapping with a 'transport' mapping "
                                 "(transport: {type: http, url: ...})")
    transport = loaded.get("transport")
    return transport if transport and transport.get("type") else None


def check(transport: dict[str, Any] | None = None) -> None:
    """Refuse a transport OpenLineage would fail on or silently ignore: an unknown type, an http URL
    without a scheme or host.  ``transport``: the config file's; the environment's otherwise."""
    kind = str((transport or {}).get("type") or os.environ.get("OPENLINEAGE__TRANSPORT__TYPE") or "http")
    where = "the OpenLineage config's transport.type" if transport else "OPENLINEAGE__TRANSPORT__TYPE"
    from openlineage.client.transport import get_default_factory

    known = sorted(getattr(get_default_factory(), "transports", {}) or {})
    if known and kind not in known:
        raise ConfigurationError(f"{where} {kind!r} is not an OpenLineage transport{did_you_mean(kind, known)}; "
                                 f"use one of {', '.join(known)}")
    urls = [("OPENLINEAGE_URL", os.environ.get("OPENLINEAGE_URL")),
            ("OPENLINEAGE__TRANSPORT__URL", os.environ.get("OPENLINEAGE__TRANSPORT__URL")),
            ("the OpenLineage config's transport.url", (transport or {}).get("url"))]
    for name, url in urls:
        if url is None or kind != "http":
            continue
        parsed = urlsplit(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigurationError(f"{name} {redact_text(str(url))!r} is not an http(s) URL with a host; write "
                                     "it as http://host:port (OpenLineage would send nothing)")


def fingerprint() -> tuple[Any, ...] | None:
    """What the configuration in force depends on; ``None`` when OpenLineage is off or unconfigured."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return None
    path = config_file()
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("OPENLINEAGE")))
    transport = _file_transport(path)
    configured = (bool(os.environ.get("OPENLINEAGE_URL")) or "OPENLINEAGE__TRANSPORT__TYPE" in os.environ
                  or transport is not None)
    if not configured:
        return None
    return variables, str(path), path.stat().st_mtime_ns if path else None


def client() -> Any | None:
    """The OpenLineage client for the configuration in force; ``None`` when there is none.  A
    misconfigured transport is a :class:`~dc43.errors.ConfigurationError`."""
    global _warned_missing
    key = fingerprint()
    if key is None:
        return None
    try:
        from openlineage.client import OpenLineageClient
        check(_file_transport(config_file()) if "OPENLINEAGE__TRANSPORT__TYPE" not in os.environ and
              not os.environ.get("OPENLINEAGE_URL") else None)
    except ImportError:
        if not _warned_missing:
            _warned_missing = True
            log.warning("OpenLineage is configured but openlineage-python is not installed, so no lineage is "
                        "sent: pip install 'dc43[openlineage]'")
        return None
    with _lock:
        if key not in _clients:
            _clients[key] = OpenLineageClient()
        return _clients[key]
