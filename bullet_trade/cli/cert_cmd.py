"""``bullet-trade cert``: a self-signed TLS certificate and key for ``bullet-trade server``.

The certificate carries every ``--host`` as a subjectAltName (IP addresses as IP entries,
names as DNS entries), so clients can verify it either as a CA file
(``QMT_SERVER_TLS_CERT=cert.pem``) or by its pinned SHA-256 fingerprint
(``QMT_SERVER_TLS_FINGERPRINT``), which the command prints.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # cryptography is imported lazily: only this command needs it
    from cryptography import x509

DEFAULT_HOSTS = ("127.0.0.1", "localhost")


def _san_entries(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    from cryptography import x509

    entries: list[x509.GeneralName] = []
    for host in dict.fromkeys(h.strip() for h in hosts if h.strip()):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return entries


def generate_certificate(hosts: tuple[str, ...], days: int) -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key and a self-signed certificate valid for ``hosts``.

    Returns:
        (certificate PEM, private key PEM, unencrypted PKCS#8).

    Raises:
        click.UsageError: no host given.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    san = _san_entries(hosts)
    if not san:
        raise click.UsageError("at least one --host is needed")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0].strip())])
    now = dt.datetime.now(dt.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _key_usage() -> x509.KeyUsage:
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by the owner only (on Windows, the default ACL applies)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@click.command("cert")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for cert.pem and key.pem (created).",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="Name or IP the clients connect to (repeatable; default 127.0.0.1 and localhost).",
)
@click.option("--days", type=click.IntRange(1, 3650), default=825, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def cert_command(out_dir: Path, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """Generate a self-signed TLS certificate and key; print its SHA-256 fingerprint."""
    from bullet_trade.server.security.tls import certificate_fingerprint

    hosts = hosts or DEFAULT_HOSTS
    cert_path, key_path = out_dir / "cert.pem", out_dir / "key.pem"
    existing = [p for p in (cert_path, key_path) if p.exists()]
    if existing and not force:
        raise click.ClickException(
            f"{existing[0]} already exists; use --force to replace the certificate"
        )
    cert_pem, key_pem = generate_certificate(hosts, days)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    fingerprint = certificate_fingerprint(cert_path)
    click.echo(f"certificate: {cert_path}")
    click.echo(f"private key: {key_path} (keep it secret; only the server needs it)")
    click.echo(f"hosts: {', '.join(hosts)}; valid for {days} days")
    click.echo(f"SHA-256 fingerprint: {fingerprint}")
    click.echo(
        "server: bullet-trade server --tls-cert "
        f"{cert_path} --tls-key {key_path}\n"
        f"client: QMT_SERVER_TLS_FINGERPRINT={fingerprint}  (or QMT_SERVER_TLS_CERT={cert_path})"
    )
