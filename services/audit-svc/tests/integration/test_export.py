"""GET /export gives a hash-anchored JSON Lines file that the offline CLI verifies on its own, naming the first
broken line of a tampered copy. The export reads the chain page by page, through the driver on Postgres and
through SQLAlchemy on SQLite: the whole round trip runs on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from audit_svc.verify_export import main as verify_export_main


async def exported(audit, tmp_path: Path, **params) -> tuple[Path, list[bytes]]:
    response = await audit.get("/export", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    path = tmp_path / "audit.jsonl"
    path.write_bytes(response.content)
    return path, response.content.splitlines()


async def filled(audit, count: int = 8) -> list:
    events = [
        audit.event(
            "verification.request.resolved",
            f"cr-{i}",
            {"request_id": f"cr-{i}", "provider_dept": "YC-GA", "on_time": i % 2 == 0, "note": f"第{i}条更正"},
            dept="YC-GA",
        )
        for i in range(1, count + 1)
    ]
    await audit.append(events)
    return events


def run_cli(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "audit_svc.verify_export", str(path), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.backends("postgres", "sqlite")
async def test_an_export_carries_header_records_and_anchor_and_verifies_offline(audit, tmp_path):
    events = await filled(audit)
    path, lines = await exported(audit, tmp_path)
    header, *records, anchor = (orjson.loads(line) for line in lines)
    assert header["from_seq"] == 1 and header["prev_hash"] == "00" * 32
    assert [r["seq"] for r in records] == list(range(1, 9))
    assert [r["record"]["event_id"] for r in records] == [e.id for e in events]
    live = (await audit.get("/verify")).json()
    assert anchor["anchor"] == {
        "from_seq": 1,
        "to_seq": 8,
        "count": 8,
        "prev_hash": "00" * 32,
        "last_hash": live["last_hash"],
    }
    cli = run_cli(path, "--expect-last-hash", live["last_hash"])
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stdout.startswith("OK: 8 records, seq 1–8")


async def test_an_exported_range_chains_from_the_record_before_it(audit, tmp_path):
    await filled(audit)
    path, lines = await exported(audit, tmp_path, from_seq=3, to_seq=6)
    header, anchor = orjson.loads(lines[0]), orjson.loads(lines[-1])["anchor"]
    assert (header["from_seq"], anchor["to_seq"], anchor["count"]) == (3, 6, 4)
    before = (await audit.get("/verify", to_seq=2)).json()["last_hash"]
    assert header["prev_hash"] == anchor["prev_hash"] == before
    assert anchor["last_hash"] == (await audit.get("/verify", to_seq=6)).json()["last_hash"]
    assert verify_export_main([str(path)]) == 0


def _rewrite(lines: list[bytes], index: int, change) -> list[bytes]:
    value = orjson.loads(lines[index])
    change(value)
    return [*lines[:index], orjson.dumps(value), *lines[index + 1 :]]


TAMPERED = {
    # (what is done to the file, the line named, its reason)
    "a record's data edited": (
        lambda lines: _rewrite(lines, 3, lambda v: v["record"]["data"].update(on_time=True)),
        4,
        "hash_mismatch",
    ),
    "a record's hash replaced": (
        lambda lines: _rewrite(lines, 5, lambda v: v.update(hash="ab" * 32)),
        6,
        "hash_mismatch",
    ),
    "a record line removed": (lambda lines: [*lines[:4], *lines[5:]], 5, "missing"),
    "two record lines swapped": (lambda lines: [*lines[:2], lines[3], lines[2], *lines[4:]], 3, "missing"),
    "the anchor's count changed": (
        lambda lines: _rewrite(lines, 9, lambda v: v["anchor"].update(count=7)),
        10,
        "anchor_mismatch",
    ),
    "the last line cut off": (lambda lines: lines[:-1], 9, "anchor_mismatch"),
    "a line that is not JSON": (lambda lines: [*lines[:6], b"{not json", *lines[7:]], 7, "malformed"),
}


@pytest.mark.parametrize("case", TAMPERED)
async def test_the_cli_names_the_first_broken_line_of_a_tampered_export(audit, tmp_path, case):
    tamper, line, reason = TAMPERED[case]
    await filled(audit)
    path, lines = await exported(audit, tmp_path)
    assert len(lines) == 10  # header, 8 records, anchor
    path.write_bytes(b"\n".join(tamper(lines)) + b"\n")
    cli = run_cli(path)
    assert cli.returncode == 1, cli.stdout
    assert cli.stdout.startswith(f"BROKEN at line {line}") and f": {reason} " in cli.stdout, cli.stdout


async def test_a_consistent_export_that_is_not_the_live_chain_fails_the_expected_hash(audit, tmp_path):
    await filled(audit)
    path, _ = await exported(audit, tmp_path)
    cli = run_cli(path, "--expect-last-hash", "00" * 32)
    assert cli.returncode == 1 and "anchor_mismatch" in cli.stdout
    assert run_cli(tmp_path / "nowhere.jsonl").returncode == 2
