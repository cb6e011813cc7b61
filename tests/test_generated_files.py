"""The committed sql/ and dashboards/ match what the example's definitions generate.

Regenerate them with ``pytest --regenerate`` (or ``make generate``) and review
the diff like code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pyproton_ml.examples.fraud.artifacts import stale_example_files
from pyproton_ml.examples.fraud.artifacts import write_example_files

REPO = Path(__file__).resolve().parent.parent


def test_generated_files_current(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--regenerate"):
        write_example_files(REPO / "sql", REPO / "dashboards")

    stale = stale_example_files(REPO / "sql", REPO / "dashboards")

    assert stale == [], "out of date; run `make generate` or `pytest --regenerate`"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda root: (root / "sql" / "020_card_activity.sql").write_text("-- edited\n"), "sql/020_card_activity.sql"),
        (lambda root: (root / "sql" / "030_payment_features.sql").unlink(), "sql/030_payment_features.sql"),
        (lambda root: (root / "sql" / "999_extra.sql").write_text("SELECT 1;\n"), "sql/999_extra.sql"),
        (
            lambda root: (root / "dashboards" / "json" / "pyproton-ml-fraud-scores.json").write_text("{}"),
            "dashboards/json/pyproton-ml-fraud-scores.json",
        ),
    ],
)
def test_stale_file_detected(tmp_path: Path, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(REPO / "sql", tmp_path / "sql")
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards")
    change(tmp_path)

    stale = stale_example_files(tmp_path / "sql", tmp_path / "dashboards")

    assert [str(Path(path).relative_to(tmp_path)) for path in stale] == [expected]
