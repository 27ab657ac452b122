"""``alliance sandbox serve``: run a sandbox WooCommerce store until Ctrl-C; ``alliance sandbox
order``: buy at one as a shopper would (``connector.sandbox.checkout``).

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
from connector.sandbox.checkout import CHECKOUT_STATUSES, place_order
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
@click.option(
    "--insecure-callbacks",
    is_flag=True,
    help="Let /wc-auth/v1/authorize call an http:// app back (a real store refuses).",
)
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
    insecure_callbacks: bool,
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
            insecure_callbacks=insecure_callbacks,
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


@sandbox.command()
@click.option(
    "--store", "store_url", required=True, help="The sandbox store, e.g. http://127.0.0.1:8080."
)
@click.option("--product", "product_id", type=click.IntRange(min=1), required=True,
              help="The product's id in that store.")  # fmt: skip
@click.option("--quantity", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--coupon", "coupons", multiple=True, help="A coupon code to apply (repeatable).")
@click.option("--click", "click_url", default=None,
              help="A tracked link (`alliance link`) the shopper followed first.")  # fmt: skip
@click.option("--email", default=None, help="The shopper's email (default: a made-up new guest).")
@click.option(
    "--status",
    type=click.Choice(CHECKOUT_STATUSES),
    default="processing",
    show_default=True,
    help="processing: paid online; on-hold: awaiting a bank transfer; pending: unpaid.",
)
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The CA a --tls store printed.")  # fmt: skip
def order(
    store_url: str,
    product_id: int,
    quantity: int,
    coupons: tuple[str, ...],
    click_url: str | None,
    email: str | None,
    status: str,
    ca_bundle: str | None,
) -> None:
    """Place a customer's order at a sandbox store, the way a checkout would.

    With --click, the tracked link is followed first, as a shopper's browser would (so
    `alliance serve` records the click), and the order carries the order-attribution values of
    the page it led to; `alliance sync` then books the referral.
    """
    try:
        placed = place_order(
            store_url,
            product_id,
            quantity=quantity,
            coupons=coupons,
            click_url=click_url,
            email=email,
            status=status,
            verify=ca_bundle or True,
        )
    except BadInputError as exc:
        raise click.ClickException(str(exc)) from None
    doc = placed.order
    lines = ", ".join(f"{i['quantity']} x {i['name']}" for i in doc.get("line_items") or [])
    click.echo(f"Order {doc['id']} placed at {store_url.rstrip('/')} ({doc['status']}): {lines}; "
               f"total {doc['total']} {doc['currency']}")  # fmt: skip
    codes = [c["code"] for c in doc.get("coupon_lines") or []]
    if codes:
        click.echo(f"Coupons:     {', '.join(codes)}")
    attribution = placed.attribution
    if attribution:
        click.echo("Attribution: " + ", ".join(f"{k}={v}" for k, v in attribution.items()))
    else:
        click.echo("Attribution: none (a type-in visit: no click led here)")
    click.echo("`alliance sync` books it (the member whose store this is).")
