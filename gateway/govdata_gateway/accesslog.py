"""Access records of the data plane: one per data call, allowed or denied, kept before the answer leaves.

第三十二条 makes users accountable for what they pull, so after a leak the bureau must be able to say which client
and system called which resource, when, and how many records came back (X-Road keeps a record of every message).

How a record travels:

1. the handler calls `AccessLog.record` just before its response goes out: the record, one JSON line, is
   appended to the current segment of a local spool with a single `write()`. From then on it survives the
   gateway process dying (SIGKILL, OOM): the bytes are the kernel's. A failed write refuses the call (503
   `access_log_unavailable`): a call is never served unrecorded;
2. a background sender reads the spool from the last confirmed position, `fsync`s what it is about to send (so
   a batch survives a machine crash too: fsync is batched, never per call), and sends up to
   `GATEWAY_ACCESS_BATCH_MAX` records as ONE `access.records` event on govdata.access.v1;
3. when the broker confirms, the position moves on (a small checkpoint file) and fully sent segments are
   deleted. A batch sent but not checkpointed (a crash in between) is sent again after restart; audit-svc keeps
   each record id once, so nothing is counted twice.

While the broker is unreachable records simply accumulate in the spool; the sender retries with backoff and
catches up when it is back, oldest first. Only when the unsent spool passes `GATEWAY_ACCESS_SPOOL_MAX_BYTES`
are data calls refused (503) — never dropped. A restarted gateway finds its spool and sends what is left.

One spool belongs to one gateway process (an exclusive lock on the directory); each replica needs its own
directory (`GATEWAY_ACCESS_SPOOL_DIR`, a per-pod volume on Kubernetes). Of a replica's workers (GATEWAY_WORKERS),
worker 0 spools in that directory and worker i in `worker-<i>` inside it; when fewer workers start than before,
worker 0 also sends what the ones no longer started left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from govdata_shared.contracts.access import ACCESS_RECORDS
from govdata_shared.events import TOPICS, new_event
from govdata_shared.kafka import make_producer
from prometheus_client import Counter, Gauge

from govdata_gateway.projection import cancel_task
from govdata_gateway.settings import GatewaySettings

log = logging.getLogger("govdata.gateway.accesslog")

ACCESS_TOPIC = TOPICS["access"]
SOURCE = "gateway"
SEGMENT_MAX_BYTES = 16 * 1024 * 1024
BATCH_MAX_BYTES = 512 * 1024  # well under Kafka's default 1 MB message limit
SEND_TIMEOUT_SECONDS = 10.0
SHUTDOWN_FLUSH_SECONDS = 5.0
_SEGMENT_PREFIX = "segment-"
_SEGMENT_SUFFIX = ".jsonl"

ACCESS_RECORDS_WRITTEN = Counter("govdata_gateway_access_records_total", "Access records written to the spool")
ACCESS_RECORDS_SENT = Counter("govdata_gateway_access_records_sent_total", "Access records confirmed by the broker")
ACCESS_SEND_FAILURES = Counter("govdata_gateway_access_send_failures_total", "Failed attempts to send access records")
ACCESS_REFUSED = Counter(
    "govdata_gateway_access_log_refusals_total", "Data calls refused because their record could not be kept"
)
ACCESS_UNSENT_BYTES = Gauge("govdata_gateway_access_spool_unsent_bytes", "Spooled access records not yet sent")


class SpoolLocked(RuntimeError):
    """Another gateway process holds the spool directory."""


def _segment_name(number: int) -> str:
    return f"{_SEGMENT_PREFIX}{number:012d}{_SEGMENT_SUFFIX}"


def _segment_number(name: str) -> int | None:
    if name.startswith(_SEGMENT_PREFIX) and name.endswith(_SEGMENT_SUFFIX):
        digits = name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)]
        if digits.isdigit():
            return int(digits)
    return None


class AccessLog:
    """The spool and its sender (see the module doc)."""

    def __init__(self, settings: GatewaySettings, directory: Path | None = None) -> None:
        self.settings = settings
        self.dir = directory or settings.access_spool_dir()
        self._gauge: Gauge | None = ACCESS_UNSENT_BYTES if directory is None else None  # this process's own spool
        # The limit is the replica's (its volume's): each of its workers may fill its share.
        self.max_unsent = settings.gateway_access_spool_max_bytes // settings.processes_serving()
        self.flush_seconds = settings.gateway_access_flush_seconds
        self.batch_max = settings.gateway_access_batch_max
        self.instance = ""
        self.failed: str | None = None  # why the spool could not be written, after a failed write
        self._failed_until = 0.0
        self.unsent_bytes = 0
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._segment = 0  # the one being written
        self._written = 0  # bytes in it
        self._synced = 0  # bytes of it known to be on disk
        self._sent: tuple[int, int] = (0, 0)  # (segment, offset) up to which the broker confirmed
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._retry_delay = 0.5

    # ---- opening and closing the spool

    def open(self) -> None:
        """Lock the directory, find what earlier runs left unsent, and start a new segment for this run."""
        self.dir.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise SpoolLocked(
                f"access record spool {self.dir} is in use by another gateway process; "
                "give each gateway its own GATEWAY_ACCESS_SPOOL_DIR"
            ) from None
        self._lock_fd = lock_fd
        instance_file = self.dir / "instance"
        if not instance_file.exists():
            instance_file.write_text(f"gw-{uuid.uuid4().hex[:12]}\n", encoding="ascii")
        self.instance = instance_file.read_text(encoding="ascii").strip()
        segments = self._segments()
        self._sent = self._read_checkpoint(segments)
        self.unsent_bytes = sum(
            (self.dir / _segment_name(n)).stat().st_size - (self._sent[1] if n == self._sent[0] else 0)
            for n in segments
            if n >= self._sent[0]
        )
        if self.unsent_bytes:
            log.info("access record spool %s: %d bytes left unsent by an earlier run", self.dir, self.unsent_bytes)
        # A new segment per run: a line torn by a machine crash stays at the end of an old, finished segment.
        self._segment = (segments[-1] + 1) if segments else 1
        if not segments:
            self._sent = (self._segment, 0)
        self._open_segment()
        if self._gauge is not None:
            self._gauge.set(self.unsent_bytes)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def _segments(self) -> list[int]:
        return sorted(n for name in os.listdir(self.dir) if (n := _segment_number(name)) is not None)

    def _read_checkpoint(self, segments: list[int]) -> tuple[int, int]:
        try:
            segment, offset = (self.dir / "sent").read_text(encoding="ascii").split()
            position = (int(segment), int(offset))
        except (OSError, ValueError):
            position = (segments[0], 0) if segments else (0, 0)
        if segments and position[0] < segments[0]:
            position = (segments[0], 0)
        return position

    def _open_segment(self) -> None:
        path = self.dir / _segment_name(self._segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._written = self._synced = os.fstat(self._fd).st_size

    def _roll(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._segment += 1
        self._open_segment()

    # ---- the request path: one write() per call

    @property
    def refusing(self) -> bool:
        """Calls must be refused: the spool cannot take their records (after a failed write, for a second; then
        a call tries again, so a freed disk is noticed without a restart)."""
        if self.failed is not None and time.monotonic() < self._failed_until:
            return True
        return self.unsent_bytes >= self.max_unsent

    def record(self, record: dict[str, Any]) -> bool:
        """Append `record` to the spool; False when it could not be kept (the call must then be refused)."""
        line = orjson.dumps(record) + b"\n"
        try:
            if self._fd is None:
                raise OSError("the access record spool is not open")
            os.write(self._fd, line)
        except OSError as exc:
            ACCESS_REFUSED.inc()
            if self.failed is None:
                log.error("access record spool %s cannot be written: %r; refusing data calls", self.dir, exc)
            self.failed = repr(exc)
            self._failed_until = time.monotonic() + 1.0
            return False
        self.failed = None
        self._written += len(line)
        self.unsent_bytes += len(line)
        ACCESS_RECORDS_WRITTEN.inc()
        if self._written >= SEGMENT_MAX_BYTES:
            try:
                self._roll()
            except OSError as exc:
                self.failed = repr(exc)
                self._failed_until = time.monotonic() + 1.0
        if self.unsent_bytes >= BATCH_MAX_BYTES:
            self._wake.set()
        return True

    # ---- spools of workers no longer started

    def left_over(self) -> list[AccessLog]:
        """Worker 0's charge: the spools of workers numbered beyond this run's count (`worker-<i>`, i ≥ N)."""
        if self.settings.gateway_worker or not self.dir.is_dir():
            return []
        count = self.settings.processes_serving()
        return [
            AccessLog(self.settings, path)
            for path in sorted(self.dir.glob("worker-*"))
            if path.is_dir() and (number := path.name.removeprefix("worker-")).isdigit() and int(number) >= count
        ]

    async def drain(self) -> None:
        """Send everything this (left-over) spool holds, retrying while the broker is away, then close it."""
        try:
            self.open()
        except SpoolLocked as exc:
            log.error("%s", exc)
            return
        try:
            if self.unsent_bytes:
                log.info(
                    "sending %d bytes of access records a worker no longer started left in %s",
                    self.unsent_bytes,
                    self.dir,
                )
            while self.unsent_bytes:
                await self._send_or_back_off()
        finally:
            await self._close_producer()
            self.close()

    # ---- the sender

    def start(self) -> None:
        if self._fd is None:
            self.open()
        self._task = asyncio.create_task(self._run(), name="gateway-access-records")

    async def stop(self) -> None:
        """Send what can be sent within a few seconds; the rest stays in the spool for the next run."""
        if self._task is not None:
            await cancel_task(self._task, "access records")
            self._task = None
        if self.unsent_bytes and self._fd is not None:
            try:
                async with asyncio.timeout(SHUTDOWN_FLUSH_SECONDS):
                    await self.send_pending()
            except Exception as exc:  # noqa: BLE001 - shutting down: what is left stays spooled
                log.warning("shutdown: %d bytes of access records stay in the spool: %r", self.unsent_bytes, exc)
        await self._close_producer()
        self.close()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_seconds):
                    await self._wake.wait()
            self._wake.clear()
            if self.unsent_bytes:
                await self._send_or_back_off()

    async def _send_or_back_off(self) -> None:
        """Send what is spooled; when that fails, count it, drop the producer and wait before the next try."""
        try:
            await self.send_pending()
            self._retry_delay = 0.5
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the broker's trouble never reaches a data call
            ACCESS_SEND_FAILURES.inc()
            log.warning(
                "could not send access records of %s (%d bytes spooled; retry in %.1fs): %r",
                self.dir,
                self.unsent_bytes,
                self._retry_delay,
                exc,
            )
            await self._close_producer()
            await asyncio.sleep(self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, 5.0)

    async def send_pending(self) -> int:
        """Send everything spooled, batch by batch; returns how many records were sent."""
        sent = 0
        while True:
            lines, end = self._read_batch()
            if end == self._sent:
                return sent
            if lines:
                await self._sync_through(end)
                await self._send(lines)
            self._advance(end)
            sent += len(lines)
            ACCESS_RECORDS_SENT.inc(len(lines))

    def _read_batch(self) -> tuple[list[bytes], tuple[int, int]]:
        """Up to `batch_max` complete lines from the confirmed position, and the position after them."""
        segment, offset = self._sent
        while True:
            path = self.dir / _segment_name(segment)
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    chunk = f.read(BATCH_MAX_BYTES)
            except FileNotFoundError:
                chunk = b""
            lines = chunk.split(b"\n")
            tail = lines.pop()  # after the last newline: empty, or a line still incomplete
            lines = lines[: self.batch_max]
            if lines:
                return lines, (segment, offset + sum(len(line) + 1 for line in lines))
            if segment >= self._segment:
                return [], (segment, offset)
            # A finished segment is done (a torn last line, from a machine crash, cannot be sent).
            if tail:
                log.error("access record spool: an incomplete last line of %s is skipped", path.name)
                self.unsent_bytes -= len(tail)
            segment, offset = segment + 1, 0

    async def _sync_through(self, end: tuple[int, int]) -> None:
        """fsync the current segment if the batch reaches into its unsynced part (finished ones were synced)."""
        segment, offset = end
        if segment == self._segment and offset > self._synced and self._fd is not None:
            written = self._written
            await asyncio.to_thread(os.fsync, self._fd)
            self._synced = written

    async def _send(self, lines: list[bytes]) -> None:
        good = []
        for line in lines:
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                log.error("access record spool: an unreadable line is skipped (%d bytes)", len(line))
            else:
                good.append(line)
        if not good:
            return
        # The records go into the event as the spool holds them (masked on the request path already): parsing
        # and serialising them again, and walking them for identifiers, would cost more than everything else.
        envelope = new_event(
            ACCESS_RECORDS, self.instance, {}, version=1, actor=SOURCE, dept=None, source=SOURCE
        ).to_json()
        data = b'"data":{"gateway":' + orjson.dumps(self.instance) + b',"records":[' + b",".join(good) + b"]}"
        payload = envelope.replace(b'"data":{}', data, 1)
        producer = await self._ensure_producer()
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await producer.send_and_wait(ACCESS_TOPIC, payload, key=self.instance.encode())

    def _advance(self, end: tuple[int, int]) -> None:
        before = self._sent
        if end[0] == before[0]:
            self.unsent_bytes -= end[1] - before[1]
        else:  # the batch began where a finished segment ended (its skipped tail was subtracted already)
            self.unsent_bytes -= end[1]
        self.unsent_bytes = max(self.unsent_bytes, 0)
        self._sent = end
        if self._gauge is not None:
            self._gauge.set(self.unsent_bytes)
        checkpoint = self.dir / "sent"
        temporary = self.dir / "sent.tmp"
        temporary.write_text(f"{end[0]} {end[1]}\n", encoding="ascii")
        os.replace(temporary, checkpoint)
        for n in range(before[0], end[0]):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / _segment_name(n)).unlink()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.settings, request_timeout_ms=5000, client_id="gateway-access")
            try:
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await producer.stop()


def new_record_id() -> str:
    """A record's own id: 128 random bits, time-ordered enough by the record's `time` beside it."""
    return os.urandom(16).hex()


def now_iso(ts: float) -> str:
    """`ts` as the record's UTC time text (microseconds, 'Z')."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1_000_000):06d}Z"
