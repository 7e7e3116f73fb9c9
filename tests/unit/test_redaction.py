"""Secrets are hidden by key and by value pattern, nested, in every shape they come in."""

from __future__ import annotations

import pytest
from dc43.formats import DatasetTarget
from dc43.redaction import REDACTED, is_secret_key, redact, redact_text

SECRET = "s3cr3t-Zq81"


@pytest.mark.parametrize("text", [
    f"Authorization: Bearer {SECRET}",
    f"Basic {SECRET}",
    f"jdbc:postgresql://ann:{SECRET}@db:5432/x",
    f"https://ann:{SECRET}@example.com/path",
    f"token={SECRET}",
    f"call?api_key={SECRET}&page=2",
    f'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="{SECRET}";',
    f"--password={SECRET}",
    f"client_secret: {SECRET}",
    f"ACCESS_KEY={SECRET}",
])
def test_secret_values_are_hidden_inside_text(text: str) -> None:
    hidden = redact_text(text)
    assert SECRET not in hidden and REDACTED in hidden


@pytest.mark.parametrize("text", ["batch 3 of orders: 2 rows", "not_null:customer: 1 row(s) violate not_null",
                                  "s3://bucket/orders", "tokenizer=wordpiece is a setting"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_nested_context_is_hidden_by_key_by_flag_and_by_pattern() -> None:
    context = {
        "job": "orders-nightly",
        "headers": {"Authorization": f"Bearer {SECRET}", "Accept": "application/json"},
        "argv": ["spark-submit", "--password", SECRET, "--name", "orders", f"--token={SECRET}"],
        "kafka.sasl.jaas.config": f'... password="{SECRET}";',
        "note": f"retry with token={SECRET}",
        "attempts": 3,
    }
    hidden = redact(context)
    assert SECRET not in repr(hidden)
    assert hidden["job"] == "orders-nightly" and hidden["attempts"] == 3
    assert hidden["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert hidden["argv"][:5] == ["spark-submit", "--password", REDACTED, "--name", "orders"]
    assert context["headers"]["Authorization"] == f"Bearer {SECRET}"  # the caller's copy is untouched


def test_secret_looking_keys() -> None:
    assert all(is_secret_key(k) for k in ("password", "kafka.ssl.key.password", "kafka.sasl.jaas.config",
                                          "Authorization", "fs.s3a.secret.key", "X-Api-Key".lower(), "apikey"))
    assert not any(is_secret_key(k) for k in ("path", "checkpointLocation", "kafka.bootstrap.servers", "queryName"))


def test_a_target_never_shows_its_option_values() -> None:
    target = DatasetTarget(format="kafka", dataset_id="orders", dataset_version="1",
                           options={"kafka.sasl.jaas.config": f'password="{SECRET}"', "password": SECRET,
                                    "kafka.bootstrap.servers": "broker:9092"})
    assert SECRET not in repr(target) and "broker:9092" in repr(target)
