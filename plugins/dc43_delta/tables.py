"""Delta tables through Spark SQL: the session check, creation from a contract, commit versions.

Only SQL and the DataFrame API are used (no ``delta`` Python package), so every topology
works the same: classic, a cluster's driver, and Spark Connect (where the server has Delta).
"""

from __future__ import annotations

import re
from typing import Any

from dc43.errors import Dc43Error, InvalidArgumentError, did_you_mean
from dc43.formats import REJECTED_RULES_COLUMN, DatasetTarget

EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
#: how many of a table's latest commits are searched for a micro-batch's own
HISTORY_DEPTH = 50


def check_session(spark: Any) -> None:
    """Raise, naming the fix, when ``spark`` was not built for Delta Lake."""
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    catalog = spark.conf.get("spark.sql.catalog.spark_catalog", "") or ""
    if EXTENSION not in extensions or catalog != CATALOG:
        raise Dc43Error(
            "format 'delta' needs a Spark session built for Delta Lake, and this one has "
            f"spark.sql.extensions={extensions or '(unset)'!r}, spark.sql.catalog.spark_catalog="
            f"{catalog or '(unset)'!r}. Build it with dc43_delta.configure(SparkSession.builder) after "
            f"pip install 'dc43[delta]', or set spark.sql.extensions={EXTENSION} and "
            f"spark.sql.catalog.spark_catalog={CATALOG} with io.delta:delta-spark_4.2_2.13 on the classpath "
            "(on Spark Connect: on the server)")


def identifier(target: DatasetTarget) -> str:
    """The SQL name of ``target``'s table: its name, or ``delta.`<path>```."""
    if target.table:
        return target.table
    if not target.path:
        raise InvalidArgumentError("format 'delta' needs a location: pass path=... or table=..., or give the "
                                   "locator or the contract server one")
    return "delta.`" + target.path.replace("`", "``") + "`"


_PART = r"(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`]|``)+`)"
_NAME = re.compile(rf"{_PART}(?:\.{_PART}){{0,2}}")


def check_table(spark: Any, target: DatasetTarget) -> None:
    """Refuse, before any query, a table name that is a path or malformed, or whose database does
    not exist (Spark would fail mid-write, or write a table nobody looks for)."""
    name = target.table
    if not name:
        return
    if "/" in name or "\\" in name or name.startswith((".", "~")):
        raise InvalidArgumentError(f"table={name!r} is a path, not a table name: pass path={name!r} for a Delta "
                                   "table by location, or a name such as sales.orders")
    if not _NAME.fullmatch(name.strip()):
        raise InvalidArgumentError(f"table={name!r} is not a table name: write [catalog.][database.]table, each part "
                                   "letters, digits and _ or quoted with backticks (`my table`)")
    parts = re.findall(_PART, name)
    if len(parts) < 2:
        return
    database = ".".join(parts[:-1])
    if not spark.catalog.databaseExists(database):
        known = sorted(db.name for db in spark.catalog.listDatabases())
        raise InvalidArgumentError(f"table={name!r}: there is no database {database!r}"
                                   f"{did_you_mean(database.strip('`'), known)}; create it (CREATE DATABASE "
                                   f"{database}) or use one of: {', '.join(known)}")


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sql_type(data_type: Any, *, nullable_inside: bool) -> str:
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(data_type, StructType):
        fields = (f"{_quoted(f.name)}: {_sql_type(f.dataType, nullable_inside=nullable_inside)}"
                  + ("" if f.nullable or nullable_inside else " NOT NULL") for f in data_type.fields)
        return f"STRUCT<{', '.join(fields)}>"
    if isinstance(data_type, ArrayType):
        return f"ARRAY<{_sql_type(data_type.elementType, nullable_inside=nullable_inside)}>"
    if isinstance(data_type, MapType):
        return (f"MAP<{_sql_type(data_type.keyType, nullable_inside=nullable_inside)}, "
                f"{_sql_type(data_type.valueType, nullable_inside=nullable_inside)}>")
    return data_type.simpleString()


def table_columns(target: DatasetTarget) -> str:
    """The column list a table for ``target`` is created with, from its contract.

    ``required`` becomes NOT NULL and descriptions become comments; a rejection sink's table
    keeps every column nullable (its rows broke the rules) and adds the rules they broke.
    """
    from dc43.contracts.physical_names import physical_names
    from dc43.spark.types import contract_properties, data_struct

    struct = data_struct(target.contract)  # the columns by the data's names (physicalName)
    names = physical_names(target.contract)
    described = {names.get(p.name, p.name): p.description for p in contract_properties(target.contract)
                 if p.description}
    columns = []
    for field in struct.fields:
        column = f"{_quoted(field.name)} {_sql_type(field.dataType, nullable_inside=target.rejects)}"
        if not field.nullable and not target.rejects:
            column += " NOT NULL"
        if field.name in described:
            column += f" COMMENT {_literal(described[field.name])}"
        columns.append(column)
    if target.rejects:
        columns.append(f"{_quoted(REJECTED_RULES_COLUMN)} ARRAY<STRING> COMMENT "
                       f"{_literal('the contract rules the row broke')}")
    return ", ".join(columns)


def ensure_table(spark: Any, target: DatasetTarget) -> None:
    """Create ``target``'s table from its contract unless a table is there already."""
    if target.contract is None:
        return
    comment = f" COMMENT {_literal(target.contract.description.purpose)}" if _purpose(target.contract) else ""
    spark.sql(f"CREATE TABLE IF NOT EXISTS {identifier(target)} ({table_columns(target)}) USING delta{comment}")


def _purpose(contract: Any) -> str | None:
    description = getattr(contract, "description", None)
    return getattr(description, "purpose", None) if description is not None else None


def streaming_commits(spark: Any, target: DatasetTarget, query_id: str) -> dict[int, dict[str, int]]:
    """The versions Delta's own streaming sink committed for query ``query_id`` (its commits name
    the query and the batch, ``epochId``), by batch id, among the latest :data:`HISTORY_DEPTH`."""
    from pyspark.sql import functions as F

    parameters = F.col("operationParameters")
    rows = (spark.sql(f"DESCRIBE HISTORY {identifier(target)} LIMIT {HISTORY_DEPTH}")
            .where((F.col("operation") == "STREAMING UPDATE") & (parameters["queryId"] == query_id))
            .select("version", parameters["epochId"].alias("batch_id")).collect())
    return {int(row.batch_id): {"delta_version": int(row.version)} for row in rows}


def commit_tag(writer_id: str, batch_id: int) -> str:
    """The ``userMetadata`` a micro-batch's commit carries: found again even when a replay was skipped."""
    return f"dc43 {writer_id} batch {batch_id}"


def committed_version(spark: Any, target: DatasetTarget, tag: str) -> int | None:
    """The table version whose commit carries ``tag`` among the latest :data:`HISTORY_DEPTH`."""
    from pyspark.sql import functions as F

    rows = (spark.sql(f"DESCRIBE HISTORY {identifier(target)} LIMIT {HISTORY_DEPTH}")
            .where(F.col("userMetadata") == tag).select("version").collect())
    return int(rows[0][0]) if rows else None
