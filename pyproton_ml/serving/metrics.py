"""In-process request metrics, rendered in the Prometheus text exposition format (version 0.0.4).

The counters live in one process. Under gunicorn with several workers each worker keeps its own,
so a scrape returns the counters of one worker only; the default of one worker with threads keeps them whole.
"""

from __future__ import annotations

import threading
from collections import defaultdict

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Label value for requests that named no served function, so that client-chosen paths cannot
# create new label values.
UNKNOWN_FUNCTION = "_unknown"


class ServingMetrics:
    """Thread-safe counters of requests, rows, errors and latency per function."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._rows: defaultdict[str, int] = defaultdict(int)
        self._errors: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._latency_sum: defaultdict[str, float] = defaultdict(float)
        self._latency_count: defaultdict[str, int] = defaultdict(int)

    def observe_request(self, function: str, status: int, rows: int, seconds: float) -> None:
        with self._lock:
            self._requests[(function, str(status))] += 1
            self._rows[function] += rows
            self._latency_sum[function] += seconds
            self._latency_count[function] += 1

    def observe_error(self, function: str, kind: str) -> None:
        with self._lock:
            self._errors[(function, kind)] += 1

    def error_count(self, function: str, kind: str) -> int:
        with self._lock:
            return self._errors.get((function, kind), 0)

    def render(self) -> str:
        """Render all metrics as Prometheus text."""
        with self._lock:
            lines = [
                "# HELP pyproton_ml_udf_requests_total UDF requests by function and HTTP status.",
                "# TYPE pyproton_ml_udf_requests_total counter",
                *(
                    f'pyproton_ml_udf_requests_total{{function="{_escape(f)}",status="{s}"}} {n}'
                    for (f, s), n in sorted(self._requests.items())
                ),
                "# HELP pyproton_ml_udf_rows_total Rows scored by function.",
                "# TYPE pyproton_ml_udf_rows_total counter",
                *(f'pyproton_ml_udf_rows_total{{function="{_escape(f)}"}} {n}' for f, n in sorted(self._rows.items())),
                "# HELP pyproton_ml_udf_errors_total Failed UDF requests by function and error kind.",
                "# TYPE pyproton_ml_udf_errors_total counter",
                *(
                    f'pyproton_ml_udf_errors_total{{function="{_escape(f)}",kind="{k}"}} {n}'
                    for (f, k), n in sorted(self._errors.items())
                ),
                "# HELP pyproton_ml_udf_request_duration_seconds Time to handle UDF requests.",
                "# TYPE pyproton_ml_udf_request_duration_seconds summary",
            ]
            for function in sorted(self._latency_count):
                label = f'{{function="{_escape(function)}"}}'
                lines.append(f"pyproton_ml_udf_request_duration_seconds_sum{label} {self._latency_sum[function]!r}")
                lines.append(f"pyproton_ml_udf_request_duration_seconds_count{label} {self._latency_count[function]}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
