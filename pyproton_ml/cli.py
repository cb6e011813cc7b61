"""The ``pyproton-ml`` command line.

Every option can also be set through the environment variable its help names.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

# Every option names its environment variable, and `--help` shows it.
option = functools.partial(click.option, show_envvar=True)

from pyproton_ml import __version__
from pyproton_ml.errors import PyProtonMLError

logger = logging.getLogger("pyproton_ml.cli")


class _IntRange(click.IntRange):
    """An integer range that takes ASCII digits only, as the library's own settings parsers do.

    click's IntRange calls int(), which also reads '5_0' as 50 and Arabic-Indic digits.
    """

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        if isinstance(value, str) and not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
            self.fail(f"{value!r} is not a whole number written in ASCII digits.", param, ctx)
        return super().convert(value, param, ctx)

ENV = "PYPROTON_ML_"


def _configure_logging(verbose: int) -> None:
    root = logging.getLogger()
    if root.handlers:
        # Logging is configured already, by an embedding application or a test runner.
        return

    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose > 1:
        level = logging.DEBUG

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if verbose == 0:
        # proton-driver logs each failed connection at WARNING, and our own
        # error line already says it, so show the driver's only with -v.
        handler.addFilter(lambda record: not record.name.startswith("proton_driver") or record.levelno >= logging.ERROR)
    root.addHandler(handler)
    root.setLevel(level)


class _Group(click.Group):
    """Turn our own errors into one-line messages and exit code 1, without a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PyProtonMLError as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            # A file or folder the command reads or writes: name it instead of showing a traceback.
            logger.debug("Command failed on a file operation", exc_info=True)
            target = f" {error.filename!r}" if error.filename else ""
            raise click.ClickException(
                f"Cannot access{target}: {error.strerror or error}. Check that the path exists and that you may write there."
            ) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="pyproton-ml")
@option("-v", "--verbose", envvar=f"{ENV}VERBOSE", count=True, help="Log progress (-v) or debug detail (-vv) to stderr.")
def main(verbose: int) -> None:
    """Run scikit-learn models inside Timeplus Proton streaming SQL."""
    _configure_logging(verbose)


def _proton_options(function: Callable) -> Callable:
    options = [
        option("--proton-host", envvar=f"{ENV}PROTON_HOST", help="Proton host for the native protocol."),
        option("--proton-port", envvar=f"{ENV}PROTON_PORT", type=_IntRange(1, 65535), help="Proton native TCP port (streaming: 8463)."),
        option("--proton-user", envvar=f"{ENV}PROTON_USER", help="Proton user (default: default)."),
    ]
    for decorator in reversed(options):
        function = decorator(function)
    return function


def _proton_client(host: str | None, port: int | None, user: str | None):
    from pyproton_ml.proton.client import ProtonClient

    # The password only comes from PYPROTON_ML_PROTON_PASSWORD, never from argv.
    return ProtonClient(host=host, port=port, user=user)


def _auth_key(auth_key_file: str | None) -> str:
    """Read the key that Proton must send to the UDF server."""
    from pyproton_ml.serving.config import ENV_PREFIX, read_auth_key

    if auth_key_file is None and not os.environ.get(ENV_PREFIX + "AUTH_KEY_FILE") and ENV_PREFIX + "AUTH_KEY" not in os.environ:
        raise click.ClickException(
            "No UDF auth key is set. Set PYPROTON_ML_AUTH_KEY (or pass --auth-key-file) to the key the UDF server uses."
        )
    return read_auth_key(auth_key_file, os.environ)


def _step(message: str) -> None:
    click.echo(click.style("==> ", fg="cyan", bold=True) + message, err=True)


def _progress(label: str, total: int) -> Callable[[int], None]:
    """Return a callback that advances a progress bar, or prints a line per quarter when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return _progress_lines(label, total)

    bar = click.progressbar(length=total, label=label, file=sys.stderr)
    bar.__enter__()

    def advance(count: int) -> None:
        bar.update(count)
        if bar.pos >= total:
            bar.__exit__(None, None, None)

    return advance


def _progress_lines(label: str, total: int) -> Callable[[int], None]:
    done = 0
    reported = 0

    def advance(count: int) -> None:
        nonlocal done, reported
        done += count
        quarter = 4 * done // total if total else 4
        if quarter > reported:
            reported = quarter
            click.echo(f"    {label}: {done}/{total} ({100 * done // total if total else 100} %)", err=True)

    return advance


# The example data: the synthetic generator, user files, or the real public dataset.


def _load_example(events: str | None, merchants: str | None, labels: str | None, public: bool, seed: int):
    from pyproton_ml.examples.fraud.data import generate_fraud_example
    from pyproton_ml.examples.fraud.datasets import load_public_example
    from pyproton_ml.examples.fraud.data import FraudExample
    from pyproton_ml.examples.fraud.loading import load_labels, load_merchants, load_payments

    if public and (events or merchants or labels):
        raise click.UsageError("Pass either --public-dataset or --events with --merchants and --labels, not both.")
    if public:
        return load_public_example()
    if events:
        if not merchants or not labels:
            raise click.UsageError("--events needs --merchants and --labels too (CSV or Parquet files).")
        return FraudExample(payments=load_payments(events), merchants=load_merchants(merchants), labels=load_labels(labels))
    if merchants or labels:
        raise click.UsageError("--merchants and --labels go with --events.")
    return generate_fraud_example(seed=seed)


def _example_options(function: Callable) -> Callable:
    options = [
        option("--events", envvar=f"{ENV}EVENTS", type=click.Path(dir_okay=False), help="Payments file (CSV or Parquet) instead of generated events."),
        option("--merchants", envvar=f"{ENV}MERCHANTS", type=click.Path(dir_okay=False), help="Merchant dimension file, with --events."),
        option("--labels", envvar=f"{ENV}LABELS", type=click.Path(dir_okay=False), help="Labels file, with --events."),
        option("--public-dataset", envvar=f"{ENV}PUBLIC_DATASET", is_flag=True, help="Replay the bundled real public dataset (U.S. employment series; derived labels)."),
        option("--seed", envvar=f"{ENV}SEED", type=int, default=7, help="Seed of the event generator."),
    ]
    for decorator in reversed(options):
        function = decorator(function)
    return function


@main.command()
@_example_options
@option("--models-dir", type=click.Path(file_okay=False), default="udfs/models", envvar=f"{ENV}MODELS_DIR", help="Where the trained model is saved.")
@option("--block-size", envvar=f"{ENV}BLOCK_SIZE", type=_IntRange(1, 65409), default=500, help="Rows per UDF request in embedded mode (Proton sends one request per block).")
@_proton_options
@option("--auth-key-file", envvar=f"{ENV}AUTH_KEY_FILE", type=click.Path(dir_okay=False), help="File holding the UDF key (Proton mode); otherwise PYPROTON_ML_AUTH_KEY.")
@option("--udf-url", envvar=f"{ENV}UDF_BASE_URL", default="http://udf:8000", help="Base URL of the UDF server as Proton reaches it (Proton mode).")
@option("--sql-dir", envvar=f"{ENV}SQL_DIR", type=click.Path(file_okay=False), default="sql", help="Generated SQL to apply (Proton mode).")
def demo(events, merchants, labels, public_dataset, seed, models_dir, block_size, proton_host, proton_port, proton_user, auth_key_file, udf_url, sql_dir):
    """Train the fraud model, serve it as a UDF and score payments.

    With --proton-host (or PYPROTON_ML_PROTON_HOST) it registers the UDF with
    that Proton, applies the SQL, streams events and prints live scores. Without,
    it runs embedded: chDB computes the features and the model is called over
    HTTP on 127.0.0.1 exactly as Proton would call it.
    """
    from pyproton_ml.examples.fraud import demo as fraud_demo

    # Check the key before the slow steps.
    auth_key = _auth_key(auth_key_file) if proton_host else None
    example = _load_example(events, merchants, labels, public_dataset, seed)
    _step(f"Loaded {len(example.payments)} payments, {len(example.merchants)} merchant rows, {len(example.labels)} labels")

    if proton_host:
        with _proton_client(proton_host, proton_port, proton_user) as client:
            summary = fraud_demo.run_with_proton(
                client, example, Path(models_dir), Path(sql_dir), udf_base_url=udf_url, auth_key=auth_key, step=_step
            )
        click.echo(f"Applied {summary.statements} statements and streamed {summary.inserted_payments} payments.")
        click.echo("Live scores (event_id, card_id, score, model_version, event_time):")
        for row in summary.scores:
            click.echo("  " + "  ".join(str(value) for value in row))
        if not summary.scores:
            click.echo("  No scores arrived before the timeout; check `docker compose logs udf` and the UDF registration.")
        return

    result = fraud_demo.run_embedded(example, Path(models_dir), block_size=block_size, progress=_progress, step=_step)
    metrics = result.model_metrics
    requests = f"{result.requests} request{'s' if result.requests != 1 else ''}"
    rows = [
        ("model", f"{result.model_path} (trained on {result.training_rows} rows, tested on {result.scored_rows})"),
        ("test range", f"{result.scored_rows} rows, fraud rate {metrics.get('positive_rate', 0.0):.2%}"),
        ("offline metrics", f"precision {metrics['precision']:.3f}  recall {metrics['recall']:.3f}  F1 {metrics['f1']:.3f}  ROC AUC {_number(metrics.get('roc_auc'))}"),
        ("scored over HTTP", f"{result.scored_rows} rows in {requests} of up to {result.block_size} rows"),
        ("throughput", f"{result.rows_per_second:,.0f} rows/s ({result.seconds:.2f} s)"),
        ("HTTP scores vs labels", f"precision {result.precision:.3f}  recall {result.recall:.3f} at threshold {result.threshold:.3f}"),
        ("HTTP vs in-process", f"max score difference {result.max_score_difference:.2e}"),
    ]
    width = max(len(label) for label, _ in rows)
    click.echo("")
    click.echo("Embedded run (chDB features, Flask UDF server on 127.0.0.1)")
    for label, value in rows:
        click.echo(f"  {label:<{width}}  {value}")


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@main.command()
@option("--models", "models_dir", type=click.Path(file_okay=False), envvar=f"{ENV}MODELS_DIR", default="udfs/models", help="Directory of <function>/<version>/ model folders.")
@option("--host", envvar=f"{ENV}HOST", default="127.0.0.1", help="Address to listen on.")
@option("--port", envvar=f"{ENV}PORT", type=_IntRange(0, 65535), default=8000, help="TCP port to listen on.")
@option("--auth-header", envvar=f"{ENV}AUTH_HEADER", default="X-API-Key", help="Header that carries the key (AUTH_HEADER in CREATE REMOTE FUNCTION).")
@option("--auth-key-file", envvar=f"{ENV}AUTH_KEY_FILE", type=click.Path(dir_okay=False), help="File holding the key; otherwise PYPROTON_ML_AUTH_KEY.")
@option("--no-auth", envvar=f"{ENV}NO_AUTH", is_flag=True, help="Serve without authentication (logs a warning).")
@option("--workers", envvar=f"{ENV}WORKERS", type=_IntRange(1, 64), help="gunicorn worker processes.")
@option("--threads", envvar=f"{ENV}THREADS", type=_IntRange(1, 256), help="Threads per worker.")
@option("--read-timeout", envvar=f"{ENV}READ_TIMEOUT", type=_IntRange(1, 3600), help="Seconds one read of a request may stall before the connection is dropped (default 10).")
def serve(models_dir, host, port, auth_header, auth_key_file, no_auth, workers, threads, read_timeout):
    """Serve each model as a Proton remote UDF at POST /udf/<function name>."""
    from pyproton_ml.serving.config import build_config
    from pyproton_ml.serving.server import serve as run_server

    # A server logs its start, stop and errors even without -v.
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    config = build_config(
        models_dir=models_dir,
        host=host,
        port=port,
        auth_header=auth_header,
        auth_key_file=auth_key_file,
        no_auth=no_auth or None,
        workers=workers,
        threads=threads,
        read_timeout=read_timeout,
    )
    run_server(config)


@main.command()
@option("--models", "models_dir", type=click.Path(file_okay=False), envvar=f"{ENV}MODELS_DIR", default="udfs/models", help="Directory of <function>/<version>/ model folders.")
@option("--function", "function_name", envvar=f"{ENV}FUNCTION", default=None, help="Function to register; default: every model in --models.")
@option("--url", "base_url", envvar=f"{ENV}UDF_BASE_URL", required=True, help="Base URL of the UDF server as Proton reaches it, e.g. http://udf:8000.")
@option("--auth-header", envvar=f"{ENV}AUTH_HEADER", default="X-API-Key", help="Header name Proton sends the key in.")
@option("--auth-key-file", envvar=f"{ENV}AUTH_KEY_FILE", type=click.Path(dir_okay=False), help="File holding the key; otherwise PYPROTON_ML_AUTH_KEY.")
@option("--execution-timeout-ms", envvar=f"{ENV}EXECUTION_TIMEOUT_MS", type=_IntRange(1, 3_600_000), default=10_000, help="EXECUTION_TIMEOUT: how long Proton waits for one call, in ms.")
@option("--print-sql", envvar=f"{ENV}PRINT_SQL", is_flag=True, help="Print the statements with the key masked instead of running them.")
@_proton_options
def register(models_dir, function_name, base_url, auth_header, auth_key_file, execution_timeout_ms, print_sql, proton_host, proton_port, proton_user):
    """Register models as Proton remote functions (CREATE OR REPLACE REMOTE FUNCTION)."""
    from pyproton_ml.models.artifact import discover_metadata
    from pyproton_ml.registration import register_models, registration_statement
    from pyproton_ml.sql.render import render

    found = discover_metadata(Path(models_dir))
    if not found:
        raise click.ClickException(f"No models found in {models_dir!r}. Train one first, e.g. with `pyproton-ml demo`.")
    if function_name is not None and function_name not in found:
        raise click.BadParameter(
            f"no model {function_name!r} in {models_dir!r}; found: {', '.join(sorted(found))}.", param_hint="--function"
        )
    names = [function_name] if function_name else sorted(found)

    if print_sql:
        # The statements carry a placeholder, never the real key.
        for name in names:
            statement = registration_statement(
                found[name], base_url, auth_header=auth_header, auth_key="********", execution_timeout_ms=execution_timeout_ms
            )
            click.echo(render(statement) + ";\n")
        return

    key = _auth_key(auth_key_file)
    with _proton_client(proton_host, proton_port, proton_user) as client:
        registered = register_models(
            client,
            Path(models_dir),
            base_url,
            auth_header=auth_header,
            auth_key=key,
            function_names=names,
            execution_timeout_ms=execution_timeout_ms,
        )
    for metadata in registered:
        _step(f"Registered {metadata.function_name} (model version {metadata.version}) at {base_url.rstrip('/')}/udf/{metadata.function_name}")


@main.command()
@option("--sql-dir", envvar=f"{ENV}SQL_DIR", type=click.Path(file_okay=False, exists=True), default="sql", help="Folder of numbered *.sql files, applied in name order.")
@_proton_options
def apply(sql_dir, proton_host, proton_port, proton_user):
    """Apply the generated SQL (streams and materialized views) to Proton."""
    from pyproton_ml.proton.statements import read_sql_directory

    statements = read_sql_directory(sql_dir)
    with _proton_client(proton_host, proton_port, proton_user) as client:
        count = client.apply(statements)
    _step(f"Applied {count} statements from {sql_dir}")


@main.command("stream-events")
@_example_options
@option("--count", envvar=f"{ENV}EVENT_COUNT", type=_IntRange(1), default=None, help="Send only the first N payments (in arrival order).")
@option("--batch-rows", envvar=f"{ENV}BATCH_ROWS", type=_IntRange(1, 65409), default=500, help="Rows per INSERT; each INSERT is one block for the views.")
@option("--end-at-now/--keep-times", envvar=f"{ENV}END_AT_NOW", default=True, help="Shift all times so the last payment sent is now (default), or send them unchanged.")
@_proton_options
def stream_events(events, merchants, labels, public_dataset, seed, count, batch_rows, end_at_now, proton_host, proton_port, proton_user):
    """Insert the example's merchants, payments and labels into Proton.

    By default every time is shifted by one offset so that the last payment
    sent is stamped now: live panels and streaming windows look at the last
    minutes, and the generated events lie in 2024.
    """
    from pyproton_ml.examples.fraud.definitions import payments as payments_stream
    from pyproton_ml.examples.fraud.replay import replay_example

    example = _load_example(events, merchants, labels, public_dataset, seed)
    with _proton_client(proton_host, proton_port, proton_user) as client:
        sent = replay_example(client, example, batch_rows=batch_rows, count=count, end_at_now=end_at_now)
    moved = f", times shifted by {sent.shift}" if end_at_now else ""
    _step(f"Streamed {sent.payments} payments into {payments_stream.name} ({sent.merchants} merchant rows, {sent.labels} labels{moved})")


@main.group()
def example() -> None:
    """Work with the bundled card-payment fraud example."""


@example.command("generate")
@option("--sql-dir", envvar=f"{ENV}SQL_DIR", type=click.Path(file_okay=False), default="sql", help="Where the rendered SQL goes.")
@option("--dashboards-dir", envvar=f"{ENV}DASHBOARDS_DIR", type=click.Path(file_okay=False), default="dashboards", help="Where the Grafana JSON and provisioning files go.")
@option("--check", envvar=f"{ENV}CHECK", is_flag=True, help="Only report files that are out of date; exit 1 if any are.")
def example_generate(sql_dir, dashboards_dir, check):
    """Render the example's SQL into sql/ and its Grafana files into dashboards/."""
    from pyproton_ml.examples.fraud.artifacts import stale_example_files, write_example_files

    if check:
        stale = stale_example_files(Path(sql_dir), Path(dashboards_dir))
        for path in stale:
            click.echo(f"out of date, missing or not generated: {path}")
        if stale:
            raise SystemExit(1)
        click.echo(f"{sql_dir} and {dashboards_dir} are up to date.")
        return

    for path in write_example_files(Path(sql_dir), Path(dashboards_dir)):
        click.echo(f"wrote {path}")


@example.command("data")
@option("--out", envvar=f"{ENV}DATA_DIR", type=click.Path(file_okay=False), required=True, help="Folder to write payments, merchants and labels into.")
@option("--format", "file_format", envvar=f"{ENV}DATA_FORMAT", type=click.Choice(["csv", "parquet"]), default="csv", help="File format.")
@option("--seed", envvar=f"{ENV}SEED", type=int, default=7, help="Seed of the event generator.")
def example_data(out, file_format, seed):
    """Write the generated example events as files, to edit or to pass back with --events."""
    from pyproton_ml.examples.fraud.data import generate_fraud_example, write_example

    for path in write_example(generate_fraud_example(seed=seed), Path(out), format=file_format).values():
        click.echo(f"wrote {path}")


@example.command("train")
@_example_options
@option("--models-dir", type=click.Path(file_okay=False), default="udfs/models", envvar=f"{ENV}MODELS_DIR", help="Where the trained model is saved.")
def example_train(events, merchants, labels, public_dataset, seed, models_dir):
    """Train the example model in the embedded engine and save it, without serving."""
    from pyproton_ml.embedded.engine import EmbeddedEngine
    from pyproton_ml.examples.fraud.training import build_training_set, train_and_save

    example = _load_example(events, merchants, labels, public_dataset, seed)
    with EmbeddedEngine() as engine:
        training_set = build_training_set(engine, example)
    trained, path = train_and_save(training_set, Path(models_dir))
    metrics = trained.metrics
    click.echo(
        f"Saved the model to {path}: precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}, "
        f"F1 {metrics['f1']:.3f}, ROC AUC {_number(metrics.get('roc_auc'))} on the later {trained.test_rows} rows."
    )


if __name__ == "__main__":
    main()
