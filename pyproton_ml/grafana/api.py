"""Deploy the Proton datasource, a folder and dashboards through Grafana's HTTP API.

Uses grafana-client 5.1.4 (``GrafanaApi.from_url`` with ``TokenAuth``). Endpoints and
status codes follow Grafana's HTTP API docs (http_api/dashboard.md, folder.md and
data_source.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import niquests
from grafana_client import GrafanaApi, TokenAuth
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaServerError,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)

from pyproton_ml.errors import GrafanaError
from pyproton_ml.grafana.provisioning import ProtonDatasource
from pyproton_ml.grafana.uids import validate_uid

logger = logging.getLogger(__name__)

ENV_URL = "PYPROTON_ML_GRAFANA_URL"
ENV_TOKEN = "PYPROTON_ML_GRAFANA_TOKEN"
DEFAULT_TIMEOUT_S = 10.0

_Result = TypeVar("_Result")


class GrafanaDeployer:
    """Create or update Grafana objects with a service account token.

    Every method is idempotent: running it twice leaves Grafana as one run does.
    Use it as a context manager, or call close(), to release its HTTP connections.
    """

    def __init__(self, url: str, token: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        if not url:
            raise GrafanaError(f"Missing Grafana URL: set {ENV_URL} or pass url=, e.g. 'http://localhost:3000'.")
        if not token:
            raise GrafanaError(f"Missing Grafana API token: set {ENV_TOKEN} or pass token= (a service account token).")
        self.url = url
        self._token = token
        self._timeout_s = timeout_s
        self._api: GrafanaApi | None = None

    def __repr__(self) -> str:
        return f"GrafanaDeployer(url={_display_url(self.url)!r})"

    def __enter__(self) -> GrafanaDeployer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session and its pooled connections."""
        if self._api is not None:
            # grafana-client 5.1.4 keeps one niquests.Session per GrafanaClient, in attribute `s`.
            self._api.client.s.close()
            self._api = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> GrafanaDeployer:
        """Build a deployer from ``PYPROTON_ML_GRAFANA_URL`` and ``PYPROTON_ML_GRAFANA_TOKEN``."""
        env = os.environ if environ is None else environ
        return cls(env.get(ENV_URL, ""), env.get(ENV_TOKEN, ""), timeout_s=timeout_s)

    def ensure_folder(self, uid: str, title: str) -> dict[str, Any]:
        """Return the folder with this uid, creating it first when it does not exist."""
        validate_uid(uid, kind="folder")
        api = self._connect()
        existing = self._get_or_none(lambda: api.folder.get_folder(uid), f"read folder {uid!r}")
        if existing is not None:
            logger.info("Grafana folder %s exists at %s", uid, _display_url(self.url))
            return dict(existing)

        created = self._call(lambda: api.folder.create_folder(title, uid=uid), f"create folder {uid!r}")
        logger.info("Created Grafana folder %s at %s", uid, _display_url(self.url))
        return dict(created)

    def ensure_datasource(self, datasource: ProtonDatasource, *, password: str = "") -> None:
        """Create the Proton datasource, or update it in place when its uid exists."""
        payload = datasource.api_payload(password)
        api = self._connect()
        existing = self._get_or_none(lambda: api.datasource.get_datasource_by_uid(datasource.uid), f"read datasource {datasource.uid!r}")

        if existing is None:
            self._call(lambda: api.datasource.create_datasource(payload), f"create datasource {datasource.uid!r}")
            logger.info("Created Grafana datasource %s at %s", datasource.uid, _display_url(self.url))
        else:
            self._call(
                lambda: api.datasource.update_datasource_by_uid(datasource.uid, payload),
                f"update datasource {datasource.uid!r}",
            )
            logger.info("Updated Grafana datasource %s at %s", datasource.uid, _display_url(self.url))

    def save_dashboard(self, dashboard: Mapping[str, Any], *, folder_uid: str, message: str = "Saved by pyproton-ml") -> dict[str, Any]:
        """Save a dashboard into a folder with ``overwrite: true`` and return Grafana's reply.

        ``folderUid`` is always sent because Grafana moves a dashboard saved without it
        to the root folder (http_api/dashboard.md, "Create / Update dashboard").
        """
        uid = validate_uid(str(dashboard.get("uid", "")))
        validate_uid(folder_uid, kind="folder")
        body = {"dashboard": {**dashboard, "id": None}, "folderUid": folder_uid, "message": message, "overwrite": True}

        api = self._connect()
        reply = self._call(lambda: api.dashboard.update_dashboard(body), f"save dashboard {uid!r}")
        logger.info("Saved Grafana dashboard %s (version %s) in folder %s", uid, reply.get("version"), folder_uid)
        return dict(reply)

    def deploy(
        self,
        dashboards: list[Mapping[str, Any]],
        *,
        datasource: ProtonDatasource,
        folder_uid: str,
        folder_title: str,
        password: str = "",
    ) -> list[dict[str, Any]]:
        """Ensure the datasource and the folder exist, then save every dashboard into that folder."""
        logger.info("Deploying %d dashboard(s) to Grafana at %s", len(dashboards), _display_url(self.url))
        self.ensure_datasource(datasource, password=password)
        self.ensure_folder(folder_uid, folder_title)
        return [self.save_dashboard(dashboard, folder_uid=folder_uid) for dashboard in dashboards]

    def _connect(self) -> GrafanaApi:
        if self._api is None:
            self._api = GrafanaApi.from_url(self.url, credential=TokenAuth(self._token), timeout=self._timeout_s)
        return self._api

    def _get_or_none(self, request: Callable[[], _Result], action: str) -> _Result | None:
        try:
            return self._call(request, action, not_found_ok=True)
        except _NotFound:
            return None

    def _call(self, request: Callable[[], _Result], action: str, *, not_found_ok: bool = False) -> _Result:
        """Run one grafana-client request and turn its failures into GrafanaError."""
        where = _display_url(self.url)
        try:
            return request()
        except GrafanaUnauthorizedError:
            message = f"Grafana at {where} rejected the API token (401 Unauthorized) during {action}. Set {ENV_TOKEN} to a valid service account token."
        except GrafanaClientError as error:
            if error.status_code == 404 and not_found_ok:
                raise _NotFound from None
            message = f"Grafana at {where} rejected {action} with {error.status_code}: {_reason(error)}."
            message += _HINTS.get(error.status_code, "")
        except GrafanaServerError as error:
            message = f"Grafana at {where} failed during {action} with {error.status_code}: {_reason(error)}. Check Grafana's server log."
        except GrafanaTimeoutError:
            message = f"Grafana at {where} timed out after {self._timeout_s:g} s during {action}. Check that it runs and is reachable."
        except (GrafanaException, niquests.exceptions.RequestException) as error:
            message = f"Grafana at {where} is unreachable during {action} ({type(error).__name__}). Check {ENV_URL} and that Grafana runs."

        logger.info("%s", message)
        raise GrafanaError(message)


class _NotFound(Exception):
    """A 404 that the caller expects, for example before creating a missing folder."""


_HINTS = {
    403: " Give the service account the Editor or Admin role.",
    409: " An object with the same name or uid exists: rename it or reuse its uid.",
    412: " Another dashboard has this uid or title in the folder, or it changed meanwhile: pick another uid or title.",
}


def _reason(error: GrafanaException) -> str:
    """Return Grafana's ``message`` and ``status`` fields, truncated, never the request."""
    response = error.response
    if isinstance(response, dict):
        parts = [str(response.get(key)) for key in ("message", "status") if response.get(key)]
        text = "; ".join(parts) or "no message"
    else:
        text = str(response or error.message or "no message")
    return repr(text[:200])


def _display_url(url: str) -> str:
    """Return the URL without user name and password, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
