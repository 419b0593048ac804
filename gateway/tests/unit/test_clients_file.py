"""The clients file that seeds the identity registry, checked before anything starts; and the hashes the
registry stores (argon2id, PBKDF2 from older files), with the operators' command that makes them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from govdata_gateway import passwords
from govdata_gateway.clients import ClientsFile, ClientsFileError, load_clients_file, password_policy_violation
from govdata_gateway.identity import DEMO_CLIENTS_FILE

CLIENTS: dict[str, Any] = {
    "departments": [
        {"code": "YC-GA", "name": "伊川县公安局"},
        {"code": "YC-ZSJ", "name": "伊川县政务服务和大数据管理局"},
    ],
    "systems": [{"id": "ga-zonghe", "dept": "YC-GA", "name": "公安综合业务系统"}],
    "clients": [
        {"client_id": "ga-system", "client_secret": "s-ga-system", "dept": "YC-GA", "roles": ["dept_operator"]},
        {"client_id": "ga-head", "client_secret": "s-ga-head", "dept": "YC-GA", "roles": ["dept_head"]},
        {"client_id": "bureau", "client_secret": "s-bureau", "dept": "YC-ZSJ", "roles": ["bureau_admin"]},
        {"client_id": "special", "client_secret": "p@ss", "dept": "YC-GA", "roles": ["dept_operator"]},
        {
            "client_id": "citizen-1",
            "client_secret": "s-citizen",
            "roles": ["citizen"],
            "subject_id": "34052419800101001X",
        },
    ],
    "users": [
        {
            "username": "zhangmin",
            "password": "Yichuan-2026",
            "name": "张敏",
            "dept": "YC-GA",
            "roles": ["dept_operator"],
        }
    ],
}


def write_clients(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def broken(**client_fields: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(CLIENTS))
    data["clients"].append(
        {"client_id": "newcomer", "client_secret": "x", "dept": "YC-GA", "roles": ["dept_operator"], **client_fields}
    )
    data["clients"][-1] = {k: v for k, v in data["clients"][-1].items() if v is not None}
    return data


def file_error(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ClientsFileError) as info:
        load_clients_file(write_clients(tmp_path / "bad.yaml", data))
    return str(info.value)


def test_duplicate_client_id_is_refused(tmp_path: Path) -> None:
    message = file_error(tmp_path, broken(client_id="ga-head"))
    assert "client 'ga-head' (clients[5])" in message and "'client_id'" in message and "duplicate" in message


def test_unknown_department_is_refused(tmp_path: Path) -> None:
    message = file_error(tmp_path, broken(dept="YC-XX"))
    assert "client 'newcomer'" in message and "'dept'" in message and "YC-XX" in message


def test_unknown_role_is_refused(tmp_path: Path) -> None:
    message = file_error(tmp_path, broken(roles=["dept_operator", "superuser"]))
    assert "client 'newcomer'" in message and "'roles'" in message and "superuser" in message


def test_citizen_without_subject_id_is_refused(tmp_path: Path) -> None:
    message = file_error(tmp_path, broken(roles=["citizen"], dept=None))
    assert "client 'newcomer'" in message and "'subject_id'" in message


def test_other_client_file_mistakes_are_refused(tmp_path: Path) -> None:
    cases = [
        (broken(client_secret=None), "'client_secret'"),
        (broken(client_secret_hash="md5$abc"), "'client_secret_hash'"),
        (broken(dept=None), "'dept'"),
        (broken(roles=["citizen"], subject_id=34052419800101001), "'subject_id'"),
        (broken(roles=["citizen", "dept_operator"], subject_id="34052419800101001X"), "'roles'"),
        (broken(client_secret=12345), "'client_secret'"),
        (broken(clientsecret="typo"), "'clientsecret'"),
    ]
    for data, needle in cases:
        message = file_error(tmp_path, data)
        assert "newcomer" in message and needle in message, message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    data = json.loads(json.dumps(CLIENTS))
    data["clients"][0]["dept"] = "YC-XX"
    data["clients"][1]["roles"] = ["boss"]
    with pytest.raises(ClientsFileError) as info:
        ClientsFile.from_data(data, source="inline")
    assert len(info.value.errors) == 2
    assert "client 'ga-system'" in info.value.errors[0] and "client 'ga-head'" in info.value.errors[1]


def test_unreadable_or_unparsable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClientsFileError, match="cannot read"):
        load_clients_file(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ClientsFileError, match="JSON"):
        load_clients_file(tmp_path / "bad.json")


def test_systems_clients_of_a_system_and_users_are_read():
    checked = ClientsFile.from_data(CLIENTS, source="inline")
    assert checked.systems["ga-zonghe"]["dept"] == "YC-GA"
    assert checked.users["zhangmin"]["roles"] == ["dept_operator"]
    bound = json.loads(json.dumps(CLIENTS))
    bound["clients"][0]["system"] = "ga-zonghe"
    assert ClientsFile.from_data(bound).clients["ga-system"]["system"] == "ga-zonghe"


def test_a_client_names_only_a_listed_system_of_its_own_department(tmp_path: Path) -> None:
    assert "unknown system 'nope'" in file_error(tmp_path, broken(system="nope"))
    data = broken(system="ga-zonghe", dept="YC-ZSJ", roles=["bureau_admin"])
    assert "belongs to YC-GA" in file_error(tmp_path, data)


def test_users_mistakes_are_refused(tmp_path: Path) -> None:
    def with_user(**fields: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(CLIENTS))
        user = {"username": "lisi", "password": "Yichuan-2026", "dept": "YC-GA", "roles": ["dept_head"], **fields}
        data["users"].append({k: v for k, v in user.items() if v is not None})
        return data

    cases = [
        (with_user(username="zhangmin"), "user 'zhangmin' (users[1]): field 'username': duplicate username"),
        (with_user(password="short1A"), "至少 8 位"),
        (with_user(password="alllowercase1"), "至少三类"),
        (with_user(password="Lisi-2026-x"), "不能包含用户名"),
        (with_user(password=None, password_hash="md5$x"), "'password_hash'"),
        (with_user(roles=["citizen"], dept=None), "'subject_id'"),
        (with_user(dept="YC-XX"), "unknown department"),
        (with_user(disabled="yes"), "'disabled'"),
    ]
    for data, needle in cases:
        message = file_error(tmp_path, data)
        assert needle in message and ("user 'lisi'" in message or "zhangmin" in needle), message


def test_redirect_uris_must_be_absolute_http_urls(tmp_path: Path) -> None:
    portal = {"client_id": "portal", "client_secret": "s", "roles": [], "redirect_uris": ["https://p.example/cb"]}
    data = json.loads(json.dumps(CLIENTS))
    data["clients"].append(portal)
    assert ClientsFile.from_data(data).clients["portal"]["redirect_uris"] == ["https://p.example/cb"]
    for bad in (["/relative"], ["https://p.example/cb#frag"], ["ftp://p.example/x"], []):
        data["clients"][-1] = {**portal, "redirect_uris": bad}
        assert "'redirect_uris'" in file_error(tmp_path, data)


def test_the_password_policy_of_dengbao_third_level():
    assert password_policy_violation("Yichuan-2026", "zhangmin") is None
    assert password_policy_violation("Aa1!", "x") == "密码至少 8 位"
    assert password_policy_violation("abcdefgh12", "x") is not None  # two classes
    assert password_policy_violation("Zhangmin-2026", "zhangmin") == "密码不能包含用户名"


def test_the_demo_file_is_valid():
    checked = load_clients_file(DEMO_CLIENTS_FILE)
    assert checked.departments["YC-ZSJ"]["name"] == "伊川县政务服务和大数据管理局"
    for prefix in ("ga", "mz", "rs", "sj"):
        assert checked.clients[f"{prefix}-system"]["roles"] == ["dept_operator"]
        assert checked.clients[f"{prefix}-head"]["roles"] == ["dept_head"]
    assert checked.clients["company-1"]["subject_id"] == "91350100M0001TGQXM"
    # 第二十九条: data is granted to a system, so every department's operator acts for a system of its own.
    operators = {cid: c for cid, c in checked.clients.items() if "dept_operator" in c["roles"]}
    assert {"ga-system", "mz-system", "rs-system", "sj-system"} <= set(operators)
    for client_id, client in operators.items():
        system = checked.systems.get(client.get("system", ""))
        assert system is not None and system["dept"] == client["dept"], client_id


# --------------------------------------------------------------------------------------------- hashes


def test_argon2id_hashes_verify_and_are_salted():
    encoded = passwords.hash_secret("s3cret")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_secret("s3cret", encoded)
    assert not passwords.verify_secret("s3cret ", encoded)
    assert passwords.hash_secret("s3cret") != encoded
    passwords.check_hash(encoded)


def test_pbkdf2_hashes_of_older_files_still_verify():
    encoded = passwords.pbkdf2_hash("s3cret", iterations=1_000, salt=b"0123456789abcdef")
    assert encoded.startswith("pbkdf2_sha256$1000$")
    assert passwords.verify_secret("s3cret", encoded)
    assert not passwords.verify_secret("s3cret ", encoded)
    for malformed in ("pbkdf2_sha256$1000$bad", "$argon2id$garbage", "md5$abc", ""):
        assert not passwords.verify_secret("s3cret", malformed)
        with pytest.raises(ValueError):
            passwords.check_hash(malformed)


def test_hash_secret_cli_reads_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "govdata_gateway.clients", "hash-secret"],
        input="operator secret\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    encoded = result.stdout.strip()
    assert encoded.startswith("$argon2id$")
    assert passwords.verify_secret("operator secret", encoded)
    assert "operator secret" not in result.stdout + result.stderr
