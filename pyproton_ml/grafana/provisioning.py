"""Grafana file provisioning: the Proton datasource and a dashboard provider.

Formats follow Grafana's provisioning docs (administration/provisioning): files under
``provisioning/datasources`` and ``provisioning/dashboards``, both ``apiVersion: 1``.
Grafana expands ``$VAR`` and ``${VAR}`` in these files, so the password is written as
a variable reference and never as its value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pyproton_ml.grafana.dashboard import PROTON_DATASOURCE_TYPE
from pyproton_ml.grafana.uids import validate_uid

# Proton 3.0 `programs/server/config.yaml`: native TCP 8463 (`node.tcp.port`) and HTTP 3218
# (`node.http.port`). The plugin needs both: TCP for queries, HTTP for its query analyzer.
PROTON_TCP_PORT = 8463
PROTON_HTTP_PORT = 3218
PASSWORD_VARIABLE = "${PYPROTON_ML_PROTON_PASSWORD}"


@dataclass(frozen=True)
class ProtonDatasource:
    """A Proton datasource as Grafana stores it, without the password's value."""

    uid: str = "proton"
    name: str = "Proton"
    host: str = "proton"
    tcp_port: int = PROTON_TCP_PORT
    http_port: int = PROTON_HTTP_PORT
    username: str = "default"
    is_default: bool = True

    def json_data(self) -> dict[str, Any]:
        """Return ``jsonData`` with the keys of plugin 2.1.x (`pkg/models/settings.go` PluginSettings)."""
        return {"host": self.host, "httpPort": self.http_port, "tcpPort": self.tcp_port, "username": self.username}

    def api_payload(self, password: str) -> dict[str, Any]:
        """Return the body of ``POST /api/datasources`` (Grafana docs, http_api/data_source.md)."""
        validate_uid(self.uid, kind="datasource")
        return {
            "access": "proxy",
            "isDefault": self.is_default,
            "jsonData": self.json_data(),
            "name": self.name,
            # The plugin reads the password from secureJsonData (`loadSecretPluginSettings`).
            "secureJsonData": {"password": password},
            "type": PROTON_DATASOURCE_TYPE,
            "uid": self.uid,
        }


def datasource_provisioning(datasource: ProtonDatasource, *, password_reference: str = PASSWORD_VARIABLE) -> dict[str, Any]:
    """Return the datasource provisioning document with the password as a variable reference."""
    validate_uid(datasource.uid, kind="datasource")
    entry = {
        "access": "proxy",
        "editable": False,
        "isDefault": datasource.is_default,
        "jsonData": datasource.json_data(),
        "name": datasource.name,
        "secureJsonData": {"password": password_reference},
        "type": PROTON_DATASOURCE_TYPE,
        "uid": datasource.uid,
        "version": 1,
    }
    return {"apiVersion": 1, "datasources": [entry]}


def dashboard_provider(*, name: str, folder: str, folder_uid: str, dashboards_path: str) -> dict[str, Any]:
    """Return a file dashboard provider that loads every JSON file under ``dashboards_path``.

    ``dashboards_path`` is the folder path inside the Grafana container.
    """
    validate_uid(folder_uid, kind="folder")
    provider = {
        "allowUiUpdates": False,
        "disableDeletion": False,
        "folder": folder,
        "folderUid": folder_uid,
        "name": name,
        "options": {"foldersFromFilesStructure": False, "path": dashboards_path},
        "orgId": 1,
        "type": "file",
        "updateIntervalSeconds": 30,
    }
    return {"apiVersion": 1, "providers": [provider]}


def write_yaml(path: Path, document: dict[str, Any], *, header: str) -> Path:
    """Write a YAML document with sorted keys and a comment header, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(document, sort_keys=True, default_flow_style=False)
    path.write_text(f"# {header}\n{body}", encoding="utf-8")
    return path


def write_json(path: Path, document: dict[str, Any]) -> Path:
    """Write JSON with sorted keys, two-space indents and a final newline, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
