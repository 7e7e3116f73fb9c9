"""Contract stores (filesystem and in-memory) and the local contract service."""

from __future__ import annotations

import json
import threading

import pytest
from dc43.contracts import FSContractStore, LocalContractServiceClient, contract_from_dict
from dc43.errors import (
    ContractConflictError,
    ContractFormatError,
    ContractNotFoundError,
    ContractStatusError,
    InvalidContractIdError,
    VersionSelectorError,
)
from dc43_memory.store import InMemoryContractStore


def make(contract_id="demo.rate_stream", version="1.0.0", status="active", description=None):
    data = {"apiVersion": "v3.0.2", "kind": "DataContract", "id": contract_id, "version": version, "status": status}
    if description:
        data["description"] = {"purpose": description}
    return contract_from_dict(data, "test")


@pytest.fixture(params=["fs", "memory"])
def store(request, tmp_path):
    if request.param == "fs":
        return FSContractStore(tmp_path / "contracts")
    return InMemoryContractStore()


def test_put_get_list(store):
    for version in ("1.10.0", "1.2.0", "2.0.0-rc.1", "1.9.0"):
        store.put(make(version=version))
    store.put(make("demo.other"))
    assert store.list_contracts() == ["demo.other", "demo.rate_stream"]
    assert store.list_versions("demo.rate_stream") == ["1.2.0", "1.9.0", "1.10.0", "2.0.0-rc.1"]
    assert store.get("demo.rate_stream", "1.9.0").version == "1.9.0"
    assert store.latest("demo.rate_stream").version == "1.10.0"


def test_empty_store(store):
    assert store.list_contracts() == []
    assert store.list_versions("demo.x") == []
    assert store.latest("demo.x") is None


def test_latest_falls_back_to_highest_prerelease(store):
    store.put(make(version="1.0.0-alpha"))
    store.put(make(version="1.0.0-beta"))
    assert store.latest("demo.rate_stream").version == "1.0.0-beta"


def test_stored_contract_is_a_copy(store):
    contract = make(description="original")
    store.put(contract)
    contract.description.purpose = "changed"
    fetched = store.get("demo.rate_stream", "1.0.0")
    assert fetched.description.purpose == "original"
    fetched.description.purpose = "changed again"
    assert store.get("demo.rate_stream", "1.0.0").description.purpose == "original"


def test_identical_put_is_a_no_op(store):
    store.put(make(description="same"))
    store.put(make(description="same"))
    assert store.list_versions("demo.rate_stream") == ["1.0.0"]


def test_conflicting_put_is_refused(store):
    store.put(make(description="first"))
    with pytest.raises(ContractConflictError, match="bump the version") as info:
        store.put(make(description="second"))
    assert "1.0.1" in str(info.value)
    assert store.get("demo.rate_stream", "1.0.0").description.purpose == "first"


@pytest.mark.parametrize("bad_id", ["../x", "/abs", "a/b", "a\\b", "..", ".", "", "a..b", "nul\x00", ".hidden", "x\n", "a b"])
def test_unsafe_ids_are_refused(store, bad_id, tmp_path):
    contract = make()
    contract.id = bad_id
    with pytest.raises(InvalidContractIdError, match="e.g. 'demo.rate_stream'"):
        store.put(contract)
    with pytest.raises(InvalidContractIdError):
        store.get(bad_id, "1.0.0")
    assert store.list_contracts() == []
    assert list(tmp_path.rglob("*.json")) == []


@pytest.mark.parametrize("good_id", ["demo.rate_stream", "a-b_c.d", "X1", "0"])
def test_safe_ids_are_accepted(store, good_id):
    store.put(make(contract_id=good_id))
    assert store.list_contracts() == [good_id]


def test_put_requires_semver(store):
    contract = make()
    contract.version = "first"
    with pytest.raises(ContractFormatError, match="version"):
        store.put(contract)


@pytest.mark.parametrize("bad_version", ["../../etc/passwd", "1.0.0/x", ""])
def test_get_refuses_unsafe_versions(store, bad_version):
    store.put(make())
    with pytest.raises(VersionSelectorError, match="1.2.3"):
        store.get("demo.rate_stream", bad_version)


def test_get_unknown_id_lists_known_ids(store):
    store.put(make("demo.a"))
    store.put(make("demo.b"))
    with pytest.raises(ContractNotFoundError, match="known ids: demo.a, demo.b"):
        store.get("demo.c", "1.0.0")


def test_known_ids_are_capped_at_twenty(store):
    for i in range(25):
        store.put(make(f"c{i:02d}"))
    with pytest.raises(ContractNotFoundError, match="first 20 of 25") as info:
        store.get("missing", "1.0.0")
    assert "c19" in str(info.value) and "c20" not in str(info.value)


def test_get_unknown_version_lists_versions(store):
    store.put(make(version="1.0.0"))
    store.put(make(version="1.1.0"))
    with pytest.raises(ContractNotFoundError, match="available: 1.0.0, 1.1.0"):
        store.get("demo.rate_stream", "2.0.0")


def test_concurrent_puts_of_the_same_version(store):
    errors = []

    def put(i):
        try:
            store.put(make(description=f"writer {i}"))
        except ContractConflictError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 7
    assert store.list_versions("demo.rate_stream") == ["1.0.0"]


# Filesystem specifics


def test_fs_layout_and_atomic_write(tmp_path):
    base = tmp_path / "nested" / "contracts"
    store = FSContractStore(base)
    assert not base.exists()
    store.put(make(version="1.0.0"))
    store.put(make(version="1.1.0"))
    folder = base / "demo.rate_stream"
    assert sorted(p.name for p in folder.iterdir()) == ["1.0.0.json", "1.1.0.json"]
    assert json.loads((folder / "1.0.0.json").read_text())["id"] == "demo.rate_stream"


def test_fs_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    store = FSContractStore(tmp_path)

    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("dc43.contracts.store.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.put(make())
    assert list((tmp_path / "demo.rate_stream").iterdir()) == []
    assert store.list_versions("demo.rate_stream") == []


def test_fs_corrupt_file_names_the_path(tmp_path):
    store = FSContractStore(tmp_path)
    store.put(make())
    path = tmp_path / "demo.rate_stream" / "1.0.0.json"
    path.write_text("{not json")
    with pytest.raises(ContractFormatError) as info:
        store.get("demo.rate_stream", "1.0.0")
    assert info.value.source == str(path)
    with pytest.raises(ContractFormatError):
        store.put(make())


def test_fs_invalid_stored_contract_names_the_path_and_field(tmp_path):
    store = FSContractStore(tmp_path)
    store.put(make())
    path = tmp_path / "demo.rate_stream" / "1.0.0.json"
    data = json.loads(path.read_text())
    data["apiVersion"] = "v9.0.0"
    path.write_text(json.dumps(data))
    with pytest.raises(ContractFormatError) as info:
        store.get("demo.rate_stream", "1.0.0")
    assert (info.value.source, info.value.field) == (str(path), "apiVersion")


def test_fs_misplaced_document_is_reported(tmp_path):
    store = FSContractStore(tmp_path)
    store.put(make(version="1.0.0"))
    (tmp_path / "demo.rate_stream" / "1.0.0.json").rename(tmp_path / "demo.rate_stream" / "2.0.0.json")
    with pytest.raises(ContractFormatError, match="holds demo.rate_stream@1.0.0"):
        store.get("demo.rate_stream", "2.0.0")


def test_fs_unparsable_version_files_sort_last(tmp_path):
    store = FSContractStore(tmp_path)
    store.put(make(version="1.0.0"))
    (tmp_path / "demo.rate_stream" / "notes.json").write_text("{}")
    assert store.list_versions("demo.rate_stream") == ["1.0.0", "notes"]
    assert store.latest("demo.rate_stream").version == "1.0.0"


# Local contract service


@pytest.fixture
def service(store):
    for version, status in [("1.0.0", "active"), ("1.1.0", None), ("1.2.0", "draft"), ("2.0.0-rc.1", "active")]:
        store.put(make(version=version, status=status))
    return LocalContractServiceClient(store)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [(None, "1.2.0"), ("1.0.0", "1.0.0"), ("<1.2", "1.1.0"), ("~1.1", "1.1.0"), ("^2.0.0-rc.1", "2.0.0-rc.1")],
)
def test_service_resolve(service, selector, expected):
    assert service.resolve("demo.rate_stream", selector, allow_inactive=True).version == expected


def test_service_resolve_refuses_drafts_unless_allowed(service):
    with pytest.raises(ContractStatusError, match="draft"):
        service.resolve("demo.rate_stream", "==1.2.0")
    assert service.resolve("demo.rate_stream").version == "1.1.0"  # latest skips the draft
    assert service.resolve("demo.rate_stream", "^1", allowed_statuses=["draft"]).version == "1.2.0"


def test_service_include_prerelease(service):
    assert service.resolve("demo.rate_stream", ">=1.0", include_prerelease=True).version == "2.0.0-rc.1"


def test_service_missing_id_lists_ids(service):
    with pytest.raises(ContractNotFoundError, match="known ids: demo.rate_stream"):
        service.resolve("demo.unknown")


def test_service_no_match_lists_versions(service):
    with pytest.raises(ContractNotFoundError, match="available: 1.0.0, 1.1.0, 1.2.0, 2.0.0-rc.1"):
        service.resolve("demo.rate_stream", ">=3")


def test_service_passthrough(service):
    assert service.list_versions("demo.rate_stream")[-1] == "2.0.0-rc.1"
    assert service.get("demo.rate_stream", "1.1.0").status is None
    assert service.latest("demo.rate_stream").version == "1.2.0"
    assert service.latest("demo.unknown") is None
