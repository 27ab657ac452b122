"""``alliance demo --serve``: the web app and a sample page per shop, showing partner blocks.

Each sample page is a plain shop page (its own little theme) that embeds the partner block
exactly as a real shop would, with ``embed.js``; clicking a card goes through the tracked link
to the partner's sandbox store and is recorded. It serves until Ctrl-C.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

import uvicorn
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from alliance.agreement import Agreement
from alliance.settings import Settings

PLACEMENTS = {"li": "thankyou", "wang": "cart", "zhang": "product", "zhao": "article"}


def sample_page(agreement: Agreement, member: str) -> str:
    """A shop's page with the partner block embedded, as the shop would paste it."""
    shop = html.escape(agreement.members[member].name)
    placement = PLACEMENTS.get(member, "thankyou")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{shop}</title>
<style>body{{font-family:Georgia,serif;margin:0;background:#faf7f2;color:#2b2b2b}}
header{{background:#6b8f71;color:#fff;padding:1rem 2rem;font-size:1.4rem}}
main{{padding:1rem 2rem;max-width:60rem}}</style></head>
<body><header>{shop}</header><main>
<h1>Thank you for shopping with us</h1>
<p>This is {shop}'s page; the block below comes from the alliance ({placement} placement).</p>
<div data-alliance-widget data-member="{html.escape(member)}"
     data-placement="{placement}"></div>
<script src="/embed.js" async></script>
</main></body></html>"""


def demo_routes(agreement: Agreement) -> list[Route]:
    async def page(request: Request) -> Response:
        member = request.path_params["member"]
        if member not in agreement.members:
            return HTMLResponse("Not a member of this alliance.", status_code=404)
        return HTMLResponse(sample_page(agreement, member))

    return [Route("/demo/{member}", page, methods=["GET"])]


def serve_demo(
    settings: Settings,
    agreement: Agreement,
    engine: Engine,
    stores: Mapping[str, Any],
    port: int,
    echo: Callable[[str], None],
) -> None:
    from widgets.app import create_app

    app = create_app(settings, agreement=agreement, engine=engine)
    app.router.routes.extend(demo_routes(agreement))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    echo("")
    echo("Serving the partner blocks; open a shop's page (Ctrl-C stops):")
    for member in agreement.members:
        echo(f"  http://127.0.0.1:{port}/demo/{member}")
    echo(f"  (the sandbox stores: {', '.join(h.url for h in stores.values())})")
    with suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled, once stopped
        server.run()
    echo("Stopped.")
