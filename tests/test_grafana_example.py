"""The example dashboards: deterministic output and the content of each file.

tests/test_generated_files.py checks that the committed copies are current.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pyproton_ml.grafana import write_example_dashboards



def test_example_files_deterministic(tmp_path: Path) -> None:
    first = {path.name: path.read_bytes() for path in write_example_dashboards(tmp_path / "a")}
    second = {path.name: path.read_bytes() for path in write_example_dashboards(tmp_path / "b")}

    assert first == second


def test_example_datasource_file(tmp_path: Path) -> None:
    write_example_dashboards(tmp_path)
    document = yaml.safe_load((tmp_path / "provisioning" / "datasources" / "proton.yaml").read_text())

    (datasource,) = document["datasources"]
    assert document["apiVersion"] == 1
    assert datasource["type"] == "timeplus-proton-datasource"
    assert datasource["jsonData"] == {"host": "proton", "httpPort": 3218, "tcpPort": 8463, "username": "default"}
    assert datasource["secureJsonData"] == {"password": "${PYPROTON_ML_PROTON_PASSWORD}"}


def test_example_provider_file(tmp_path: Path) -> None:
    write_example_dashboards(tmp_path)
    document = yaml.safe_load((tmp_path / "provisioning" / "dashboards" / "pyproton-ml.yaml").read_text())

    (provider,) = document["providers"]
    assert provider["type"] == "file"
    assert provider["folderUid"] == "pyproton-ml"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/pyproton-ml"


def test_example_dashboard_uid(tmp_path: Path) -> None:
    written = write_example_dashboards(tmp_path)
    (dashboard_path,) = [path for path in written if path.suffix == ".json"]

    dashboard = json.loads(dashboard_path.read_text())
    assert dashboard["uid"] == dashboard_path.stem
    assert len(dashboard["uid"]) <= 40


@pytest.mark.parametrize("relative", ["json", "provisioning/dashboards", "provisioning/datasources"])
def test_example_folders_created(tmp_path: Path, relative: str) -> None:
    write_example_dashboards(tmp_path / "fresh")

    assert (tmp_path / "fresh" / relative).is_dir()
