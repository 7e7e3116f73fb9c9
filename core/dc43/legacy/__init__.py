"""The original dc43's (0.33) Spark API, run on dc43's engine (caller side).

Pipelines written for the original keep working unchanged: its helper signatures
(:mod:`dc43.legacy.spark_io`), its locators (:mod:`dc43.legacy.locators`), its
read-status and write-violation strategies (:mod:`dc43.legacy.statuses`,
:mod:`dc43.legacy.violations`) and result shapes (:mod:`dc43.legacy.shapes`).
``docs/migrating.md`` maps each name to dc43's own API.
"""
