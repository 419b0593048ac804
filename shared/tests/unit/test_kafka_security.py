"""Kafka security settings → aiokafka keyword arguments (govdata_shared.kafka.client_options).

Plaintext is exercised against the local broker by the integration tests; TLS is checked here with a real
handshake against a throw-away CA, SASL by the arguments aiokafka receives (its parameter names, 0.14).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from govdata_shared.kafka import client_options, make_producer
from govdata_shared.settings import Settings
from pydantic import ValidationError

BOOTSTRAP = "govdata-kafka-kafka-bootstrap:9093"


# --- a throw-away PKI -----------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(directory: Path, stem: str, cn: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer[0].subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (directory / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{stem}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca (the cluster CA), broker (issued by ca for `localhost`), client (issued by ca), other-ca."""
    d = tmp_path_factory.mktemp("pki")
    ca = _issue(d, "ca", "govdata-kafka cluster CA", None)
    _issue(d, "broker", "localhost", ca)
    _issue(d, "client", "gateway", ca)
    _issue(d, "other-ca", "someone else's CA", None)
    return d


def secured(**values) -> Settings:
    return Settings(kafka_bootstrap_servers=BOOTSTRAP, **values)


async def handshake(pki: Path, client: ssl.SSLContext, *, require_client_cert: bool = False) -> bytes:
    """What a server presenting the broker certificate for `localhost` says over TLS to `client` (b"ok")."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(pki / "broker.crt", pki / "broker.key")
    if require_client_cert:
        server.verify_mode = ssl.CERT_REQUIRED
        server.load_verify_locations(pki / "ca.crt")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server)
    port = srv.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="localhost")
        said = await reader.read()
        writer.close()
        return said
    finally:
        srv.close()
        await srv.wait_closed()


# --- each protocol --------------------------------------------------------------------------------------------


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert client_options(Settings(kafka_bootstrap_servers="127.0.0.1:9092")) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_from_the_environment_with_a_password_file(
    pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret-from-strimzi\n")  # a trailing newline is no part of it
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", BOOTSTRAP)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "catalog-svc")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "the-variable-loses")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(password))
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(pki / "ca.crt"))
    options = client_options(Settings())
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": BOOTSTRAP,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",  # Strimzi's, the default
        "sasl_plain_username": "catalog-svc",
        "sasl_plain_password": "s3cret-from-strimzi",
    }
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "govdata-kafka cluster CA"),),)]


def test_sasl_plaintext_with_the_password_variable_and_another_mechanism() -> None:
    settings = secured(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="scram-sha-256",
        kafka_sasl_username="audit-svc",
        kafka_sasl_password="pw",
    )
    assert client_options(settings) == {
        "bootstrap_servers": BOOTSTRAP,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "audit-svc",
        "sasl_plain_password": "pw",
    }
    assert "pw" not in repr(settings), "the password must not show in logs of the settings"


async def test_ssl_verifies_the_broker_against_the_configured_ca_only(pki: Path) -> None:
    options = client_options(secured(kafka_security_protocol="SSL", kafka_ssl_cafile=pki / "ca.crt"))
    assert set(options) == {"bootstrap_servers", "security_protocol", "ssl_context"}
    assert await handshake(pki, options["ssl_context"]) == b"ok"
    stranger = client_options(secured(kafka_security_protocol="SSL", kafka_ssl_cafile=pki / "other-ca.crt"))
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(pki, stranger["ssl_context"])


async def test_ssl_with_a_client_certificate_passes_a_broker_requiring_mtls(pki: Path) -> None:
    without = client_options(secured(kafka_security_protocol="SSL", kafka_ssl_cafile=pki / "ca.crt"))
    try:  # TLS 1.3: the server refuses the certificate-less client after the client's side of the handshake
        said = await handshake(pki, without["ssl_context"], require_client_cert=True)
    except (ssl.SSLError, ConnectionError):
        said = b""
    assert said != b"ok"
    mtls = secured(
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=pki / "ca.crt",
        kafka_ssl_certfile=pki / "client.crt",
        kafka_ssl_keyfile=pki / "client.key",
    )
    assert await handshake(pki, client_options(mtls)["ssl_context"], require_client_cert=True) == b"ok"


async def test_aiokafka_accepts_the_options_in_every_client(pki: Path, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("pw")
    settings = secured(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="gateway",
        kafka_sasl_password_file=tmp_path / "pw",
        kafka_ssl_cafile=pki / "ca.crt",
    )
    producer = make_producer(settings)
    assert producer.client._security_protocol == "SASL_SSL"
    assert producer.client._sasl_mechanism == "SCRAM-SHA-512"
    AIOKafkaConsumer("govdata.catalog.v1", group_id="x", **client_options(settings))
    AIOKafkaAdminClient(**client_options(settings))
    # Not built from the options, aiokafka refuses SASL_SSL (no ssl_context): the options are what make it work.
    with pytest.raises(ValueError):
        AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512")


# --- refused at start-up --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kafka_security_protocol": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS' is none of"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_password": "pw"},
            "SASL_PLAINTEXT needs KAFKA_SASL_USERNAME",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"},
            "needs KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD)",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u", "kafka_sasl_password": ""},
            "needs KAFKA_SASL_PASSWORD_FILE (or KAFKA_SASL_PASSWORD)",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "GSSAPI",
                "kafka_sasl_username": "u",
                "kafka_sasl_password": "pw",
            },
            "KAFKA_SASL_MECHANISM='GSSAPI' is none of",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_username": "u",
                "kafka_sasl_password_file": "/nonexistent/password",
            },
            "KAFKA_SASL_PASSWORD_FILE=/nonexistent/password is not a readable file",
        ),
        ({"kafka_security_protocol": "SSL"}, "SSL needs KAFKA_SSL_CAFILE"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u", "kafka_sasl_password": "pw"},
            "SASL_SSL needs KAFKA_SSL_CAFILE",
        ),
        ({"kafka_sasl_username": "u"}, "KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"),
        ({"kafka_ssl_cafile": "/etc/ca.crt"}, "KAFKA_SSL_* is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"),
    ],
)
def test_incomplete_or_unknown_settings_are_refused(values: dict, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        secured(**values)
    assert message in str(refused.value)


def test_mtls_needs_both_certificate_and_key(pki: Path) -> None:
    with pytest.raises(ValidationError, match="KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together"):
        secured(kafka_security_protocol="SSL", kafka_ssl_cafile=pki / "ca.crt", kafka_ssl_certfile=pki / "client.crt")
    with pytest.raises(ValidationError, match=r"KAFKA_SSL_CAFILE=.*missing\.crt is not a readable file"):
        secured(kafka_security_protocol="SSL", kafka_ssl_cafile=pki / "missing.crt")
