"""The dashboard's pages: sign-in and out, a member's overview, given and received,
statements (with CSV) and transfers, insights, the agreement, and the admin's alliance page.

Each page is load -> figures -> template. Authorization happens once, in :func:`_viewer`:
no session (or a revoked token) sends the reader to the sign-in page, and a member's pages
answer 403 to anyone who is not that member or the admin, whatever the URL says.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote

import anyio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alliance.agreement.summary import agreement_summary, deal_terms
from alliance.dashboard_figures import Measure, overview_charts
from alliance.periods import parse_period, period_of
from alliance.profiles import DIMENSIONS
from alliance.report import statement_csv as csv_text
from alliance.services import dashboard as figures
from alliance.services.dashboard_access import Principal, principal_for_digest
from alliance.services.dashboard_access import sign_in as check
from alliance.services.insights import agreement_pairs, alliance_overlap, member_profile, window
from alliance.services.reporting import member_statement
from alliance.suppression import shown
from dashboard.i18n import LANGUAGE_COOKIE, html_lang, request_locale, translations
from dashboard.sessions import Session, session_csrf_matches

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Denied(Exception):
    """The page is not the reader's: answered with a response instead of the page."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _base(request: Request) -> str:
    return request.scope.get("root_path", "")


def _render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    viewer: Principal | None = None,
    session: Session | None = None,
    **context: Any,
) -> HTMLResponse:
    locale, switched = request_locale(request)
    state = request.app.state
    agreement = state.agreement
    page = state.jinja.get_template(template).render(
        translations=translations(locale),
        lang=html_lang(locale),
        base=_base(request),
        path=request.url.path,
        viewer=viewer,
        csrf=session.csrf if session else "",
        alliance_name=agreement.settings.name,
        members=agreement.members,
        currency=agreement.currency,
        **context,
    )
    response = HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)
    if switched:
        response.set_cookie(
            LANGUAGE_COOKIE, html_lang(locale), max_age=365 * 86400, path="/", samesite="lax"
        )
    return response


def _to_sign_in(request: Request) -> Response:
    return RedirectResponse(f"{_base(request)}/sign-in", status_code=303)


def _viewer(request: Request, member: str | None = None) -> tuple[Principal, Session]:
    """The signed-in reader (and their session), allowed to see ``member``'s pages."""
    state = request.app.state
    session = state.signer.session(request)
    principal = None
    if session is not None:
        principal = principal_for_digest(state.engine, state.agreement, session.digest)
    if session is None or principal is None:
        raise Denied(_to_sign_in(request))
    if member is not None and (
        member not in state.agreement.members or not principal.may_see(member)
    ):
        raise Denied(
            _render(request, "dashboard/denied.html", 403, viewer=principal, session=session)
        )
    return principal, session


def _refresh_after(response: Response, request: Request) -> Response:
    refresher = request.app.state.refresher
    if refresher.due():
        response.background = BackgroundTask(refresher.run)
    return response


def _checked(request: Request, member: str | None, build: Any) -> Response:
    try:
        viewer, session = _viewer(request, member)
    except Denied as denied:
        return denied.response
    return build(viewer, session)  # type: ignore[no-any-return]


async def _page(request: Request, member: str | None, build: Any) -> Response:
    """The reader checked, then the page built, in one trip to a worker thread (both read
    the database)."""
    return await anyio.to_thread.run_sync(_checked, request, member, build)


# -- signing in and out -------------------------------------------------------------------

FORM_MAX_BYTES = 4096
"""A sign-in or sign-out form is a token and a CSRF field: anything longer is not ours."""


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form's fields (the first value of each); empty when it is not one."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


async def home(request: Request) -> Response:
    def build(viewer: Principal, _session: Session) -> Response:
        where = "/alliance" if viewer.is_admin else f"/members/{quote(viewer.member)}"
        return RedirectResponse(_base(request) + where, status_code=303)

    return await _page(request, None, build)


def _sign_in_page(request: Request, status: int = 200, problem: str = "") -> Response:
    """The form, with a fresh CSRF token in its hidden field and in a signed cookie."""
    signer = request.app.state.signer
    token = signer.new_form_token()
    response = _render(request, "dashboard/sign_in.html", status, form_csrf=token, problem=problem)
    signer.set_form_token(request, response, token)
    return response


async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def sign_in(request: Request) -> Response:
    state = request.app.state
    address = _client(request)
    wait = state.failed_sign_ins.wait_seconds(address)
    if wait:
        response = _sign_in_page(request, 429, "throttled")
        response.headers["Retry-After"] = str(wait)
        return response
    form = await _form(request)
    sent_csrf, token = form.get("csrf", ""), form.get("token", "")
    if not state.signer.form_csrf_matches(request, sent_csrf):
        return _sign_in_page(request, 400, "expired")
    principal = await anyio.to_thread.run_sync(check, state.engine, state.agreement, token)
    if principal is None:
        state.failed_sign_ins.failed(address)
        return _sign_in_page(request, 401, "wrong")
    state.failed_sign_ins.succeeded(address)
    where = "/alliance" if principal.is_admin else f"/members/{quote(principal.member)}"
    response = RedirectResponse(_base(request) + where, status_code=303)
    state.signer.start_session(request, response, principal.digest)
    return response


async def sign_out(request: Request) -> Response:
    state = request.app.state
    session = state.signer.session(request)
    form = await _form(request)
    if session is not None and not session_csrf_matches(session, form.get("csrf", "")):
        return Response("The form has expired; reload the page and try again.", 400)
    response = _to_sign_in(request)
    state.signer.end_session(request, response)
    return response


# -- a member's pages ---------------------------------------------------------------------


async def overview_page(request: Request) -> Response:
    member = request.path_params["member"]
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        view = figures.overview(state.engine, state.agreement, member, now=state.clock())
        charts = overview_charts(view.months, state.agreement.currency)
        packs = _gift_packs(member)
        response = _render(
            request, "dashboard/overview.html", viewer=viewer, session=session, member=member,
            view=view, month=view.current, charts=charts, packs=packs, Measure=Measure,
        )  # fmt: skip
        return _refresh_after(response, request)

    def _gift_packs(member: str) -> list[dict[str, Any]]:
        from alliance.services.promotion_report import promotion_reports

        found = []
        for report in promotion_reports(state.engine, state.agreement):
            mine = [p for p in report.partners if p.partner == member]
            if report.trigger_member == member or mine:
                found.append({"report": report, "mine": mine[0] if mine else None})
        return found

    return await _page(request, member, build)


async def exchange_page(request: Request) -> Response:
    member = request.path_params["member"]
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        view = figures.exchange(state.engine, state.agreement, member, now=state.clock())
        response = _render(
            request, "dashboard/exchange.html", viewer=viewer, session=session, member=member,
            view=view,
        )  # fmt: skip
        return _refresh_after(response, request)

    return await _page(request, member, build)


async def statements_page(request: Request) -> Response:
    member = request.path_params["member"]
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        return _render(
            request, "dashboard/statements.html", viewer=viewer, session=session, member=member,
            periods=figures.statement_periods(state.engine, member),
            transfers=figures.member_transfers(state.engine, member),
        )  # fmt: skip

    return await _page(request, member, build)


def _period(request: Request) -> str | None:
    try:
        return parse_period(request.path_params["period"])
    except ValueError:
        return None


async def statement_page(request: Request) -> Response:
    member, period = request.path_params["member"], _period(request)
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        if period is None:
            return _render(request, "dashboard/denied.html", 404, viewer=viewer, session=session)
        statement = member_statement(
            state.engine, state.agreement, member, period, as_of=state.clock()
        )
        return _render(
            request, "dashboard/statement.html", viewer=viewer, session=session, member=member,
            statement=statement,
        )  # fmt: skip

    return await _page(request, member, build)


async def statement_csv(request: Request) -> Response:
    member, period = request.path_params["member"], _period(request)
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        if period is None:
            return _render(request, "dashboard/denied.html", 404, viewer=viewer, session=session)
        statement = member_statement(
            state.engine, state.agreement, member, period, as_of=state.clock()
        )
        name = f"statement-{period}-{member}.csv"
        return Response(
            csv_text(statement),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"',
                     "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )  # fmt: skip

    return await _page(request, member, build)


INSIGHT_MONTHS, MAX_INSIGHT_MONTHS = 6, 12
"""The insights page's window: the last 6 months unless ``?months=`` asks for 1 to 12."""


def _insight_months(request: Request) -> int:
    try:
        asked = int(request.query_params.get("months", "")[:3])
    except ValueError:
        return INSIGHT_MONTHS
    return min(max(asked, 1), MAX_INSIGHT_MONTHS)


async def insights_page(request: Request) -> Response:
    """The member's profile and its overlap and fit with every other member, released by the
    same code as ``alliance profile`` and ``alliance overlap`` (and kept a minute)."""
    member, months = request.path_params["member"], _insight_months(request)
    state = request.app.state

    def compute(last: str) -> tuple[Any, Any]:
        span = window(last, months, state.agreement.settings.timezone)
        return (
            member_profile(state.engine, state.agreement, member, span),
            alliance_overlap(state.engine, state.agreement, span, member),
        )

    def build(viewer: Principal, session: Session) -> Response:
        last = period_of(state.clock(), state.agreement.settings.timezone)
        profile, report = state.insights.get((member, months, last), lambda: compute(last))
        dealt = {p for pair in agreement_pairs(state.agreement) if member in pair for p in pair}
        return _render(
            request, "dashboard/insights.html", viewer=viewer, session=session, member=member,
            months=months, month_choices=range(1, MAX_INSIGHT_MONTHS + 1), profile=profile,
            report=report, dimensions=DIMENSIONS, shown=shown, dealt=dealt - {member},
        )  # fmt: skip

    return await _page(request, member, build)


# -- the agreement and the alliance -------------------------------------------------------


async def agreement_page(request: Request) -> Response:
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        agreement = state.agreement
        return _render(
            request, "dashboard/agreement.html", viewer=viewer, session=session,
            agreement=agreement, terms=deal_terms(agreement),
            summary=agreement_summary(agreement),
        )  # fmt: skip

    return await _page(request, None, build)


async def alliance_page(request: Request) -> Response:
    state = request.app.state

    def build(viewer: Principal, session: Session) -> Response:
        if not viewer.is_admin:
            return _render(request, "dashboard/denied.html", 403, viewer=viewer, session=session)
        from alliance.services.sync_records import quarantined

        rows = figures.alliance_rows(state.engine, state.agreement, now=state.clock())
        with state.engine.connect() as conn:
            held = quarantined(conn)
        response = _render(
            request, "dashboard/alliance.html", viewer=viewer, session=session, rows=rows,
            statuses=state.member_statuses(), quarantined=held, Measure=Measure,
            ratio=state.agreement.settings.free_rider_ratio,
        )  # fmt: skip
        return _refresh_after(response, request)

    return await _page(request, None, build)
