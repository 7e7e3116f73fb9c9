"""The data-product service without Spark: versions, conflicts, bindings."""

from __future__ import annotations

import pytest
from dc43.errors import ContractConflictError, ContractNotFoundError, Dc43Error
from dc43.products import (
    DataProduct,
    DataProductInputBinding,
    DataProductOutputBinding,
    LocalDataProductService,
    Port,
)


def test_register_creates_then_versions_products(tmp_path) -> None:
    service = LocalDataProductService(tmp_path / "gov.db")
    first = service.register_port("sales", "output", Port("orders", "sales.orders", "1.0.0"))
    same = service.register_port("sales", "output", Port("orders", "sales.orders", "1.0.0"))
    other = service.register_port("sales", "input", Port("raw", "raw.orders", "2.0.0"))
    assert (first.version, first.changed) == ("0.1.0", True)
    assert (same.version, same.changed) == ("0.1.0", False)
    assert (other.version, other.status) == ("0.2.0", "draft")
    assert service.versions("sales") == ["0.1.0", "0.2.0"]
    reopened = LocalDataProductService(tmp_path / "gov.db")
    assert reopened.get("sales").to_dict()["inputPorts"] == [
        {"name": "raw", "contractId": "raw.orders", "version": "2.0.0"}]


def test_a_stored_version_is_never_overwritten() -> None:
    service = LocalDataProductService()
    service.put(DataProduct(id="p", version="1.0.0", status="active"))
    service.put(DataProduct(id="p", version="1.0.0", status="active"))  # identical: fine
    with pytest.raises(ContractConflictError, match="new version"):
        service.put(DataProduct(id="p", version="1.0.0", status="retired"))


def test_missing_products_and_ports_list_what_exists() -> None:
    service = LocalDataProductService()
    service.register_port("sales", "output", Port("orders", "c", "1.0.0"))
    with pytest.raises(ContractNotFoundError, match="known: sales"):
        service.get("nope")
    with pytest.raises(Dc43Error, match="output ports: orders"):
        service.port_contract("sales", "output", "refunds")


def test_bindings_accept_mappings_and_objects() -> None:
    typed = DataProductInputBinding("a", "in", source_data_product="s", source_output_port="o")
    assert DataProductInputBinding.coerce(typed) is typed
    assert DataProductOutputBinding.coerce({"data_product": "a", "port_name": "out"}).port_name == "out"
    with pytest.raises(Dc43Error, match="needs data_product"):
        DataProductOutputBinding.coerce({"port_name": "out"})
    # the original's spellings: camelCase keys, blanks as unset, no port name (the contract's id then)
    original = DataProductInputBinding.coerce({"dataProduct": "a", "portName": " ", "sourceOutputPort": "o",
                                               "dataProductVersion": "1.0.0"})
    assert (original.port_name, original.source_output_port, original.data_product_version) == (None, "o", "1.0.0")
    assert original.port_for(type("C", (), {"id": "sales.orders"})) == "o"
    assert DataProductOutputBinding("a").port_for(type("C", (), {"id": "sales.orders"})) == "sales.orders"
