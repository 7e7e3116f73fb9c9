"""The original import path of the governance-service protocol."""

from dc43.legacy.protocols import GovernanceServiceClient

__all__ = ["GovernanceServiceClient"]
