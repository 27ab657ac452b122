"""``alliance sandbox serve``: run a sandbox WooCommerce store until Ctrl-C.

A thin shell over ``start_sandbox``: library errors become click usage errors (exit status 2)
naming the option and what is wrong, never a traceback.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from alliance.errors import BadInputError
from connector.sandbox.auth import ApiKey
from connector.sandbox.faults import FaultPlan
from connector.sandbox.seed import SeedData, generate_orders, generate_products, load_seed
from connector.sandbox.server import start_sandbox


@click.group()
def sandbox() -> None:
    """A local imitation of a WooCommerce store's REST API, for tests, demos and benchmarks."""


def _keys(consumer_key: str | None, consumer_secret: str | None) -> list[ApiKey] | None:
    if consumer_key is None and consumer_secret is None:
        return None
    if not consumer_key or not consumer_secret:
        raise click.UsageError("give both --consumer-key and --consumer-secret, or neither")
    if not consumer_key.startswith("ck_") or not consumer_secret.startswith("cs_"):
        raise click.UsageError(
            "WooCommerce keys look like ck_... (--consumer-key) and cs_... (--consumer-secret)"
        )
    return [ApiKey(consumer_key, consumer_secret, "read_write")]


@sandbox.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", "seed_file", type=click.Path(path_type=Path), help="JSON seed file.")
@click.option("--faults", default=None, help='Fault rules, e.g. "429:2@next=3,slow:0.5@p=0.1".')
@click.option("--consumer-key", default=None, help="Use this key instead of a generated one.")
@click.option("--consumer-secret", default=None)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a certificate from a local CA.")
@click.option("--rest-route-only", is_flag=True, help="Plain permalinks: /wp-json answers 404.")
@click.option("--legacy", is_flag=True, help="Behave like WooCommerce < 5.8 (no modified_after).")
@click.option("--generate", type=click.IntRange(min=0), default=0, help="Add N generated orders.")
@click.option("--verbose", is_flag=True, help="Log requests (without secrets) to stderr.")
def serve(
    port: int,
    host: str,
    seed_file: Path | None,
    faults: str | None,
    consumer_key: str | None,
    consumer_secret: str | None,
    tls: bool,
    rest_route_only: bool,
    legacy: bool,
    generate: int,
    verbose: bool,
) -> None:
    """Serve a sandbox store until interrupted."""
    try:
        data = load_seed(seed_file) if seed_file is not None else SeedData()
    except BadInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--seed") from None
    try:
        plan = FaultPlan.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    keys = _keys(consumer_key, consumer_secret)
    if generate:
        data.products = data.products or generate_products()
        start = max((int(o["id"]) for o in data.orders), default=1000) + 1
        data.orders += generate_orders(generate, start=start, products=data.products)
    try:
        handle = start_sandbox(
            orders=data.orders,
            products=data.products,
            coupons=data.coupons,
            host=host,
            port=port,
            tls=tls,
            keys=keys,
            faults=plan,
            rest_route_only=rest_route_only,
            legacy_ignores_modified_after=legacy,
            verbose=verbose,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    click.echo(f"Sandbox store:   {handle.url}")
    click.echo(f"API root:        {handle.api_root}")
    click.echo(f"Consumer key:    {handle.key.consumer_key}")
    click.echo(f"Consumer secret: {handle.key.consumer_secret}")
    if handle.ca_path:
        click.echo(f"CA certificate:  {handle.ca_path}")
    click.echo(f"Faults:          {plan}")
    click.echo(f"Orders: {len(data.orders)}, products: {len(data.products)}, coupons: "
               f"{len(data.coupons)}. Ctrl-C stops.")  # fmt: skip
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        handle.stop()
    click.echo("Sandbox store stopped.")
