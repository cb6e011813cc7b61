"""The example's generated files: SQL in ``sql/`` and Grafana files in ``dashboards/``.

Both are committed, so users can read and apply them without running Python.
``pyproton-ml example generate`` rewrites them. Its ``--check`` option, and a
test, report any file that differs from what the definitions produce.
"""

from __future__ import annotations

import filecmp
import tempfile
from pathlib import Path

from pyproton_ml.examples.fraud.pipeline import REGENERATE_COMMAND
from pyproton_ml.examples.fraud.pipeline import sql_files
from pyproton_ml.grafana.example import write_example_dashboards
from pyproton_ml.sql_files import render_files
from pyproton_ml.sql_files import stale_files
from pyproton_ml.sql_files import write_files

DEFINITIONS_SOURCE = "pyproton_ml/examples/fraud/definitions.py"


def rendered_sql() -> dict[str, str]:
    return render_files(sql_files(), source=DEFINITIONS_SOURCE, command=REGENERATE_COMMAND)


def write_example_files(sql_dir: Path, dashboards_dir: Path) -> list[Path]:
    """Write both sets of files; return the paths written."""
    return [*write_files(rendered_sql(), sql_dir), *write_example_dashboards(dashboards_dir)]


def stale_example_files(sql_dir: Path, dashboards_dir: Path) -> list[str]:
    """List generated files that are missing, different or left over, as paths for a message."""
    stale = [str(sql_dir / relative) for relative in stale_files(rendered_sql(), sql_dir)]

    with tempfile.TemporaryDirectory(prefix="pyproton-ml-dashboards-") as scratch:
        expected_root = Path(scratch)
        expected = {path.relative_to(expected_root) for path in write_example_dashboards(expected_root)}
        on_disk = {
            path.relative_to(dashboards_dir)
            for path in dashboards_dir.rglob("*")
            if path.is_file() and path.suffix in (".json", ".yaml")
        } if dashboards_dir.is_dir() else set()

        for relative in sorted(expected | on_disk):
            ours, theirs = expected_root / relative, dashboards_dir / relative
            if not ours.exists() or not theirs.exists() or not filecmp.cmp(ours, theirs, shallow=False):
                stale.append(str(dashboards_dir / relative))

    return stale
