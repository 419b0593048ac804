"""Evidence files (证明材料): PDF, JPEG or PNG by their content, at most 8 MiB each, kept with their SHA-256;
only the subject, the applicant and the provider may download them; no file bytes ever travel in events."""

from __future__ import annotations

import hashlib

import pytest
from verification_svc.domain import EVIDENCE_MAX_BYTES

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def upload(verification, request_id: str, who: str, content: bytes, filename: str, content_type: str):
    return await verification.client.post(
        f"/api/verification/corrections/{request_id}/evidence",
        files={"file": (filename, content, content_type)},
        headers=verification.as_(who),
    )


@pytest.mark.backends("postgres", "sqlite")  # the bytes come back as they went in
async def test_applicant_uploads_a_pdf_and_its_sha256_is_recorded(verification):
    created = await verification.file("citizen")
    response = await upload(verification, created["id"], "citizen", PDF, "户口簿.pdf", "application/pdf")
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["content_type"] == "application/pdf" and stored["size"] == len(PDF)
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert stored["filename"] == "户口簿.pdf"

    listed = (await verification.get(f"/corrections/{created['id']}/evidence", "ga")).json()
    assert listed == [stored]
    assert (await verification.get(f"/corrections/{created['id']}", "ga")).json()["evidence_count"] == 1
    page = (await verification.get("/corrections", "ga")).json()
    assert [(i["resource_name"], i["evidence_count"]) for i in page["items"]] == [("户籍人口基本信息", 1)]

    download = await verification.get(f"/corrections/{created['id']}/evidence/{stored['id']}", "ga")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"


async def test_type_is_read_from_the_content_not_the_name_or_the_header(verification):
    created = await verification.file("citizen")
    disguised = await upload(
        verification, created["id"], "citizen", b"MZ\x90\x00" + b"\x00" * 100, "a.pdf", "application/pdf"
    )
    assert disguised.status_code == 415
    assert disguised.json()["code"] == "evidence_type_not_allowed" and disguised.json()["field"] == "file"
    png = await upload(verification, created["id"], "citizen", PNG, "scan.bin", "application/octet-stream")
    assert png.status_code == 201 and png.json()["content_type"] == "image/png"


@pytest.mark.backends("postgres", "sqlite")
async def test_a_file_over_the_limit_is_413(verification):
    created = await verification.file("citizen")
    too_big = PDF + b"0" * (EVIDENCE_MAX_BYTES + 1 - len(PDF))
    refused = await upload(verification, created["id"], "citizen", too_big, "big.pdf", "application/pdf")
    assert refused.status_code == 413
    assert refused.json()["rule"] == "max_size"
    just_fits = PDF + b"0" * (EVIDENCE_MAX_BYTES - len(PDF))
    accepted = await upload(verification, created["id"], "citizen", just_fits, "fits.pdf", "application/pdf")
    assert accepted.status_code == 201 and accepted.json()["size"] == EVIDENCE_MAX_BYTES
    assert (await verification.get(f"/corrections/{created['id']}/evidence", "citizen")).json()[0]["size"] == (
        EVIDENCE_MAX_BYTES
    )


async def test_only_the_applicant_adds_evidence_and_only_while_the_request_is_open(verification):
    created = await verification.file("citizen")
    assert (await upload(verification, created["id"], "ga", PDF, "x.pdf", "application/pdf")).status_code == 403
    assert (await upload(verification, created["id"], "mz", PDF, "x.pdf", "application/pdf")).status_code == 404
    await verification.post(f"/corrections/{created['id']}/resolve", "ga", {"outcome": "no_error", "note": "无误"})
    closed = await upload(verification, created["id"], "citizen", PDF, "x.pdf", "application/pdf")
    assert closed.status_code == 409 and closed.json()["code"] == "request_resolved"


async def test_bureau_sees_the_list_masked_but_cannot_download(verification):
    created = await verification.file("citizen")
    name = f"身份证{verification.PERSON}.pdf"
    stored = (await upload(verification, created["id"], "citizen", PDF, name, "application/pdf")).json()
    listed = await verification.get(f"/corrections/{created['id']}/evidence", "bureau")
    assert listed.status_code == 200 and verification.PERSON not in listed.text
    assert listed.json()[0]["filename"] == "身份证3405**********001X.pdf"
    refused = await verification.get(f"/corrections/{created['id']}/evidence/{stored['id']}", "bureau")
    assert refused.status_code == 403 and refused.json()["code"] == "evidence_restricted"


async def test_no_file_content_or_name_reaches_an_event(verification):
    created = await verification.file("citizen")
    await upload(verification, created["id"], "citizen", PDF, "户口簿.pdf", "application/pdf")
    raw = "\n".join(await verification.raw_outbox())
    assert "%PDF" not in raw and "户口簿" not in raw and hashlib.sha256(PDF).hexdigest() not in raw
