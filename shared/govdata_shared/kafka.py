"""aiokafka producers and topic set-up, configured from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from govdata_shared.events import ALL_TOPICS
from govdata_shared.settings import Settings

log = logging.getLogger("govdata.kafka")


def client_options(settings: Settings) -> dict[str, Any]:
    """Where the broker is and how to reach it securely: keyword arguments of every aiokafka producer, consumer
    and admin client of the platform. Settings has already refused incomplete combinations at start-up."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers, "security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        # Verifies the broker's certificate and host name against the CA file; a client certificate for mTLS.
        options["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile, certfile=settings.kafka_ssl_certfile, keyfile=settings.kafka_ssl_keyfile
        )
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = _sasl_password(settings)
    return options


def _sasl_password(settings: Settings) -> str:
    # Read when a client is built (start-up), never logged; a trailing newline of the file is not part of it.
    if settings.kafka_sasl_password_file is not None:
        return settings.kafka_sasl_password_file.read_text(encoding="utf-8").rstrip("\r\n")
    assert settings.kafka_sasl_password is not None
    return settings.kafka_sasl_password.get_secret_value()


def make_producer(settings: Settings, **overrides) -> AIOKafkaProducer:
    # The local broker rejects InitProducerId, so idempotence is a setting (on for Apache Kafka).
    options = dict(
        **client_options(settings),
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(settings: Settings, topics: tuple[str, ...] = ALL_TOPICS) -> None:
    """Create the platform's topics if missing (production usually declares them as KafkaTopic resources)."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another replica won the race
                await admin.create_topics(
                    [NewTopic(t, settings.kafka_topic_partitions, settings.kafka_topic_replication) for t in missing]
                )
    finally:
        await admin.close()


async def broker_reachable(producer: AIOKafkaProducer, timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
