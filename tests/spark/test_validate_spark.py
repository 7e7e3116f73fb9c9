"""`dc43 validate --spark`: rule patterns and SQL rules compiled by Spark, as a write does at start."""

from __future__ import annotations

import pytest
from dc43.cli import main

pytestmark = [pytest.mark.spark, pytest.mark.connect, pytest.mark.cluster]

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: sales.orders
version: 1.0.0
schema:
  - name: orders
    quality:
      - {type: sql, query: "SELECT COUNT(*) FROM ${object} WHERE %s < 0", mustBe: 0}
    properties:
      - {name: id, physicalType: bigint}
      - {name: amount, physicalType: double}
      - name: code
        physicalType: string
        quality:
          - {rule: regex, mustBe: "%s"}
"""


def test_patterns_and_sql_rules_are_compiled_with_spark(spark, tmp_path, capsys) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(CONTRACT % ("amount", "^[A-Z]{3}$"))
    bad.write_text(CONTRACT % ("amout", "[A-Z"))
    assert main(["validate", str(good), "--spark"]) == 0
    assert main(["validate", str(bad)]) == 0  # without Spark, neither is compiled
    capsys.readouterr()
    assert main(["validate", str(bad), "--spark"]) == 1
    out, err = capsys.readouterr()
    errors = [line for line in out.splitlines() if line.startswith("  error: ")]
    assert len(errors) == 2, out
    assert "'regex:code': pattern '[A-Z' is not a valid Java regular expression" in errors[0]
    assert "'sql:orders': its query does not compile" in errors[1] and "`amout`" in errors[1]
    assert "UNRESOLVED_COLUMN" not in err  # said once, in the output: pyspark's own log of it is kept quiet
