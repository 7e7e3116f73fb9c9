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


def _file_transport(path: Path | None) -> bool:
    if path is None:
        return False
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except Exception as exc:
        log.warning("OpenLineage config %s cannot be read (%s): no lineage is sent", path, type(exc).__name__)
        return False
    transport = loaded.get("transport") if isinstance(loaded, dict) else None
    return isinstance(transport, dict) and bool(transport.get("type"))


def fingerprint() -> tuple[Any, ...] | None:
    """What the configuration in force depends on; ``None`` when OpenLineage is off or unconfigured."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return None
    path = config_file()
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("OPENLINEAGE")))
    configured = (bool(os.environ.get("OPENLINEAGE_URL")) or "OPENLINEAGE__TRANSPORT__TYPE" in os.environ
                  or _file_transport(path))
    if not configured:
        return None
    return variables, str(path), path.stat().st_mtime_ns if path else None


def client() -> Any | None:
    """The OpenLineage client for the configuration in force; ``None`` when there is none."""
    global _warned_missing
    key = fingerprint()
    if key is None:
        return None
    try:
        from openlineage.client import OpenLineageClient
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
