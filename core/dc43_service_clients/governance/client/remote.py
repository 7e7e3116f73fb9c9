"""The original import path of the remote governance client (the ``http`` plugin's)."""

from dc43_http.clients import RemoteGovernanceServiceClient

__all__ = ["RemoteGovernanceServiceClient"]
