"""The session's Kafka broker and a fresh topic name per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.kafka_support import KafkaBroker, ensure_jars


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """One KRaft broker for the whole session; yields its bootstrap address."""
    ensure_jars()
    broker = KafkaBroker().start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def new_topic() -> Callable[[str], str]:
    """Topic names no other test uses: ``new_topic("orders")`` -> ``orders-<uuid>``."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"
