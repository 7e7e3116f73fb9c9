"""dc43 plugin: OpenLineage events for every contract-enforced write.

With ``openlineage-python`` installed (``pip install dc43[openlineage]``) and a transport
configured the way OpenLineage configures itself (``OPENLINEAGE_URL``, an ``openlineage.yml``,
or ``OPENLINEAGE__TRANSPORT__*`` variables), each streaming write emits START, a RUNNING event
per judged micro-batch and COMPLETE or FAIL; each batch write emits one run.  Unconfigured,
nothing is sent and nothing extra runs.  Events leave from a background thread, so a slow or
failing transport never holds up or fails a stream; failures are logged and counted in the
write's ``result.details["openlineage"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dc43 import hookimpl


def _listener() -> Any:
    from dc43_openlineage import config

    if config.fingerprint() is None:  # unconfigured: not even the client is imported
        return None
    client = config.client()  # None, with a warning naming the extra, without openlineage-python
    if client is None:
        return None
    from dc43_openlineage.listener import OpenLineageListener

    return OpenLineageListener(client)


@hookimpl
def dc43_run_listeners() -> Mapping[str, Callable[[], Any]]:
    return {"openlineage": _listener}


def flush(timeout: float = 10.0) -> bool:
    """Wait until every event handed to OpenLineage so far was sent or given up on; False on timeout."""
    from dc43_openlineage.emitter import flush_all

    return flush_all(timeout)
