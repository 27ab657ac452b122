"""``alliance demo --serve``: the web app and a sample page per shop, showing partner blocks.

Each sample page is a plain shop page (its own little theme) that embeds the partner block
exactly as a real shop would, with ``embed.js``; clicking a card goes through the tracked link
to the partner's sandbox store and is recorded. A page speaks the visitor's language
(``Accept-Language``, or ``?lang=``) and names it in ``<html lang>``, which ``embed.js`` passes
on, so the block comes in the same language. It serves until Ctrl-C.
"""

from __future__ import annotations

import html
import socket
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

import click
import uvicorn
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from alliance.agreement import Agreement
from alliance.settings import Settings
from widgets import i18n

PLACEMENTS = {"li": "thankyou", "wang": "cart", "zhang": "product", "zhao": "article"}

SHELL_TEXT = {
    i18n.ENGLISH: (
        "Thank you for shopping with us",
        "This is {shop}'s page; the block below comes from the alliance ({placement} placement).",
    ),
    i18n.SIMPLIFIED_CHINESE: (
        "感谢您的惠顾",
        "这是{shop}的页面，下方的推荐区块由联盟提供（{placement} 位置）。",
    ),
}
"""The sample page's own words, in each language the partner block speaks."""


def sample_page(agreement: Agreement, member: str, locale: str = i18n.ENGLISH) -> str:
    """A shop's page with the partner block embedded, as the shop would paste it.

    The page is in the visitor's language and says so in ``<html lang>``: ``embed.js`` asks
    for the block in that language, as it would on a real shop's page.
    """
    shop = html.escape(agreement.members[member].name)
    placement = PLACEMENTS.get(member, "thankyou")
    heading, intro = SHELL_TEXT[locale]
    intro = intro.format(shop=shop, placement=placement)
    path = f"/demo/{html.escape(member)}"
    return f"""<!doctype html>
<html lang="{i18n.html_lang(locale)}"><head><meta charset="utf-8"><title>{shop}</title>
<link rel="icon" href="data:,">
<style>body{{font-family:Georgia,serif;margin:0;background:#faf7f2;color:#2b2b2b}}
header{{background:#6b8f71;color:#fff;padding:1rem 2rem;font-size:1.4rem}}
header nav{{float:right;font-size:.9rem}} header a{{color:#fff}}
main{{padding:1rem 2rem;max-width:60rem}}</style></head>
<body><header>{shop}
<nav><a href="{path}?lang=en" lang="en">English</a> |
<a href="{path}?lang=zh-Hans" lang="zh-Hans">中文</a></nav></header><main>
<h1>{heading}</h1>
<p>{intro}</p>
<div data-alliance-widget data-member="{html.escape(member)}"
     data-placement="{placement}"></div>
<script src="/embed.js" async></script>
</main></body></html>"""


def demo_routes(agreement: Agreement) -> list[Route]:
    async def page(request: Request) -> Response:
        member = request.path_params["member"]
        if member not in agreement.members:
            return HTMLResponse("Not a member of this alliance.", status_code=404)
        locale = i18n.choose_locale(
            request.query_params.get("lang"), request.headers.get("accept-language")
        )
        headers = {"Vary": "Accept-Language", "Content-Language": i18n.html_lang(locale)}
        return HTMLResponse(sample_page(agreement, member, locale), headers=headers)

    return [Route("/demo/{member}", page, methods=["GET"])]


def serve_demo(
    settings: Settings,
    agreement: Agreement,
    engine: Engine,
    stores: Mapping[str, Any],
    listener: socket.socket,
    echo: Callable[[str], None],
) -> None:
    """Serve the app and the sample pages on ``listener`` (from :func:`listen`) until Ctrl-C.

    The port is bound and listening before the addresses are printed, so a browser (or a
    script) opening one at once waits for the server instead of being refused.
    """
    from alliance.cli.web_app import mount_dashboard
    from alliance.services.dashboard import refresh_rollups
    from alliance.services.dashboard_access import issue_demo_tokens
    from widgets.app import create_app

    app = create_app(settings, agreement=agreement, engine=engine)
    mount_dashboard(app, settings)
    app.router.routes.extend(demo_routes(agreement))
    refresh_rollups(engine, agreement)
    tokens = issue_demo_tokens(engine, agreement)
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    echo("")
    echo("Serving the partner blocks; open a shop's page (Ctrl-C stops):")
    for member in agreement.members:
        echo(f"  http://127.0.0.1:{port}/demo/{member}")
    echo("  (each page and its block follow the browser's language; ?lang=zh-Hans shows Chinese)")
    echo(f"  (the sandbox stores: {', '.join(h.url for h in stores.values())})")
    echo("")
    echo(f"The dashboard: http://127.0.0.1:{port}/dashboard/sign-in, with one of these tokens")
    echo("(each shown only now; `alliance members token MEMBER` makes a new one):")
    for member, token in tokens.members.items():
        echo(f"  {member:6} {token}")
    echo(f"  {'admin':6} {tokens.admin}")
    with listener, suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled
        server.run(sockets=[listener])
    echo("Stopped.")


def listen(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port, read back from the socket),
    or an error that says what to do."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise click.ClickException(
            f"cannot serve the demo on 127.0.0.1:{port}: {exc.strerror}. Stop what uses that "
            "port, or pick another with --serve PORT."
        ) from exc
    return listener
