"""The openlineage plugin's parts that need no Spark: when it is configured, dataset names,
and the run listeners' isolation."""

from __future__ import annotations

import logging

import pytest
from dc43.runs import DatasetRef, RunListeners, WriteRun, job_name
from dc43_openlineage import config, naming


def test_unconfigured_disabled_and_configured(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.fingerprint() is None and config.client() is None
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:1")
    assert config.fingerprint() is not None
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert config.fingerprint() is None


def test_an_openlineage_yml_counts_only_with_a_transport(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "openlineage.yml").write_text("filters: []\n")
    assert config.fingerprint() is None
    (tmp_path / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert config.fingerprint() is not None


@pytest.mark.parametrize(("location", "expected"), [
    ("/data/orders", ("file", "/data/orders")),
    ("file:/data/orders", ("file", "/data/orders")),
    ("file:///data/orders", ("file", "/data/orders")),
    ("s3a://lake/raw/orders", ("s3a://lake", "/raw/orders")),
    ("hdfs://nn:8020/warehouse/orders", ("hdfs://nn:8020", "/warehouse/orders")),
])
def test_file_locations_follow_openlineage_naming(location, expected):
    assert naming.location_name(location) == expected


def test_a_relative_path_is_named_absolutely(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert naming.location_name("out/orders") == ("file", str(tmp_path / "out" / "orders"))


def test_kafka_topics_are_datasets_of_the_first_server():
    ref = DatasetRef(format="kafka", options={"kafka.bootstrap.servers": "b1:9092,b2:9092", "subscribe": "a, b"})
    assert naming.datasets(ref, spark=None) == [naming.Named("kafka://b1:9092", "a"), naming.Named("kafka://b1:9092", "b")]
    assert naming.datasets(DatasetRef(format="rate"), spark=None) == [naming.Named("rate", "rate")]


def test_the_job_is_named_by_the_context_then_the_query_then_the_dataset():
    assert job_name("orders", {"queryName": "q"}, {"job": "loader"}) == "loader"
    assert job_name("orders", {"queryName": "q"}, None) == "q"
    assert job_name("orders", {}, {}) == "orders.write"


class Broken:
    def __init__(self) -> None:
        self.ended = 0

    def run_started(self, run):
        raise RuntimeError("listener bug")

    def batch_judged(self, run, entry, verdict):
        raise RuntimeError("listener bug")

    def run_ended(self, run, *, error, verdict):
        self.ended += 1
        raise RuntimeError("listener bug")


def test_a_failing_listener_is_logged_and_the_end_is_told_once(caplog):
    run = WriteRun(dataset_id="orders", output=DatasetRef(format="parquet", path="/x"), inputs=(),
                   contract=None, streaming=True, job="orders.write")
    broken = Broken()
    listeners = RunListeners(run, [("broken", broken)])
    with caplog.at_level(logging.ERROR, logger="dc43.runs"):
        listeners.started()
        listeners.batch({"batch_id": 0}, None)
        listeners.ended(error=None)
        listeners.ended(error="again")
    assert broken.ended == 1
    assert sum("run listener 'broken' failed" in r.getMessage() for r in caplog.records) == 3


def test_unconfigured_the_listener_factory_imports_no_openlineage(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env["HOME"] = str(tmp_path)
    code = ("import sys, dc43_openlineage as p; (factory,) = p.dc43_run_listeners().values(); "
            "print(factory(), 'openlineage.client' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["None", "False"]


def test_configured_without_openlineage_python_the_warning_names_the_extra(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env.update(HOME=str(tmp_path), OPENLINEAGE_URL="http://127.0.0.1:1")
    code = ("import sys; sys.modules['openlineage'] = None\n"  # as if it were not installed
            "import dc43_openlineage as p; (factory,) = p.dc43_run_listeners().values(); print(factory())")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["None"]
    assert "pip install 'dc43[openlineage]'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("ref", "label"), [
    (DatasetRef("parquet", path="file:/data/orders"), "/data/orders"),
    (DatasetRef("parquet", path="file:///data/orders"), "/data/orders"),
    (DatasetRef("delta", table="sales.orders"), "sales.orders"),
    (DatasetRef("kafka", options={"subscribe": "orders", "kafka.bootstrap.servers": "b:9092"}),
     "kafka:kafka.bootstrap.servers=b:9092:subscribe=orders"),
])
def test_an_input_dataset_is_labelled_as_dc43_names_datasets(ref: DatasetRef, label: str) -> None:
    assert ref.label == label
