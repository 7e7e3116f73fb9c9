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


TABLES = """\
apiVersion: v3.0.2
kind: DataContract
id: env.air
version: 1.0.0
status: active
schema:
  - name: Air_Quality
    physicalName: aq_readings
    quality:
      - {type: sql, query: "select count(*) from Air_Quality where pm25 > 500", mustBe: 0}
      - {type: sql, query: "SELECT COUNT(*) FROM monitoring.aq_readings r WHERE r.pm25 < 0", mustBe: 0}
      - {type: sql, query: "SELECT COUNT(*) FROM ${object} WHERE pm25 IS NULL", mustBeLessThan: 10}
      - {type: sql, query: "SELECT COUNT(*) FROM Air_Quality WHERE pm2_5 > 1", mustBe: 0}
      - {type: sql, query: "SELECT station FROM Air_Quality", mustBe: 0}
    properties:
      - {name: station, physicalType: string}
      - {name: pm25, physicalType: double}
"""


def test_sql_rules_may_name_their_table_and_every_bad_one_is_listed_once(spark, tmp_path, capsys) -> None:
    path = tmp_path / "air.yaml"
    path.write_text(TABLES)
    assert main(["validate", str(path), "--spark"]) == 1
    out, err = capsys.readouterr()
    errors = [line for line in out.splitlines() if line.startswith("  error: ")]
    assert len(errors) == 2, out  # the first three analyse: by name, by physical name qualified, by ${object}
    assert "'sql:Air_Quality#4': its query does not compile" in errors[0] and "`pm2_5`" in errors[0]
    assert "'sql:Air_Quality#5': its query returns (station string), not one number" in errors[1]
    assert "UNRESOLVED_COLUMN" not in err
