"""The original import path of the remote contracts client (the ``http`` plugin's)."""

from dc43_http.clients import RemoteContractServiceClient

__all__ = ["RemoteContractServiceClient"]
