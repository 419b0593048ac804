"""TLS to Postgres, verified, the way every workload with a database connects in Kubernetes (deploy/k8s/README.md
"Database connections"): DATABASE_URL ends in ?ssl=verify-full and PGSSLROOTCERT names the cluster CA's certificate.
Against a real server with ssl=on (a temporary one, started here from the machine's PostgreSQL binaries or the
`pgserver` wheel's), through `govdata_shared.db.Database`: the connection is made only to a server whose
certificate the CA in PGSSLROOTCERT signed and that names the host of the URL."""

from __future__ import annotations

import contextlib
import datetime
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from govdata_local.broker import free_port
from govdata_shared.db import Database
from sqlalchemy import text

# OpenSSL's verification results (x509_vfy.h): no trusted issuer; the certificate names another host / address.
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
HOSTNAME_MISMATCH = 62
IP_ADDRESS_MISMATCH = 64


def postgres_binaries() -> Path | None:
    """initdb and postgres built with TLS: the machine's, or the `pgserver` wheel's (a development dependency; its
    builds may lack OpenSSL)."""
    candidates = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.origin:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
    return next((c for c in candidates if has_tls(c)), None)


def has_tls(binaries: Path) -> bool:
    if not all((binaries / name).is_file() for name in ("initdb", "postgres", "pg_config")):
        return False
    configure = subprocess.run([binaries / "pg_config", "--configure"], capture_output=True, text=True, timeout=10)
    return "--with-ssl=openssl" in configure.stdout or "--with-openssl" in configure.stdout


def unavailable(reason: str) -> None:
    """A laptop without a TLS-capable Postgres skips; CI, whose machine has one, fails instead of passing unseen."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def run_as() -> pwd.struct_passwd | None:
    """Postgres refuses to run as root: then it runs as the user `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    unavailable("running as root and no user to run Postgres as")


def as_user(user: pwd.struct_passwd | None) -> dict:
    return {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    dns_names: tuple[str, ...] = (),
) -> x509.Certificate:
    """A CA certificate (no issuer: self-signed) or a server certificate for `dns_names` signed by the issuer."""
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if is_ca else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if is_ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # keyCertSign, cRLSign
        builder = builder.add_extension(usage, critical=True)
    else:
        builder = (
            builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
    return builder.sign(key if is_ca else issuer_key, hashes.SHA256())


def write_pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass(frozen=True)
class TLSServer:
    port: int
    ca: Path  # the CA that signed the server's certificate (DNS name localhost only)
    other_ca: Path  # a CA that signed nothing the server has

    def url(self, host: str, mode: str = "verify-full") -> str:
        """The form of the platform's DATABASE_URLs (secrets.example.yaml), on this server."""
        return f"postgresql+asyncpg://postgres@{host}:{self.port}/postgres?ssl={mode}"


@pytest.fixture(scope="module")
def server() -> Iterator[TLSServer]:
    binaries = postgres_binaries()
    if binaries is None:
        unavailable("no PostgreSQL binaries with TLS (/usr/lib/postgresql/*/bin or the pgserver wheel)")
    user = run_as()
    folder = Path(tempfile.mkdtemp(prefix="govdata-pg-tls-"))
    process = None
    try:
        ca_key, other_key, server_key = new_key(), new_key(), new_key()
        ca = certificate("govdata-pg CA", ca_key)
        server_cert = certificate("govdata-pg-rw", server_key, ca, ca_key, dns_names=("localhost",))
        (folder / "server.key").write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (folder / "server.key").chmod(0o600)  # Postgres refuses a key others can read
        write_pem(folder / "server.crt", server_cert)
        tls = TLSServer(
            port=free_port(),
            ca=write_pem(folder / "ca.crt", ca),
            other_ca=write_pem(folder / "other-ca.crt", certificate("another CA", other_key)),
        )
        if user is not None:
            for path in (folder, *folder.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
        data = folder / "data"
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        subprocess.run(
            [binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            env=env,
            timeout=60,
            **as_user(user),
        )
        settings = {
            "listen_addresses": "localhost",
            "port": tls.port,
            "unix_socket_directories": folder,
            "ssl": "on",
            "ssl_cert_file": folder / "server.crt",
            "ssl_key_file": folder / "server.key",
            "fsync": "off",
        }
        with (folder / "postgres.log").open("wb") as log:
            process = subprocess.Popen(
                [binaries / "postgres", "-D", data, *(a for k, v in settings.items() for a in ("-c", f"{k}={v}"))],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                **as_user(user),
            )
        deadline = time.monotonic() + 20
        while not (folder / f".s.PGSQL.{tls.port}").exists() or not accepting(tls.port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Postgres did not start:\n{(folder / 'postgres.log').read_text(errors='replace')}")
            time.sleep(0.05)
        yield tls
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def accepting(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def connect(url: str) -> bool:
    """Connect through the platform's Database and tell whether the session is encrypted."""
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            return await conn.scalar(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
    finally:
        await database.dispose()


def verification_error(exc: BaseException) -> ssl.SSLCertVerificationError:
    """The certificate error at the bottom of what the connection attempt raised."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    raise AssertionError(f"not a certificate verification error: {exc!r}") from exc


async def test_verify_full_connects_to_the_server_the_cluster_ca_vouches_for(server, monkeypatch) -> None:
    monkeypatch.setenv("PGSSLROOTCERT", str(server.ca))
    assert await connect(server.url("localhost")) is True


async def test_verify_full_refuses_a_server_whose_certificate_another_ca_signed(server, monkeypatch) -> None:
    monkeypatch.setenv("PGSSLROOTCERT", str(server.other_ca))
    with pytest.raises(Exception) as raised:  # which one: verification_error below
        await connect(server.url("localhost"))
    assert verification_error(raised.value).verify_code == UNABLE_TO_GET_ISSUER_CERT_LOCALLY


async def test_verify_full_refuses_an_address_the_certificate_does_not_name(server, monkeypatch) -> None:
    """The certificate names localhost only: 127.0.0.1 is the same server and the same CA, but not the name."""
    monkeypatch.setenv("PGSSLROOTCERT", str(server.ca))
    with pytest.raises(Exception) as raised:  # which one: verification_error below
        await connect(server.url("127.0.0.1"))
    assert verification_error(raised.value).verify_code in (IP_ADDRESS_MISMATCH, HOSTNAME_MISMATCH)
    # verify-ca checks the CA alone: the refusal above was the name check, which verify-full adds.
    assert await connect(server.url("127.0.0.1", mode="verify-ca")) is True
