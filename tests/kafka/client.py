"""Produce and consume with a plain Kafka client, never through the code under test."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer


def produce(bootstrap: str, topic: str, records: Iterable[tuple[str | None, Any]]) -> None:
    """Send ``(key, value)`` pairs in order; dict values become JSON, str values go as is."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value in records:
            data = json.dumps(value) if isinstance(value, dict) else value
            producer.send(topic, key=None if key is None else key.encode(),
                          value=None if data is None else data.encode())
        producer.flush(timeout=30)
    finally:
        producer.close()


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """Every record of ``topic`` from the start: polls until ``expected`` arrived (or the
    timeout passed), then once more for a second so that extra records would show."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            records.extend(_poll(consumer, 500))
        records.extend(_poll(consumer, 1_000))
    finally:
        consumer.close()
    return records


def _poll(consumer: KafkaConsumer, timeout_ms: int) -> list[Any]:
    batches = consumer.poll(timeout_ms=timeout_ms)
    return sorted((r for part in batches.values() for r in part), key=lambda r: (r.partition, r.offset))
