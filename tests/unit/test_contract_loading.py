"""Contract loading, validation errors, serialisation and status checks."""

from __future__ import annotations

import json

import pytest
from dc43.contracts import check_status, contract_from_dict, contract_to_dict, is_active, load_contract
from dc43.errors import ContractFormatError, ContractNotFoundError, ContractStatusError

VALID_YAML = """\
apiVersion: v3.0.2
kind: DataContract
id: demo.rate_stream
version: 1.0.0
status: active
contractCreatedTs: 2024-05-01T10:00:00Z
schema:
  - name: rates
    properties:
      - name: ts
        logicalType: timestamp
        required: true
      - name: value
        logicalType: number
        required: false
"""


def _write(tmp_path, text, name="contract.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _minimal(**overrides):
    data = {"apiVersion": "v3.0.2", "kind": "DataContract", "id": "demo.x", "version": "1.0.0"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_load_yaml(tmp_path):
    contract = load_contract(_write(tmp_path, VALID_YAML))
    assert (contract.id, contract.version) == ("demo.rate_stream", "1.0.0")
    assert contract.schema_[0].properties[0].required is True
    assert contract.contractCreatedTs == "2024-05-01T10:00:00Z"


def test_load_json_and_round_trip(tmp_path):
    data = contract_to_dict(load_contract(_write(tmp_path, VALID_YAML)))
    assert "schema" in data and "schema_" not in data
    assert not any(v is None for v in data.values())
    path = _write(tmp_path, json.dumps(data), "contract.json")
    assert contract_to_dict(load_contract(path)) == data


def _format_error(tmp_path, text) -> ContractFormatError:
    path = _write(tmp_path, text)
    with pytest.raises(ContractFormatError) as info:
        load_contract(path)
    assert info.value.source == str(path)
    assert str(path) in str(info.value)
    return info.value


def test_malformed_yaml_reports_line(tmp_path):
    error = _format_error(tmp_path, "apiVersion: v3.0.2\nkind: [DataContract\nid: x\n")
    assert error.field == "<document>"
    assert "line" in error.problem and "invalid YAML" in error.problem


def test_malformed_json_reports_line(tmp_path):
    error = _format_error(tmp_path, '{"apiVersion": "v3.0.2",\n "kind": }')
    assert error.field == "<document>" and "line 2" in error.problem


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_document_must_be_a_mapping(tmp_path, text):
    error = _format_error(tmp_path, text)
    assert error.field == "<document>" and "mapping" in error.problem


@pytest.mark.parametrize("api_version", ["v2.2.2", "v4.0.0", "v3.0", "v3.3.0", "latest"])
def test_wrong_api_version(tmp_path, api_version):
    error = _format_error(tmp_path, VALID_YAML.replace("v3.0.2", api_version))
    assert error.field == "apiVersion"
    assert "v3.0.x" in error.problem and "v3.1.x" in error.problem


@pytest.mark.parametrize("api_version", ["v3.0.0", "v3.0.2", "v3.1.0", "3.1.0", "v3.2.0"])
def test_accepted_api_versions(api_version):
    assert contract_from_dict(_minimal(apiVersion=api_version), "mem").apiVersion == api_version


@pytest.mark.parametrize("field", ["id", "version", "apiVersion", "kind"])
def test_missing_required_field(field):
    with pytest.raises(ContractFormatError) as info:
        contract_from_dict(_minimal(**{field: None}), "inline.yaml")
    assert info.value.field == field and "inline.yaml" in str(info.value)


def test_missing_id_in_file(tmp_path):
    error = _format_error(tmp_path, VALID_YAML.replace("id: demo.rate_stream\n", ""))
    assert error.field == "id"


def test_wrong_kind():
    with pytest.raises(ContractFormatError, match="'DataContract'"):
        contract_from_dict(_minimal(kind="DataProduct"), "mem")


def test_unquoted_float_version_is_explained(tmp_path):
    error = _format_error(tmp_path, VALID_YAML.replace("version: 1.0.0", "version: 1.0"))
    assert error.field == "version" and "quote" in error.problem


def test_version_must_be_semver():
    with pytest.raises(ContractFormatError) as info:
        contract_from_dict(_minimal(version="first"), "mem")
    assert info.value.field == "version" and "1.2.3" in info.value.problem


def test_bad_nested_field_names_the_dotted_path(tmp_path):
    error = _format_error(tmp_path, VALID_YAML.replace("required: false", "required: maybe"))
    assert error.field == "schema[0].properties[1].required"
    assert "maybe" in error.problem


def test_unknown_top_level_field():
    with pytest.raises(ContractFormatError) as info:
        contract_from_dict(_minimal(owner="me"), "mem")
    assert info.value.field == "owner" and "customProperties" in info.value.problem


def test_union_member_tags_are_dropped_from_the_path():
    with pytest.raises(ContractFormatError) as info:
        contract_from_dict(_minimal(team={"name": 3}), "mem")
    assert info.value.field == "team.name"


def test_missing_file():
    with pytest.raises(ContractNotFoundError, match="does not exist"):
        load_contract("/nonexistent/contract.yaml")


@pytest.mark.parametrize("status", [None, "active", "Active", " ACTIVE "])
def test_active_statuses(status):
    contract = contract_from_dict(_minimal(status=status), "mem")
    assert is_active(contract)
    check_status(contract, False)


@pytest.mark.parametrize("status", ["draft", "proposed", "deprecated", "retired"])
def test_inactive_status_is_refused_with_opt_in_hint(status):
    contract = contract_from_dict(_minimal(status=status), "mem")
    assert not is_active(contract)
    with pytest.raises(ContractStatusError) as info:
        check_status(contract, False)
    message = str(info.value)
    assert "demo.x" in message and "1.0.0" in message and status in message
    assert "allowed_statuses" in message and "allow_inactive=True" in message


@pytest.mark.parametrize("allowed", [True, ["draft"], ("DRAFT", "proposed"), "draft"])
def test_inactive_status_opt_in(allowed):
    check_status(contract_from_dict(_minimal(status="Draft"), "mem"), allowed)


def test_opt_in_for_other_status_still_refuses():
    with pytest.raises(ContractStatusError):
        check_status(contract_from_dict(_minimal(status="retired"), "mem"), ["draft"])
