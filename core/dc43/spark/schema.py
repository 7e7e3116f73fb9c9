"""Validate a Spark schema against a contract and align DataFrames to it."""

from __future__ import annotations

from typing import Any

import attrs
from open_data_contract_standard.model import OpenDataContractStandard
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    AtomicType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegralType,
    MapType,
    NullType,
    NumericType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from dc43.contracts.physical_names import physical_names
from dc43.errors import SchemaMappingError
from dc43.formats import DECODE_ERROR_COLUMN
from dc43.spark.metrics import balanced
from dc43.spark.types import contract_properties, contract_struct, type_notes

EXTRA_COLUMN_MODES = ("warn", "error", "ignore")
_TEMPORAL = (DateType, TimestampType, TimestampNTZType)


@attrs.define
class SchemaReport:
    """Outcome of comparing an actual schema with a contract.

    ``casts`` maps a column to its (actual, expected) type names; ``missing``
    and ``extra`` hold column paths (dotted for nested fields).
    """

    errors: list[str] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    casts: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    missing: list[str] = attrs.field(factory=list)
    extra: list[str] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors


def check_schema(
    actual: StructType,
    contract: OpenDataContractStandard,
    *,
    object_name: str | None = None,
    auto_cast: bool = True,
    extra_columns: str = "warn",
) -> SchemaReport:
    """Compare ``actual`` with the contract schema.

    ``extra_columns`` is ``warn``, ``error`` or ``ignore`` (extra columns are
    listed in the report either way).
    """
    if extra_columns not in EXTRA_COLUMN_MODES:
        raise ValueError(
            f"extra_columns must be one of {', '.join(EXTRA_COLUMN_MODES)}, got '{extra_columns}'"
        )
    names = physical_names(contract, object_name)
    checker = _Checker(SchemaReport(warnings=type_notes(contract, object_name)), auto_cast=auto_cast,
                       extra_columns=extra_columns, logical={p: n for n, p in names.items()})
    present = {f.name for f in actual.fields}
    expected = [StructField(data_name(f.name, names, present), f.dataType, f.nullable)
                for f in contract_struct(contract, object_name).fields]
    checker.fields(actual.fields, expected, prefix="")
    return checker.report


def data_name(name: str, names: dict[str, str], present: set[str]) -> str:
    """The data column of the property ``name``: its physical name (``names``), or its logical name
    when the data carries that one and not the physical one."""
    physical = names.get(name, name)
    return name if physical not in present and name in present else physical


def aligned_columns(
    actual: StructType, contract: OpenDataContractStandard, *, object_name: str | None = None
) -> list[Column]:
    """One column per contract property, in contract order, typed as the contract says and named as
    the data names it (its ``physicalName``, read from the column of that name or of its logical name).

    Differing types are converted with ``try_cast`` (structs by field name),
    absent columns become typed nulls and extra columns are dropped.
    """
    present = {f.name: f for f in actual.fields}
    names = physical_names(contract, object_name)
    columns = []
    for field in contract_struct(contract, object_name).fields:
        source = present.get(data_name(field.name, names, set(present)))
        if source is None:
            column = F.lit(None).cast(field.dataType)
        else:
            column = _align(F.col(quoted(source.name)), source.dataType, field.dataType, field.name)
        columns.append(column.alias(names.get(field.name, field.name)))
    return columns


def cast_loss_checks(
    actual: StructType, contract: OpenDataContractStandard, *, object_name: str | None = None
) -> dict[str, Column]:
    """Per cast column (by logical name), a boolean that is TRUE where a non-null value would be lost."""
    present = {f.name: f for f in actual.fields}
    names = physical_names(contract, object_name)
    checks = {}
    for field in contract_struct(contract, object_name).fields:
        source = present.get(data_name(field.name, names, set(present)))
        if source is not None and not same_type(source.dataType, field.dataType):
            checks[field.name] = _loss(F.col(quoted(source.name)), source.dataType, field.dataType)
    return checks


def align_dataframe(
    df: DataFrame, contract: OpenDataContractStandard, *, object_name: str | None = None
) -> DataFrame:
    """``df`` reduced and converted to the contract's columns (see ``aligned_columns``)."""
    return df.select(*aligned_columns(df.schema, contract, object_name=object_name))


def quoted(name: str) -> str:
    """``name`` quoted with backticks so dots and spaces are taken literally."""
    return "`" + name.replace("`", "``") + "`"


def same_type(actual: DataType, expected: DataType) -> bool:
    """True when both types are equal, ignoring nullability."""
    if isinstance(actual, StructType) and isinstance(expected, StructType):
        return [f.name for f in actual.fields] == [f.name for f in expected.fields] and all(
            same_type(a.dataType, e.dataType) for a, e in zip(actual.fields, expected.fields)
        )
    if isinstance(actual, ArrayType) and isinstance(expected, ArrayType):
        return same_type(actual.elementType, expected.elementType)
    if isinstance(actual, MapType) and isinstance(expected, MapType):
        return same_type(actual.keyType, expected.keyType) and same_type(
            actual.valueType, expected.valueType
        )
    return actual == expected


def castable(actual: DataType, expected: DataType) -> bool:
    """True when an atomic ``actual`` value may be cast to ``expected``."""
    if isinstance(actual, NullType):
        return True
    if isinstance(actual, NumericType) and isinstance(expected, NumericType):
        return True
    if isinstance(expected, StringType):
        return isinstance(actual, AtomicType)
    if isinstance(actual, StringType):
        return isinstance(expected, (NumericType, BooleanType, *_TEMPORAL))
    return isinstance(actual, _TEMPORAL) and isinstance(expected, _TEMPORAL)


@attrs.define
class _Checker:
    """Walks actual and expected fields, recording problems in ``report``."""

    report: SchemaReport
    auto_cast: bool
    extra_columns: str
    logical: dict[str, str] = attrs.field(factory=dict)  # physical name -> the property's logical name

    def _named(self, path: str) -> str:
        """``path`` quoted for messages; a physical name says its property's logical name too."""
        return f"'{path}' (property '{self.logical[path]}')" if path in self.logical else f"'{path}'"

    def fields(
        self, actual: list[StructField], expected: list[StructField], *, prefix: str
    ) -> bool:
        """Compare field lists; False when they cannot be converted."""
        present = {f.name: f for f in actual}
        wanted = {f.name for f in expected}
        ok = True
        for field in expected:
            path = prefix + field.name
            source = present.get(field.name)
            if source is None:
                ok &= self._missing(field, path, [n for n in present if n not in wanted])
            elif not prefix:
                self._column(source.dataType, field.dataType, path)
            else:
                ok &= self._convert(source.dataType, field.dataType, path)
        for field in actual:
            if field.name not in wanted:
                ok &= self._extra(prefix + field.name, field.name, wanted)
        return ok

    def _missing(self, field: StructField, path: str, unmatched: list[str]) -> bool:
        hint = _case_hint(field.name, unmatched)
        if not field.nullable:
            self.report.errors.append(
                f"column {self._named(path)} is required by the contract but missing{hint}"
            )
            return False
        self.report.missing.append(path)
        self.report.warnings.append(
            f"column {self._named(path)} is optional and missing; it will be filled with nulls{hint}"
        )
        return True

    def _extra(self, path: str, name: str, wanted: set[str]) -> bool:
        self.report.extra.append(path)
        matches = [w for w in wanted if w.lower() == name.lower()]
        hint = f" (it differs only in case from '{matches[0]}')" if matches else ""
        message = f"column '{path}' is not in the contract{hint}; add it there or drop it"
        if self.extra_columns == "error":
            self.report.errors.append(message)
            return False
        if self.extra_columns == "warn":
            self.report.warnings.append(message)
        return True

    def _column(self, actual: DataType, expected: DataType, path: str) -> None:
        if same_type(actual, expected):
            return
        names = (actual.simpleString(), expected.simpleString())
        if not self.auto_cast:
            self.report.errors.append(
                f"column {self._named(path)} has type {names[0]} but the contract expects {names[1]}; "
                "cast it before writing or enable auto_cast"
            )
        elif self._convert(actual, expected, path):
            self.report.casts[path] = names
            self.report.warnings.append(
                f"column {path}: {names[0]} -> {names[1]}, will be cast; "
                "values that do not fit become violations"
            )

    def _convert(self, actual: DataType, expected: DataType, path: str) -> bool:
        if same_type(actual, expected):
            return True
        if isinstance(actual, StructType) and isinstance(expected, StructType):
            return self.fields(actual.fields, expected.fields, prefix=f"{path}.")
        if isinstance(actual, ArrayType) and isinstance(expected, ArrayType):
            return self._convert(actual.elementType, expected.elementType, f"{path}[]")
        if isinstance(actual, MapType) and isinstance(expected, MapType):
            keys = self._convert(actual.keyType, expected.keyType, f"{path}{{key}}")
            values = self._convert(actual.valueType, expected.valueType, f"{path}{{value}}")
            return keys and values
        if castable(actual, expected):
            return True
        self.report.errors.append(
            f"column '{path}' has type {actual.simpleString()} which cannot be cast to the "
            f"contract type {expected.simpleString()}; fix the data or the contract"
        )
        return False


def _case_hint(name: str, candidates: list[str]) -> str:
    matches = [c for c in candidates if c.lower() == name.lower()]
    if not matches:
        return ""
    return f"; did you mean '{matches[0]}'? Column names are case-sensitive, rename it to '{name}'"


def _align(column: Column, actual: DataType, expected: DataType, path: str) -> Column:
    if same_type(actual, expected):
        return column
    if isinstance(actual, StructType) and isinstance(expected, StructType):
        present = {f.name: f.dataType for f in actual.fields}
        fields = [
            (
                _align(column.getField(f.name), present[f.name], f.dataType, f"{path}.{f.name}")
                if f.name in present
                else F.lit(None).cast(f.dataType)
            ).alias(f.name)
            for f in expected.fields
        ]
        return F.when(column.isNull(), F.lit(None).cast(expected)).otherwise(F.struct(*fields))
    if isinstance(actual, ArrayType) and isinstance(expected, ArrayType):
        return F.transform(
            column, lambda x: _align(x, actual.elementType, expected.elementType, f"{path}[]")
        )
    if isinstance(actual, MapType) and isinstance(expected, MapType):
        if not same_type(actual.keyType, expected.keyType):
            column = F.transform_keys(
                column, lambda k, _: _align(k, actual.keyType, expected.keyType, f"{path}{{key}}")
            )
        return F.transform_values(
            column,
            lambda _, v: _align(v, actual.valueType, expected.valueType, f"{path}{{value}}"),
        )
    if castable(actual, expected):
        return column.try_cast(expected)
    raise SchemaMappingError(
        f"column '{path}' has type {actual.simpleString()} which cannot be converted to the "
        f"contract type {expected.simpleString()}; run check_schema and fix the reported errors"
    )


def _loss(column: Column, actual: DataType, expected: DataType) -> Column:
    if same_type(actual, expected):
        return F.lit(False)
    if isinstance(actual, StructType) and isinstance(expected, StructType):
        present = {f.name: f for f in actual.fields}
        checks = [
            _loss(column.getField(f.name), present[f.name].dataType, f.dataType)
            for f in expected.fields
            if f.name in present
        ]
        return balanced(lambda a, b: a | b, [F.lit(False), *checks])
    if isinstance(actual, ArrayType) and isinstance(expected, ArrayType):
        lost = F.exists(column, lambda x: _loss(x, actual.elementType, expected.elementType))
        return F.coalesce(lost, F.lit(False))
    if isinstance(actual, MapType) and isinstance(expected, MapType):
        keys = F.exists(F.map_keys(column), lambda k: _loss(k, actual.keyType, expected.keyType))
        values = F.exists(
            F.map_values(column), lambda v: _loss(v, actual.valueType, expected.valueType)
        )
        return F.coalesce(keys | values, F.lit(False))
    cast = column.try_cast(expected)
    if isinstance(expected, DecimalType) and isinstance(actual, (NumericType, StringType)):
        # a value with more digits after the point than the scale is rounded, not nulled
        exact = column if isinstance(actual, (DecimalType, IntegralType)) else column.try_cast(DoubleType())
        return column.isNotNull() & (cast.isNull() | (cast != exact))
    return column.isNotNull() & cast.isNull()


def aligned_map(schema: Any, contract: Any, auto_cast: bool) -> dict[str, Any]:
    """Contract column name -> aligned expression of data with ``schema`` (empty when not auto-casting)."""
    if not auto_cast:
        return {}
    names = [prop.name for prop in contract_properties(contract)]
    return dict(zip(names, aligned_columns(schema, contract)))


def row_checks(schema: Any, contract: Any, auto_cast: bool) -> dict[str, Any]:
    """Per-row checks besides the contract's rules: values lost by a cast, undecodable rows."""
    checks = {f"cast:{name}": lost for name, lost in
              (cast_loss_checks(schema, contract) if auto_cast else {}).items()}
    if DECODE_ERROR_COLUMN in schema.fieldNames():
        checks["decode"] = F.col(DECODE_ERROR_COLUMN).isNotNull()
    return checks


def column_types(contract: Any) -> dict[str, Any]:
    """Spark type of every contract column, nested fields by dotted path."""
    types: dict[str, Any] = {}

    def walk(struct: StructType, prefix: str) -> None:
        for field in struct.fields:
            types[prefix + field.name] = field.dataType
            if isinstance(field.dataType, StructType):
                walk(field.dataType, f"{prefix}{field.name}.")

    walk(contract_struct(contract), "")
    return types
