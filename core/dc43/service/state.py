"""What every route of the service shares: the stores over one database."""

from __future__ import annotations

from typing import Annotated

import attrs
from fastapi import Depends, Request

from dc43.contracts.service import LocalContractServiceClient
from dc43.quality.service import LocalDataQualityService
from dc43.service.contract_store import SQLContractStore
from dc43.service.database import ServiceDatabase
from dc43.service.governance_store import SQLGovernanceStore
from dc43.service.product_store import SQLDataProductStore


@attrs.frozen
class Services:
    """What the routes use, all over one database."""

    database: ServiceDatabase
    contracts: LocalContractServiceClient
    governance: SQLGovernanceStore
    products: SQLDataProductStore
    quality: LocalDataQualityService

    @classmethod
    def open(cls, database: ServiceDatabase) -> Services:
        return cls(database, LocalContractServiceClient(SQLContractStore(database)), SQLGovernanceStore(database),
                   SQLDataProductStore(database), LocalDataQualityService())


def services(request: Request) -> Services:
    """The routes' dependency: the services of the running app."""
    return request.app.state.services


#: a route's parameter ``s: ServicesDep`` gets the running app's services
ServicesDep = Annotated[Services, Depends(services)]
