"""Server-side TLS: an ``ssl.SSLContext`` for the listener (TLS 1.2 or newer only).

Pure standard library, so it works the same on Windows and POSIX.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path


class SecuritySetupError(ValueError):
    """A security setting cannot be used (unreadable certificate, bad tokens file, ...).

    The message is meant for the operator; the server refuses to start.
    """


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Build the listener's TLS context from a PEM certificate chain and private key.

    Raises:
        SecuritySetupError: a file is missing or unreadable, is not PEM, or the key does not
            belong to the certificate.
    """
    for label, path in (("certificate", cert), ("private key", key)):
        if not path.is_file():
            raise SecuritySetupError(f"TLS {label} file {path} does not exist")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except PermissionError as exc:
        raise SecuritySetupError(f"cannot read the TLS certificate or key: {exc}") from None
    except (ssl.SSLError, OSError) as exc:
        raise SecuritySetupError(
            f"cannot load TLS certificate {cert} with key {key} (not PEM, encrypted, or the "
            f"key does not match the certificate): {exc}"
        ) from None
    return context


def certificate_fingerprint(cert: Path) -> str:
    """SHA-256 of the first certificate in a PEM file (DER form), as 64 lowercase hex digits.

    This is the value clients pin with ``QMT_SERVER_TLS_FINGERPRINT`` (colons and case are
    ignored there).

    Raises:
        SecuritySetupError: the file is unreadable or holds no PEM certificate.
    """
    try:
        text = cert.read_text(encoding="ascii")
        begin = text.index("-----BEGIN CERTIFICATE-----")
        end = text.index("-----END CERTIFICATE-----", begin) + len("-----END CERTIFICATE-----")
        der = ssl.PEM_cert_to_DER_cert(text[begin:end])
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SecuritySetupError(f"cannot read a PEM certificate from {cert}: {exc}") from None
    return hashlib.sha256(der).hexdigest()
