"""Mistakes made calling the helpers: each is refused before any query starts, with a dc43
error that names the input and the fix.  Run on classic Spark and on Spark Connect."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from dc43.contracts.store import FSContractStore
from dc43.errors import (
    ContractFormatError,
    ContractNotFoundError,
    ContractStatusError,
    Dc43Error,
    InvalidArgumentError,
    UnknownComponentError,
    UnknownFormatError,
)
from dc43.formats import UnsupportedOperationError
from dc43.strategies import BlockAfterFailuresStrategy
from dc43_integrations.spark.io import (
    read_stream_with_contract,
    read_with_contract,
    write_stream_with_contract,
    write_with_contract,
)
from open_data_contract_standard.model import DataQuality

from tests.spark.orders import SCHEMA, drained, orders_contract

pytestmark = [pytest.mark.spark, pytest.mark.connect]


@attrs.frozen
class Env:
    spark: Any
    stream: Any  # the orders stream, read under its contract
    batch: Any  # a batch DataFrame of orders
    tmp: Path
    services: dict[str, Any]
    background: list[str] = attrs.field(factory=list)  # ids of queries a case starts on purpose

    def write(self, **kwargs: Any) -> Any:
        """A streaming write of the orders stream, with ``kwargs`` replacing the defaults."""
        return self._stream_write(write_stream_with_contract, kwargs)

    def own_write(self, **kwargs: Any) -> Any:
        """The same write through dc43's own API (:mod:`dc43.spark.io`), which takes no original-API services."""
        from dc43.spark.io import write_stream_with_contract as own

        return self._stream_write(own, kwargs)

    def _stream_write(self, helper: Any, kwargs: dict[str, Any]) -> Any:
        call = {"df": self.stream, "contract_id": "sales.orders", "format": "parquet",
                "path": str(self.tmp / "out"), "options": {"checkpointLocation": str(self.tmp / "cp")},
                **self.services, **kwargs}
        return helper(**call)

    def inline(self, **kwargs: Any) -> Any:
        return self.write(observation_writer="inline", **kwargs)

    def write_batch(self, **kwargs: Any) -> Any:
        call = {"df": self.batch, "contract_id": "sales.orders", "format": "parquet",
                "path": str(self.tmp / "batch-out"), **self.services, **kwargs}
        return write_with_contract(**call)

    def read(self, **kwargs: Any) -> Any:
        call = {"spark": self.spark, "contract_id": "sales.orders", "format": "parquet",
                "path": str(self.tmp / "nowhere"), **self.services, **kwargs}
        return read_with_contract(**call)


@attrs.frozen
class Case:
    name: str
    act: Callable[[Env], Any]
    error: type[Exception]
    names: tuple[str, ...]
    classic_only: bool = False  # checks this process's files, which on Connect are not the server's


def store_with_pattern(env: Env, pattern: str) -> dict[str, Any]:
    contract = orders_contract().model_copy(update={"id": "sales.patterned"}, deep=True)
    contract.schema_[0].properties[1].quality = [DataQuality(rule="regex", mustBe=pattern)]
    env.services["contract_service"].store.put(contract)
    return {"contract_id": "sales.patterned"}


def store_with_sql(env: Env, query: str) -> dict[str, Any]:
    contract = orders_contract().model_copy(update={"id": "sales.queried"}, deep=True)
    contract.schema_[0].quality = [DataQuality(type="sql", query=query, mustBe=0)]
    env.services["contract_service"].store.put(contract)
    return {"contract_id": "sales.queried"}


def store_with_rule(env: Env, **rule: Any) -> dict[str, Any]:
    """The orders contract with ``rule`` on ``amount`` (a double)."""
    contract = orders_contract().model_copy(update={"id": "sales.ruled"}, deep=True)
    contract.schema_[0].properties[2].quality = [DataQuality(**rule)]
    env.services["contract_service"].store.put(contract)
    return {"contract_id": "sales.ruled"}


def keyed_by_event_time(env: Env, column: str) -> dict[str, Any]:
    """The orders contract keyed across batches over 2 h of the event time in ``column``."""
    from open_data_contract_standard.model import CustomProperty

    contract = orders_contract().model_copy(update={"id": "sales.timed"}, deep=True)
    contract.schema_[0].customProperties = [CustomProperty(property="dc43.keyHorizon", value="2 h"),
                                            CustomProperty(property="dc43.keyEventTime", value=column)]
    env.services["contract_service"].store.put(contract)
    return {"contract_id": "sales.timed"}


def another_writes_checkpoint(env: Env) -> dict[str, Any]:
    """A checkpoint a finished write to another sink owns."""
    checkpoint = str(env.tmp / "cp-taken")
    drained(env.write(path=str(env.tmp / "first"), options={"checkpointLocation": checkpoint}, enforce=False))
    return {"options": {"checkpointLocation": checkpoint}}


def plain_query_checkpoint(env: Env) -> dict[str, Any]:
    """A checkpoint in which a plain Spark query (not a dc43 write) committed a batch."""
    checkpoint = str(env.tmp / "cp-plain")
    query = (env.stream.writeStream.format("parquet").option("checkpointLocation", checkpoint)
             .start(str(env.tmp / "plain")))
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    return {"options": {"checkpointLocation": checkpoint}}


def draft(env: Env) -> dict[str, Any]:
    contract = orders_contract().model_copy(update={"id": "sales.draft", "status": "draft"}, deep=True)
    env.services["contract_service"].store.put(contract)
    return {"contract_id": "sales.draft"}


def running(env: Env) -> str:
    name = f"taken_{uuid.uuid4().hex[:8]}"
    result = env.write(format="memory", path=None, options={"queryName": name})
    env.background.extend(str(q.id) for q in result.details["streaming_queries"])
    return name


CASES = [
    # the data and the session
    Case("write_stream given a list", lambda e: e.write(df=[1, 2]), InvalidArgumentError, ("Spark DataFrame", "list")),
    Case("write_stream given a batch DataFrame", lambda e: e.write(df=e.batch),
         InvalidArgumentError, ("batch DataFrame", "write_with_contract")),
    Case("write_with_contract given a stream", lambda e: e.write_batch(df=e.stream),
         InvalidArgumentError, ("streaming DataFrame", "write_stream_with_contract")),
    Case("read given no session", lambda e: e.read(spark=None), InvalidArgumentError, ("SparkSession", "NoneType")),
    Case("read_stream given a DataFrame as session",
         lambda e: read_stream_with_contract(spark=e.batch, contract_id="sales.orders", format="rate", **e.services),
         InvalidArgumentError, ("SparkSession", "DataFrame")),
    # the contract and the services
    Case("no contract id", lambda e: e.write(contract_id=None), InvalidArgumentError, ("contract_id is required",)),
    Case("contract id that is not a string", lambda e: e.write(contract_id=7), InvalidArgumentError, ("contract_id", "7")),
    Case("a store where a contract client is expected",
         lambda e: e.own_write(contract_service=FSContractStore(e.tmp)),
         InvalidArgumentError, ("FSContractStore", "LocalContractServiceClient(store)")),
    Case("a contract service without resolve", lambda e: e.write(contract_service=object()),
         InvalidArgumentError, ("contract_service", "resolve()")),
    Case("a data-quality service without evaluate", lambda e: e.write(data_quality_service=object()),
         InvalidArgumentError, ("data_quality_service", "describe_expectations()", "evaluate()")),
    Case("a governance service without record_verdict", lambda e: e.write(governance_service={"url": "x"}),
         InvalidArgumentError, ("governance_service", "dict", "record_verdict()")),
    Case("a version nobody published", lambda e: e.write(expected_contract_version="==9.9.9"),
         ContractNotFoundError, ("9.9.9", "1.0.0")),
    Case("a draft contract without allow_inactive", lambda e: e.write(**draft(e)),
         ContractStatusError, ("draft", "allow_inactive=True")),
    Case("a rule pattern Java cannot compile", lambda e: e.write(**store_with_pattern(e, "[A-Z")),
         ContractFormatError, ("[A-Z", "regex:customer", "java.util.regex")),
    Case("a rule pattern Java cannot compile, in a batch write", lambda e: e.write_batch(**store_with_pattern(e, "(?<x")),
         ContractFormatError, ("(?<x",)),
    Case("a SQL rule naming a column the stream lacks",
         lambda e: e.write(**store_with_sql(e, "SELECT COUNT(*) FROM ${object} WHERE amout < 0")),
         ContractFormatError, ("sql:orders", "does not compile", "amout", "Fix the query")),
    Case("a SQL rule with a syntax error", lambda e: e.write(**store_with_sql(e, "SELECT COUNT(*) FORM ${object}")),
         ContractFormatError, ("sql:orders", "does not compile")),
    Case("a SQL rule giving text, not a number",
         lambda e: e.write(**store_with_sql(e, "SELECT MAX(customer) FROM ${object}")),
         ContractFormatError, ("sql:orders", "string", "not one number")),
    Case("a SQL rule giving two columns",
         lambda e: e.write(**store_with_sql(e, "SELECT COUNT(*), MAX(amount) FROM ${object}")),
         ContractFormatError, ("sql:orders", "not one number")),
    # where the data goes
    Case("a format name misspelled", lambda e: e.write(format="parquett"),
         UnknownFormatError, ("parquett", "did you mean 'parquet'")),
    Case("an observation writer misspelled", lambda e: e.write(observation_writer="inlin"),
         UnknownComponentError, ("inlin", "did you mean 'inline'")),
    Case("a locator name nobody provides", lambda e: e.write(dataset_locator="lake"),
         UnknownComponentError, ("locator 'lake'", "static")),
    Case("a locator that is not one", lambda e: e.write(dataset_locator={"path": "/x"}),
         InvalidArgumentError, ("dataset_locator", "dict", "locate(request)")),
    Case("both a path and a table", lambda e: e.write(table="orders"),
         InvalidArgumentError, ("path=", "table='orders'", "not both")),
    Case("a path that is not a string", lambda e: e.write(path=Path("/tmp/x")),
         InvalidArgumentError, ("path must be a string", "PosixPath")),
    Case("a file format without a location", lambda e: e.write(path=None),
         InvalidArgumentError, ("format 'parquet' needs a location", "path=")),
    Case("the memory sink without a name", lambda e: e.write(format="memory", path=None, options={}),
         InvalidArgumentError, ("memory sink needs a table name", "queryName")),
    Case("a source used as a sink", lambda e: e.write(format="rate", path=None),
         UnsupportedOperationError, ("format 'rate' does not support write stream",)),
    Case("a query name already running", lambda e: e.write(format="memory", path=None,
                                                            options={"queryName": running(e)}),
         InvalidArgumentError, ("already running", "queryName")),
    Case("kafka without bootstrap servers", lambda e: e.write(format="kafka", path=None, table="orders"),
         InvalidArgumentError, ("bootstrap servers", "kafka.bootstrap.servers")),
    Case("a batch read of a path that does not exist", lambda e: e.read(),
         InvalidArgumentError, ("nowhere", "does not exist")),
    Case("a streaming read of a path that does not exist",
         lambda e: read_stream_with_contract(spark=e.spark, contract_id="sales.orders", format="parquet",
                                             path=str(e.tmp / "nowhere"), **e.services),
         InvalidArgumentError, ("nowhere", "does not exist")),
    # options, modes, triggers, switches
    Case("options as a string", lambda e: e.write(options="checkpointLocation=/x"),
         InvalidArgumentError, ("options must be a mapping", "checkpointLocation=/x")),
    Case("an option holding a mapping", lambda e: e.write(options={"checkpointLocation": {"path": "/x"}}),
         InvalidArgumentError, ("option 'checkpointLocation'", "dict")),
    Case("a streaming mode misspelled", lambda e: e.write(mode="apend"),
         InvalidArgumentError, ("'apend'", "did you mean 'append'", "complete")),
    Case("a batch mode misspelled", lambda e: e.write_batch(mode="overwrit"),
         InvalidArgumentError, ("'overwrit'", "did you mean 'overwrite'", "errorifexists")),
    Case("a batch mode on a stream", lambda e: e.write(mode="overwrite"),
         InvalidArgumentError, ("'overwrite'", "streaming output mode")),
    Case("a trigger misspelled", lambda e: e.write(trigger={"processingtime": "1 second"}),
         InvalidArgumentError, ("'processingtime'", "did you mean 'processingTime'")),
    Case("a trigger with a value of the wrong type", lambda e: e.write(trigger={"availableNow": "yes"}),
         InvalidArgumentError, ("'availableNow'", "bool", "'yes'")),
    Case("two triggers at once", lambda e: e.write(trigger={"once": True, "availableNow": True}),
         InvalidArgumentError, ("exactly one trigger",)),
    Case("a trigger given as text", lambda e: e.write(trigger="10 seconds"),
         InvalidArgumentError, ("exactly one trigger", "'10 seconds'")),
    Case("enforce as the string 'false'", lambda e: e.write(enforce="false"),
         InvalidArgumentError, ("enforce must be True or False", "'false'")),
    Case("auto_cast as a number", lambda e: e.write(auto_cast=0), InvalidArgumentError, ("auto_cast", "0")),
    Case("allow_inactive as None", lambda e: e.write_batch(allow_inactive=None),
         InvalidArgumentError, ("allow_inactive", "None")),
    Case("a callback that is not callable", lambda e: e.write(on_streaming_batch="print"),
         InvalidArgumentError, ("on_streaming_batch", "str")),
    Case("a pipeline context given as a number", lambda e: e.write(pipeline_context=42),
         InvalidArgumentError, ("pipeline_context must be a mapping", "int")),
    # strategies
    Case("a strategy class instead of an instance",
         lambda e: e.write(streaming_intervention_strategy=BlockAfterFailuresStrategy),
         InvalidArgumentError, ("BlockAfterFailuresStrategy", "instance")),
    Case("a strategy name misspelled", lambda e: e.write(streaming_intervention_strategy="warning"),
         UnknownComponentError, ("'warning'", "did you mean 'warn'")),
    Case("a strategy that cannot decide", lambda e: e.write(streaming_intervention_strategy=42),
         InvalidArgumentError, ("decide(context)", "int")),
    Case("reroute without a rejection sink", lambda e: e.inline(streaming_intervention_strategy="reroute"),
         InvalidArgumentError, ("reroutes batches", "rejection_sink")),
    # the gate, checkpoints and rejection sinks
    Case("the gate without a checkpoint", lambda e: e.inline(options={}),
         InvalidArgumentError, ("observation_writer='inline'", "checkpointLocation", "restart")),
    Case("a checkpoint that is a file",
         lambda e: e.write(options={"checkpointLocation": str(_touch(e.tmp / "cp.txt"))}),
         InvalidArgumentError, ("cp.txt", "is a file"), classic_only=True),
    Case("a checkpoint inside the sink's folder",
         lambda e: e.write(options={"checkpointLocation": str(e.tmp / "out" / "_chk")}),
         InvalidArgumentError, ("_chk", "inside the sink's path")),
    Case("a rejection sink at the sink's own path",
         lambda e: e.inline(rejection_sink={"format": "parquet", "path": str(e.tmp / "out")}),
         InvalidArgumentError, ("rejection sink's path", "overlaps")),
    Case("a rejection sink inside the sink's folder",
         lambda e: e.inline(rejection_sink={"format": "parquet", "path": str(e.tmp / "out" / "rejected")}),
         InvalidArgumentError, ("out/rejected", "overlaps")),
    Case("a rejection sink without the gate",
         lambda e: e.write(rejection_sink={"format": "parquet", "path": str(e.tmp / "rejected")}),
         InvalidArgumentError, ("rejection_sink", "observation_writer='inline'")),
    Case("a rejection sink without a format", lambda e: e.inline(rejection_sink={"path": str(e.tmp / "r")}),
         InvalidArgumentError, ("rejection_sink", "needs a format")),
    Case("a rejection sink with an unknown key",
         lambda e: e.inline(rejection_sink={"format": "parquet", "pth": str(e.tmp / "r")}),
         InvalidArgumentError, ("rejection_sink", "'pth'")),
    Case("a rejection sink given as a string", lambda e: e.inline(rejection_sink="parquet:/tmp/r"),
         InvalidArgumentError, ("rejection_sink must be a dataset locator",)),
    Case("a rejection sink that cannot take batches",
         lambda e: e.inline(rejection_sink={"format": "memory", "table": "rejected"}),
         UnsupportedOperationError, ("format 'memory' cannot write batches",)),
    Case("the gate into a sink that cannot take batches",
         lambda e: e.inline(format="memory", path=None, options={"queryName": "gate",
                                                                  "checkpointLocation": str(e.tmp / "cp")}),
         UnsupportedOperationError, ("format 'memory' cannot write batches", "observation_writer='inline'")),
    Case("a split without a rejection sink", lambda e: e.write_batch(violation_strategy="split"),
         InvalidArgumentError, ("violation_strategy='split'", "rejection_sink")),
    Case("a violation strategy misspelled", lambda e: e.write_batch(violation_strategy="splt"),
         InvalidArgumentError, ("'splt'", "did you mean 'split'")),
    # rules written wrongly: refused, never a "not evaluated" warning that lets enforce=True write
    Case("an unknown rule name", lambda e: e.write(**store_with_rule(e, rule="regexp", mustBe="^1")),
         ContractFormatError, ("regexp:amount", "did you mean 'regex'", "sales.ruled")),
    Case("a misspelled metric on a batch write", lambda e: e.write_batch(**store_with_rule(e, metric="nullValuez")),
         ContractFormatError, ("nullValuez:amount", "did you mean 'nullValues'")),
    Case("an inverted mustBeBetween", lambda e: e.inline(**store_with_rule(e, mustBeBetween=[10, 0])),
         ContractFormatError, ("between:amount", "low <= high", "[0, 10]")),
    Case("a SQL rule without a query", lambda e: e.write(**store_with_rule(e, type="sql", mustBe=0)),
         ContractFormatError, ("sql:amount", "needs a 'query'")),
    Case("a NaN limit", lambda e: e.write_batch(**store_with_rule(e, mustBeGreaterThan=float("nan"))),
         ContractFormatError, ("gt:amount", "finite number")),
    Case("a text limit on a number", lambda e: e.write(**store_with_rule(e, mustBe="lots")),
         ContractFormatError, ("eq:amount", "'lots' is not one")),

    # options and locations a format would ignore, checkpoints and tables that are not this write's
    Case("a path on the rate source",
         lambda e: read_stream_with_contract(spark=e.spark, contract_id="sales.orders", format="rate",
                                             path=str(e.tmp / "rates"), **e.services),
         InvalidArgumentError, ("format 'rate'", "path=", "would be ignored")),
    Case("a dead-letter topic on a parquet sink",
         lambda e: e.write(options={"checkpointLocation": str(e.tmp / "cp"), "dc43.deadLetter.topic": "dlq"}),
         InvalidArgumentError, ("format 'parquet'", "dc43.deadLetter.topic", "Kafka")),
    Case("an event-time key column that is not a timestamp",
         lambda e: e.write(**keyed_by_event_time(e, "customer")),
         ContractFormatError, ("dc43.keyEventTime", "'customer' is a string", "timestamp")),
    Case("a checkpoint another write owns", lambda e: e.write(**another_writes_checkpoint(e)),
         InvalidArgumentError, ("cp-taken", "belongs to the write to parquet:", "first", "of its own")),
    Case("a Delta table name that is a path", lambda e: e.write(format="delta", path=None, table=str(e.tmp / "t")),
         InvalidArgumentError, ("is a path", "path=")),
    Case("a malformed Delta table name", lambda e: e.write_batch(format="delta", path=None, table="my orders"),
         InvalidArgumentError, ("'my orders'", "[catalog.][database.]table")),
    Case("a Delta table in a database that does not exist",
         lambda e: e.inline(format="delta", path=None, table="salez.orders"),
         InvalidArgumentError, ("no database 'salez'", "CREATE DATABASE")),

    Case("a checkpoint a plain Spark query committed in", lambda e: e.write(**plain_query_checkpoint(e)),
         InvalidArgumentError, ("cp-plain", "not a dc43 write", "of its own")),
    Case("a SQL rule naming another table, on a batch write",
         lambda e: e.write_batch(**store_with_sql(e, "SELECT COUNT(*) FROM orders_archive WHERE amount < 0")),
         ContractFormatError, ("sql:orders", "does not compile", "'orders_archive'", "not the batch")),

]


def _touch(path: Path) -> Path:
    path.write_text("not a folder")
    return path


@pytest.fixture
def env(spark: Any, source_stream: Any, tmp_path: Path, services: dict[str, Any]) -> Env:
    batch = spark.createDataFrame([(1, "ann", 1.0, "EUR")], SCHEMA)
    return Env(spark, source_stream, batch, tmp_path, services)


@pytest.mark.parametrize("case", [pytest.param(c, marks=[pytest.mark.classic_only] if c.classic_only else [])
                                  for c in CASES], ids=[c.name for c in CASES])
def test_a_mistake_is_refused_before_any_query_starts(case: Case, env: Env) -> None:
    before = {str(q.id) for q in env.spark.streams.active}
    try:
        with pytest.raises(case.error) as raised:
            case.act(env)
    finally:
        started = [q for q in env.spark.streams.active if str(q.id) not in before]
        for query in started:
            query.stop()
    assert isinstance(raised.value, Dc43Error)
    message = str(raised.value)
    missing = [name for name in case.names if name not in message]
    assert not missing, f"the message does not name {missing}: {message}"
    assert [q.name for q in started if str(q.id) not in env.background] == [], \
        "a query was started before the mistake was refused"
    assert not (env.tmp / "out").exists() and not (env.tmp / "cp").exists()


def test_there_are_at_least_sixty_cases_across_both_suites() -> None:
    from tests.unit.test_bad_inputs import CASES as UNIT_CASES

    assert len(CASES) + len(UNIT_CASES) >= 60


def test_a_misspelled_property_key_is_a_warning_in_the_result_and_in_governance(env: Env) -> None:
    import json

    from dc43.contracts import LocalContractServiceClient
    from dc43.contracts.loading import contract_to_dict

    document = contract_to_dict(orders_contract())
    document["schema"][0]["properties"][2]["requried"] = True  # amount: meant to be required
    folder = env.tmp / "store" / "sales.orders"
    folder.mkdir(parents=True)
    (folder / "1.0.0.json").write_text(json.dumps(document))
    services = {**env.services, "contract_service": LocalContractServiceClient(FSContractStore(env.tmp / "store"))}
    (env.tmp / "in").mkdir()
    _, result = read_stream_with_contract(spark=env.spark, contract_id="sales.orders", format="parquet",
                                          path=str(env.tmp / "in"), **services)
    note = ("contract sales.orders@1.0.0: schema[0].properties[2]: unknown key 'requried' "
            "(did you mean 'required'?) was ignored")
    assert result.status == "warn" and note in result.warnings
    (observation,) = env.services["governance_service"].observations(str(env.tmp / "in"))
    assert observation.status == "warn" and note in observation.warnings
