"""The Google Cloud Secret Manager store, against a stand-in for the client library."""

import sys
import types

import pytest

from bachata_common.secrets import GoogleSecretManager, SecretStoreUnavailable


class NotFound(Exception):
    """Stands for google.api_core.exceptions.NotFound."""


class FakeClient:
    """Stands for SecretManagerServiceClient: answers from a dict of resource names."""

    secrets = {
        "projects/p/secrets/elasticsearch-host/versions/latest": b"es.internal",
        "projects/p/secrets/bad-bytes/versions/latest": b"\xff\xfe",
    }

    def access_secret_version(self, request):
        name = request["name"]
        if name not in self.secrets:
            raise NotFound(name)
        payload = types.SimpleNamespace(data=self.secrets[name])
        return types.SimpleNamespace(payload=payload)


@pytest.fixture
def google_library(monkeypatch):
    """Installs stand-in ``google.api_core.exceptions`` and ``google.cloud.secretmanager`` modules."""
    exceptions = types.ModuleType("google.api_core.exceptions")
    exceptions.NotFound = NotFound
    secretmanager = types.ModuleType("google.cloud.secretmanager")
    secretmanager.SecretManagerServiceClient = FakeClient
    modules = {
        "google": types.ModuleType("google"),
        "google.api_core": types.ModuleType("google.api_core"),
        "google.api_core.exceptions": exceptions,
        "google.cloud": types.ModuleType("google.cloud"),
        "google.cloud.secretmanager": secretmanager,
    }
    modules["google.api_core"].exceptions = exceptions
    modules["google.cloud"].secretmanager = secretmanager
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def test_reads_the_latest_version(google_library):
    assert GoogleSecretManager()("p", "elasticsearch-host") == "es.internal"


def test_a_missing_secret_is_none(google_library):
    assert GoogleSecretManager()("p", "elasticsearch-port") is None


def test_a_value_that_is_not_text_fails_without_the_value(google_library):
    with pytest.raises(SecretStoreUnavailable, match="bad-bytes is not UTF-8") as caught:
        GoogleSecretManager()("p", "bad-bytes")
    assert "\\xff" not in str(caught.value)
