"""Who sees what: tokens, sessions, CSRF, the throttle, and every route refusing another
member's data whatever the URL says."""

from __future__ import annotations

from starlette.testclient import TestClient

from alliance.audit import Actor
from alliance.report import statement_csv
from alliance.services.dashboard_access import issue_demo_tokens, revoke_tokens, token_digest
from alliance.services.dashboard_access import sign_in as check_token
from alliance.services.reporting import member_statement
from alliance.services.settlement import settle
from alliance.storage.schema import dashboard_tokens, quarantine
from tests.dashboard.conftest import csrf_of, dashboard_app, sign_in
from tests.dashboard.support import NOW

MEMBER_ROUTES = [
    "/dashboard/members/{m}",
    "/dashboard/members/{m}/exchange",
    "/dashboard/members/{m}/statements",
    "/dashboard/members/{m}/statements/2026-12",
    "/dashboard/members/{m}/statements/2026-12.csv",
    "/dashboard/members/{m}/statements/2026-11",
    "/dashboard/members/{m}/insights",
]
SHARED_ROUTES = ["/dashboard/", "/dashboard/agreement"]
ADMIN_ROUTES = ["/dashboard/alliance"]


def test_a_member_signs_in_with_its_token_and_lands_on_its_overview(client, tokens):
    answer = sign_in(client, tokens["li"])
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/members/li"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    page = client.get("/dashboard/members/li")
    assert page.status_code == 200
    assert "Li&#39;s Organic Baby Clothes" in page.text
    assert "<svg" in page.text and "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_the_session_cookie_is_secure_over_https(seeded, agreement, tokens):
    with TestClient(dashboard_app(seeded, agreement), base_url="https://testserver") as client:
        answer = sign_in(client, tokens["li"])
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


def test_tokens_are_stored_only_as_their_digest(seeded, tokens):
    with seeded.connect() as conn:
        stored = [tuple(row) for row in conn.execute(dashboard_tokens.select())]
    flat = repr(stored)
    assert all(token not in flat for token in tokens.values())
    assert token_digest(tokens["li"]) in flat


def test_every_page_sends_a_reader_without_a_session_to_the_sign_in_form(client):
    for route in MEMBER_ROUTES + SHARED_ROUTES + ADMIN_ROUTES:
        answer = client.get(route.format(m="li"), follow_redirects=False)
        assert answer.status_code == 303, route
        assert answer.headers["location"] == "/dashboard/sign-in"


def test_li_cannot_read_any_page_of_wang_by_changing_the_url(client, tokens):
    sign_in(client, tokens["li"])
    for route in MEMBER_ROUTES:
        answer = client.get(route.format(m="wang"), follow_redirects=False)
        assert answer.status_code == 403, route
        assert "Wang&#39;s Natural Baby Care" not in answer.text
        assert "wang#" not in answer.text and "300.00" not in answer.text
        assert "text/csv" not in answer.headers["content-type"]
        assert client.get(route.format(m="li")).status_code == 200, route  # its own: fine


def test_a_page_for_a_member_that_does_not_exist_is_refused_too(client, tokens):
    sign_in(client, tokens["li"])
    for route in MEMBER_ROUTES:
        assert client.get(route.format(m="nobody")).status_code == 403, route


def test_a_member_cannot_open_the_admin_page(client, tokens):
    sign_in(client, tokens["wang"])
    assert client.get("/dashboard/alliance").status_code == 403


def test_the_admin_sees_every_member(client, tokens):
    sign_in(client, tokens["admin"])
    for route in MEMBER_ROUTES + ADMIN_ROUTES:
        for member in ("li", "wang", "zhang"):
            assert client.get(route.format(m=member)).status_code == 200, route


def test_the_admin_page_puts_every_member_side_by_side_with_its_flag(client, tokens):
    assert sign_in(client, tokens["admin"]).headers["location"] == "/dashboard/alliance"
    page = client.get("/dashboard/alliance").text
    for name in ("Li&#39;s Organic", "Wang&#39;s Natural", "Zhang&#39;s", "Zhao Newborn"):
        assert name in page
    assert "free rider" in page  # wang gets 10 clicks and gives 2
    assert "No orders in quarantine." in page


def test_a_statement_csv_is_the_same_as_the_command_s(client, tokens, seeded, agreement):
    sign_in(client, tokens["wang"])
    answer = client.get("/dashboard/members/wang/statements/2026-12.csv")
    expected = statement_csv(member_statement(seeded, agreement, "wang", "2026-12", as_of=NOW))
    assert answer.text == expected
    assert "attachment" in answer.headers["content-disposition"]
    assert "wang/4" in answer.text or "wang#4" in answer.text


def test_a_revoked_token_ends_its_sessions_at_the_next_request(client, tokens, seeded, agreement):
    sign_in(client, tokens["li"])
    assert client.get("/dashboard/members/li").status_code == 200
    assert revoke_tokens(seeded, agreement, "li") == 1
    answer = client.get("/dashboard/members/li", follow_redirects=False)
    assert answer.headers["location"] == "/dashboard/sign-in"
    assert sign_in(client, tokens["li"]).status_code == 401


def test_a_wrong_token_is_refused_and_says_what_to_do(client, tokens):
    answer = sign_in(client, tokens["li"] + "x")
    assert answer.status_code == 401
    assert "mistyped, or it was revoked" in answer.text
    assert "alliance_dashboard=" not in answer.headers.get("set-cookie", "")


def test_a_sign_in_without_the_form_s_csrf_token_is_refused(client, tokens):
    client.get("/dashboard/sign-in")
    answer = client.post("/dashboard/sign-in", data={"token": tokens["li"], "csrf": "forged"})
    assert answer.status_code == 400
    fresh = TestClient(client.app)
    answer = fresh.post("/dashboard/sign-in", data={"token": tokens["li"]})
    assert answer.status_code == 400


def test_a_token_in_the_url_signs_nobody_in(client, tokens):
    answer = client.get(f"/dashboard/sign-in?token={tokens['li']}", follow_redirects=False)
    assert answer.status_code == 200 and "alliance_dashboard=" not in str(answer.headers)
    assert client.get("/dashboard/members/li", follow_redirects=False).status_code == 303


def test_failed_sign_ins_are_throttled_per_address(client, tokens):
    for _ in range(5):
        assert sign_in(client, "dash_wrong").status_code == 401
    answer = sign_in(client, tokens["li"])  # even the right token waits now
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in answer.text


def test_sign_out_needs_the_session_s_csrf_token_and_ends_the_session(client, tokens):
    sign_in(client, tokens["li"])
    page = client.get("/dashboard/members/li").text
    refused = client.post("/dashboard/sign-out", data={"csrf": "forged"})
    assert refused.status_code == 400
    assert client.get("/dashboard/members/li").status_code == 200
    out = client.post("/dashboard/sign-out", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert out.headers["location"] == "/dashboard/sign-in"
    assert client.get("/dashboard/members/li", follow_redirects=False).status_code == 303


def test_pages_speak_chinese_by_accept_language_and_switch_with_lang(client, tokens):
    sign_in(client, tokens["li"])
    chinese = client.get("/dashboard/members/li", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in chinese.text and "伙伴送来的点击" in chinese.text
    switched = client.get("/dashboard/members/li?lang=en", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in switched.text and "Clicks partners sent you" in switched.text
    remembered = client.get("/dashboard/members/li", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in remembered.text  # the switch is remembered


def test_shared_figures_under_min_group_size_say_fewer_than_k(client, tokens):
    sign_in(client, tokens["wang"])
    page = client.get("/dashboard/members/wang").text
    assert "fewer than 10 customers" in page


def test_given_and_received_flags_the_partner_that_takes_more_than_it_gives(client, tokens):
    sign_in(client, tokens["li"])
    page = client.get("/dashboard/members/li/exchange").text
    row = page[page.index("Wang&#39;s Natural Baby Care") :].split("</tr>")[0]
    assert "free rider" in row
    sign_in(client, tokens["wang"])
    assert "You receive more than 3 times" in client.get("/dashboard/members/wang/exchange").text


def test_a_malformed_period_is_not_found(client, tokens):
    sign_in(client, tokens["li"])
    assert client.get("/dashboard/members/li/statements/2026-13").status_code == 404


def test_the_demo_gets_a_token_for_every_member_and_the_admin(seeded, agreement):
    tokens = issue_demo_tokens(seeded, agreement)
    assert sorted(tokens.members) == sorted(agreement.members)
    for member, token in tokens.members.items():
        principal = check_token(seeded, agreement, token)
        assert principal is not None and principal.member == member
    admin = check_token(seeded, agreement, tokens.admin)
    assert admin is not None and admin.is_admin


def test_the_statements_page_lists_the_member_s_transfers_once_a_month_is_settled(
    client, tokens, seeded, agreement
):
    settle(seeded, agreement, "2026-11", now=NOW, actor=Actor("test", "settle"), force=True)
    sign_in(client, tokens["li"])
    page = client.get("/dashboard/members/li/statements").text
    assert "2026-11" in page and "not yet" in page  # wang owes li for November, unpaid
    assert "10.00 CNY" in page


def test_the_overview_shows_the_gift_packs_a_member_takes_part_in(client, tokens):
    sign_in(client, tokens["li"])
    assert "newborn-gift-pack" in client.get("/dashboard/members/li").text


def test_the_admin_page_lists_quarantined_orders_and_sync_health(client, tokens, seeded):
    with seeded.begin() as conn:
        conn.execute(
            quarantine.insert().values(
                member="zhang", external_id="77", date_modified="2026-12-19T10:00:00",
                reason="total: not a number", first_seen_at=NOW, last_seen_at=NOW,
            )
        )  # fmt: skip
    sign_in(client, tokens["admin"])
    page = client.get("/dashboard/alliance").text
    quarantined = page[page.index("Quarantined orders") :]
    assert "zhang" in quarantined and "77" in quarantined and "total: not a number" in quarantined
    assert "Sync health" in page
