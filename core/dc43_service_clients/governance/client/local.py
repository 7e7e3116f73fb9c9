"""The original import path of the in-process governance client."""

from dc43_service_clients.governance import LocalGovernanceService, LocalGovernanceServiceClient

__all__ = ["LocalGovernanceService", "LocalGovernanceServiceClient"]
