"""HTTPS for the sandbox store: a throw-away CA (trustme) and a certificate it signed.

Clients trust the sandbox by passing the CA file as ``verify=``, never by turning
verification off, so the code under test keeps its real TLS checks.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from dataclasses import dataclass

import trustme

NAMES = ("127.0.0.1", "localhost")
"""What the certificate is valid for."""


@dataclass(frozen=True)
class SandboxTls:
    context: ssl.SSLContext
    ca_path: str
    """PEM of the CA, for ``requests``' ``verify=`` or the official client's ``verify_ssl=``."""

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.ca_path)


def make_tls(names: tuple[str, ...] = NAMES) -> SandboxTls:
    """A server context with a fresh certificate for ``names``; the CA PEM in a temp file."""
    ca = trustme.CA(organization_name="shop-alliance sandbox")
    cert = ca.issue_cert(*names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    handle, path = tempfile.mkstemp(prefix="sandbox-ca-", suffix=".pem")
    os.close(handle)
    ca.cert_pem.write_to_path(path)
    return SandboxTls(context=context, ca_path=path)
