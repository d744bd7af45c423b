"""Real TLS for the simulator: a throwaway CA and server certificate made at start."""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from types import ModuleType
from typing import Final

__all__ = ["TLSMaterial"]

_HOSTS: Final = ("127.0.0.1", "localhost", "::1")


def _import_trustme() -> ModuleType:
    try:
        import trustme
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Simulator(tls=True) needs the 'trustme' package to make its certificate: "
            "pip install 'aiomsg[testing]'"
        ) from exc
    return trustme


class TLSMaterial:
    """A CA, a certificate for the loopback names it issued, and a CA file on disk."""

    def __init__(self, host: str) -> None:
        trustme = _import_trustme()
        names = _HOSTS if host in _HOSTS else (host, *_HOSTS)
        self._ca = trustme.CA(organization_name="aiomsg simulator")
        self._cert = self._ca.issue_cert(*names)
        self._dir = tempfile.mkdtemp(prefix="aiomsg-sim-")
        self.ca_path = os.path.join(self._dir, "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_path)
        self._client_contexts: dict[ssl.TLSVersion, ssl.SSLContext] = {}

    def server_context(self, max_version: ssl.TLSVersion | None) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # Accept TLS 1.2 so that an old client can be answered 426 / code 1014.
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if max_version is not None:
            ctx.maximum_version = max_version
        self._cert.configure_cert(ctx)
        return ctx

    def client_context(self, minimum_version: ssl.TLSVersion) -> ssl.SSLContext:
        ctx = self._client_contexts.get(minimum_version)
        if ctx is None:
            # Verifies the certificate and host name, and trusts only the simulator's CA
            # (loading the system store would cost more than the whole handshake).
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = minimum_version
            self._ca.configure_trust(ctx)
            self._client_contexts[minimum_version] = ctx
        return ctx

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
