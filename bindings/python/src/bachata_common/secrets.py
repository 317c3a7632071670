"""Secret stores: what the policy's ``host-secrets`` capability reads in cloud mode.

A secret store is any callable ``store(project, name) -> str | None``: the latest value of secret
``name`` in Google Cloud project ``project``, ``None`` when the secret (or its latest version) does
not exist, and an exception when the store could not be asked. The exception's text becomes the
reason the policy reports, so it must never contain a secret value.

The default store is Google Cloud Secret Manager when ``google-cloud-secret-manager`` is installed
(``pip install 'bachata_common[gcp]'``), and otherwise a store that fails with a clear reason, so
that cloud mode stops with a ``ServiceUnavailableError`` naming the missing package.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

__all__ = ["SecretStore", "SecretStoreUnavailable", "GoogleSecretManager", "default_secret_store"]

SecretStore = Callable[[str, str], Optional[str]]


class SecretStoreUnavailable(RuntimeError):
    """No secret store can be reached from this process."""


class GoogleSecretManager:
    """Reads secrets from Google Cloud Secret Manager with the official client library.

    The client is created on first use, with Application Default Credentials.
    """

    def __init__(self) -> None:
        from google.api_core import exceptions  # noqa: F401  (fails early when not installed)
        from google.cloud import secretmanager  # noqa: F401

        self._client: Any = None
        self._lock = threading.Lock()

    def _client_once(self) -> Any:
        with self._lock:
            if self._client is None:
                from google.cloud import secretmanager

                self._client = secretmanager.SecretManagerServiceClient()
            return self._client

    def __call__(self, project: str, name: str) -> Optional[str]:
        from google.api_core import exceptions

        path = f"projects/{project}/secrets/{name}/versions/latest"
        try:
            response = self._client_once().access_secret_version(request={"name": path})
        except exceptions.NotFound:
            return None
        try:
            return response.payload.data.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretStoreUnavailable(f"secret {name} is not UTF-8 text") from None


def _not_installed(_project: str, _name: str) -> Optional[str]:
    raise SecretStoreUnavailable(
        "google-cloud-secret-manager is not installed; install it "
        "(pip install 'bachata_common[gcp]') to read secrets in cloud mode"
    )


_default: Optional[SecretStore] = None
_default_lock = threading.Lock()


def default_secret_store() -> SecretStore:
    """Google Cloud Secret Manager when its client library is importable, else a failing store."""
    global _default
    with _default_lock:
        if _default is None:
            try:
                _default = GoogleSecretManager()
            except ImportError:
                _default = _not_installed
        return _default
