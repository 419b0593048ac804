"""aiokafka producers and topic set-up, configured from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from govdata_shared.events import ALL_TOPICS
from govdata_shared.settings import Settings

log = logging.getLogger("govdata.kafka")


def make_producer(settings: Settings, **overrides) -> AIOKafkaProducer:
    # The local broker rejects InitProducerId, so idempotence is a setting (on for Apache Kafka).
    options = dict(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(settings: Settings, topics: tuple[str, ...] = ALL_TOPICS) -> None:
    """Create the platform's topics if missing (production usually declares them as KafkaTopic resources)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
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
