"""OpenLineage run events for dc43 writes, built with the client's own facet classes.

The output dataset carries the contract's schema (``schema``) on every event and, on the
events that follow a verdict, ``dataQualityMetrics`` (row count; per column the null count
and, when both were measured, the distinct count) and ``dataQualityAssertions`` (each rule,
its column and whether it passed).  OpenLineage declares the assertions facet for inputs;
dc43 judges what it writes, so both facets sit in the output dataset's ``facets``.  The
micro-batch, its status and the contract are ``tags`` of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dc43.runs import WriteRun
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    data_quality_assertions_dataset,
    data_quality_metrics_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
    symlinks_dataset,
    tags_run,
)

from dc43_openlineage.naming import Named

PRODUCER = "https://pypi.org/project/dc43/"
TAG_SOURCE = "DC43"


def event(run: WriteRun, run_id: str, state: RunState, *, names: Mapping[str, Any], namespace: str,
          entry: Mapping[str, Any] | None = None, verdict: Mapping[str, Any] | None = None,
          error: str | None = None, at: datetime) -> RunEvent:
    """One event of ``run``; ``names`` holds the OpenLineage names of its datasets
    (:func:`dc43_openlineage.listener.names_of`): the judged outputs get the contract's facets,
    a rejection sink only its name; ``at`` is when it happened."""
    run_facets: dict[str, Any] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=names["spark_version"], name="spark", openlineageAdapterVersion=names["dc43_version"],
            producer=PRODUCER),
        "tags": tags_run.TagsRunFacet(tags=_tags(run, entry, verdict), producer=PRODUCER),
    }
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER)
    job = Job(namespace=namespace, name=run.job, facets={"jobType": job_type_job.JobTypeJobFacet(
        processingType="STREAMING" if run.streaming else "BATCH", integration=TAG_SOURCE, jobType="JOB",
        producer=PRODUCER)})
    inputs = [InputDataset(namespace=n.namespace, name=n.name, facets=_symlinks(n)) for n in names["inputs"]]
    outputs = [_output(named, names["schema"], entry, verdict) for named in names["outputs"]]
    outputs += [OutputDataset(namespace=n.namespace, name=n.name, facets=_symlinks(n)) for n in names["rejects"]]
    return RunEvent(eventType=state, eventTime=at.isoformat(), producer=PRODUCER,
                    run=Run(runId=run_id, facets=run_facets), job=job, inputs=inputs, outputs=outputs)


def _output(named: Named, schema: schema_dataset.SchemaDatasetFacet, entry: Mapping[str, Any] | None,
            verdict: Mapping[str, Any] | None) -> OutputDataset:
    facets: dict[str, Any] = {"schema": schema, **_symlinks(named)}
    output_facets: dict[str, Any] = {}
    if verdict is not None:
        facets["dataQualityMetrics"] = metrics_facet(verdict)
        facets["dataQualityAssertions"] = assertions_facet(verdict)
    if entry is not None or verdict is not None:
        rows = (entry or {}).get("row_count", (verdict or {}).get("metrics", {}).get("row_count"))
        if rows is not None:
            output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=int(rows), producer=PRODUCER)
    return OutputDataset(namespace=named.namespace, name=named.name, facets=facets, outputFacets=output_facets)


def schema_facet(contract: Any) -> schema_dataset.SchemaDatasetFacet:
    """The dataset's columns (by the data's names: ``physicalName``) with their Spark types and
    descriptions; a column named otherwise than its property says the property's name."""
    from dc43.contracts.physical_names import physical_names
    from dc43.spark.types import contract_properties, contract_struct

    names = physical_names(contract)
    return schema_dataset.SchemaDatasetFacet(
        fields=_fields(contract_struct(contract).fields, contract_properties(contract), names), producer=PRODUCER)


def _fields(struct_fields: Any, properties: Any, names: Mapping[str, str]) -> list[schema_dataset.SchemaDatasetFacetFields]:
    described = {p.name: p for p in properties or []}
    fields = []
    for position, field in enumerate(struct_fields, start=1):
        prop = described.get(field.name)
        nested = getattr(field.dataType, "fields", None)
        description = getattr(prop, "description", None)
        if field.name in names:
            description = f"{description} (property '{field.name}')" if description else f"property '{field.name}'"
        fields.append(schema_dataset.SchemaDatasetFacetFields(
            name=names.get(field.name, field.name), type=field.dataType.simpleString(), description=description,
            ordinal_position=position,
            fields=_fields(nested, getattr(prop, "properties", None), {}) if nested else []))
    return fields


def metrics_facet(verdict: Mapping[str, Any]) -> data_quality_metrics_dataset.DataQualityMetricsDatasetFacet:
    """Row count, and per column the nulls (``not_null`` or ``nullValues`` rules) and distinct values
    (``unique`` beside a null count) the rules measured."""
    metrics = verdict.get("metrics", {})
    rows = metrics.get("row_count")
    nulls: dict[str, int] = {}
    for rule in verdict.get("rules", []):
        column, measured = _column(rule), metrics.get(rule.get("metric") or "")
        if column and rule.get("rule") in ("not_null", "null_values") and measured is not None:
            nulls[column] = int(measured)
    columns: dict[str, data_quality_metrics_dataset.ColumnMetrics] = {
        column: data_quality_metrics_dataset.ColumnMetrics(nullCount=count, quantiles=None) for column, count in nulls.items()}
    for rule in verdict.get("rules", []):
        column, surplus = _column(rule), metrics.get(rule.get("metric") or "")
        if rule.get("rule") == "unique" and column in nulls and surplus is not None and rows is not None:
            columns[column].distinctCount = int(rows) - nulls[column] - int(surplus)
    return data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
        rowCount=int(rows) if rows is not None else None, columnMetrics=columns, producer=PRODUCER)


def _column(rule: Mapping[str, Any]) -> str:
    """The dataset's column a rule is on: the data's name (``physicalName``) where the verdict gives it."""
    return rule.get("data_column") or rule.get("column") or ""


def assertions_facet(verdict: Mapping[str, Any]) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """Each evaluated rule: its key, column, severity and whether it passed."""
    assertions = [
        data_quality_assertions_dataset.Assertion(
            assertion=rule["key"], success=bool(rule["passed"]), column=_column(rule) or None,
            severity=rule.get("severity"),
            actual=None if rule.get("violations") is None else str(rule["violations"]))
        for rule in verdict.get("rules", []) if rule.get("passed") is not None]
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=assertions, producer=PRODUCER)


def _tags(run: WriteRun, entry: Mapping[str, Any] | None,
          verdict: Mapping[str, Any] | None) -> list[tags_run.TagsRunFacetFields]:
    said = {"dc43.contract": f"{run.contract.id}@{run.contract.version}", "dc43.dataset": run.dataset_id}
    if entry is not None:
        said.update({"dc43.batch_id": entry.get("batch_id"), "dc43.status": entry.get("status"),
                     "dc43.action": entry.get("action"), "dc43.dataset_version": entry.get("dataset_version")})
    elif verdict is not None:
        said["dc43.status"] = verdict.get("status")
    return [tags_run.TagsRunFacetFields(key=k, value=str(v), source=TAG_SOURCE) for k, v in said.items()
            if v is not None]


def _symlinks(named: Named) -> dict[str, Any]:
    if not named.symlinks:
        return {}
    return {"symlinks": symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier(**i) for i in named.symlinks], producer=PRODUCER)}
