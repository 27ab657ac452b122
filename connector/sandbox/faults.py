"""Fault injection for the sandbox store: the failures real WooCommerce hosts produce.

A plan is a comma-separated list of rules ``KIND[:ARG][@WHEN]...`` (``429:2@next=3``,
``503@every=5@path=orders``, ``slow:0.3@p=0.2``). The server asks :meth:`FaultPlan.decide`
once per API request; the plan counts matching requests itself, so ``next=`` and ``every=``
are exact and ``p=`` is reproducible from the plan's seed. Plans are mutable at runtime
(``set``/``clear``) and thread-safe, because the server answers on many threads.

``path=TEXT`` matches routes containing TEXT (``path=coupons`` hits ``/coupons``,
``/coupons/7`` and ``/coupons/batch``; ``path=coupons/batch`` only the batch; ``path=notes``
order notes) and ``method=POST`` one HTTP method, so a plan can fail the coupon writes and
nothing else: ``429@next=1@path=coupons@method=POST``. ``hangup`` closes the connection
without an answer before the route runs (the write did not happen; compare ``disconnect``,
which cuts the answer of a write that did). A store that is down altogether is
``SandboxHandle.down()``, not a fault: nothing listens, so connections are refused.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import Enum


class FaultKind(str, Enum):
    """What the store does instead of (or on top of) answering normally."""

    RATE_LIMITED = "429"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    SLOW = "slow"
    HTML = "html"
    TRUNCATE = "truncate"
    DISCONNECT = "disconnect"
    WRONG_TYPE = "wrongtype"
    MUTATE = "mutate"
    IGNORE_MODIFIED_AFTER = "ignore_modified_after"
    SURROGATE = "surrogate"  # a plugin cut an emoji in half: a lone \ud83d in a line's name
    HANGUP = "hangup"  # the connection closes with no answer; the route never ran


VALID_KINDS = tuple(kind.value for kind in FaultKind)
ERROR_STATUSES = frozenset({"429", "500", "502", "503", "504"})
"""Kinds that replace the answer with an HTTP error status."""

DEFAULT_ARGS: dict[str, float] = {"429": 1, "slow": 2, "html": 200, "mutate": 3}
"""ARG when a rule gives none: Retry-After seconds, sleep seconds, page status, orders changed."""

_TAKES_ARG = frozenset(DEFAULT_ARGS)


@dataclass
class FaultRule:
    """One parsed rule with its own counters (``seen`` matching requests, ``fired`` times)."""

    kind: FaultKind
    arg: float
    mode: str = "always"  # always | p | next | every
    amount: float = 0
    path: str | None = None
    method: str | None = None
    text: str = ""
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def applies_to(self, route: str, *, order_list: bool, method: str | None = None) -> bool:
        """Mutation only makes sense between pages of the order list; the rest on any route."""
        if self.kind is FaultKind.MUTATE and not order_list:
            return False
        if self.method is not None and method is not None and self.method != method.upper():
            return False
        return self.path is None or self.path in route

    def fires(self, rng: random.Random) -> bool:
        """Count this matching request and say whether the rule acts on it."""
        self.seen += 1
        if self.mode == "p":
            hit = rng.random() < self.amount
        elif self.mode == "next":
            hit = self.fired < self.amount
        elif self.mode == "every":
            hit = self.seen % int(self.amount) == 0
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


@dataclass(frozen=True)
class Fault:
    """A rule that fired for one request."""

    kind: FaultKind
    arg: float


def _bad(rule: str, why: str) -> ValueError:
    return ValueError(
        f"bad fault rule {rule!r}: {why}. Rules look like KIND[:ARG][@WHEN], WHEN one of "
        f"always, p=0.2, next=3, every=5, path=TEXT, method=POST; "
        f"valid kinds: {', '.join(VALID_KINDS)}"
    )


def _number(rule: str, text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(rule, f"{what} must be a number, not {text!r}") from None
    if value < 0 or value != value:
        raise _bad(rule, f"{what} must not be negative")
    return value


def parse_rule(text: str) -> FaultRule:
    """One ``KIND[:ARG][@WHEN]...`` rule; ``ValueError`` names the rule and the valid kinds."""
    head, *whens = text.strip().split("@")
    kind_text, _, arg_text = head.partition(":")
    try:
        kind = FaultKind(kind_text.strip().lower())
    except ValueError:
        raise _bad(text, f"unknown kind {kind_text!r}") from None
    if arg_text and kind.value not in _TAKES_ARG:
        raise _bad(text, f"{kind.value} takes no argument")
    arg_value = arg_text.partition("=")[2] if "=" in arg_text else arg_text  # retry_after=2
    arg = _number(text, arg_value, "ARG") if arg_text else DEFAULT_ARGS.get(kind.value, 0)
    if kind is FaultKind.HTML and arg not in (200, 202):
        raise _bad(text, "html takes status 200 or 202")
    if kind is FaultKind.MUTATE and (arg < 1 or arg != int(arg)):
        raise _bad(text, "mutate takes a whole number of orders, at least 1")
    rule = FaultRule(kind=kind, arg=arg, text=text.strip())
    for when in whens:
        name, _, value = when.strip().partition("=")
        if name == "always" and not value:
            rule.mode = "always"
        elif name == "path" and value:
            rule.path = value
        elif name == "method" and value.isalpha():
            rule.method = value.upper()
        elif name in ("p", "next", "every") and value:
            amount = _number(text, value, name)
            if name == "p" and amount > 1:
                raise _bad(text, "p must be between 0 and 1")
            if name in ("next", "every") and (amount < 1 or amount != int(amount)):
                raise _bad(text, f"{name} must be a whole number, at least 1")
            rule.mode, rule.amount = name, amount
        else:
            raise _bad(text, f"unknown condition {when!r}")
    return rule


def parse_rules(spec: str) -> tuple[list[FaultRule], int | None]:
    """All rules of a spec, plus a ``seed=N`` item if the spec names one."""
    rules: list[FaultRule] = []
    seed = None
    for item in spec.split(","):
        if not item.strip() or item.strip() == "none":
            continue
        if item.strip().startswith("seed="):
            seed = int(_number(item, item.strip()[5:], "seed"))
            continue
        rules.append(parse_rule(item))
    return rules, seed


class FaultPlan:
    """The faults in effect; ``decide`` is called once per API request."""

    def __init__(self, rules: list[FaultRule] | None = None, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules = list(rules or [])
        self._seed = seed
        self._rng = random.Random(seed)

    @classmethod
    def parse(cls, spec: str | None, *, seed: int = 0) -> FaultPlan:
        rules, spec_seed = parse_rules(spec or "")
        return cls(rules, seed=seed if spec_seed is None else spec_seed)

    def set(self, spec: str) -> None:
        """Replace every rule (counters start again); a bad spec leaves the plan unchanged."""
        rules, spec_seed = parse_rules(spec)
        with self._lock:
            self._rules = rules
            if spec_seed is not None:
                self._seed = spec_seed
            self._rng = random.Random(self._seed)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(
        self, route: str, *, order_list: bool = False, method: str | None = None
    ) -> list[Fault]:
        """The faults for one ``method`` request to ``route`` (``/wc/v3/orders``), counting it."""
        with self._lock:
            return [
                Fault(rule.kind, rule.arg)
                for rule in self._rules
                if rule.applies_to(route, order_list=order_list, method=method)
                and rule.fires(self._rng)
            ]

    def __str__(self) -> str:
        with self._lock:
            return ",".join(rule.text for rule in self._rules) or "none"


_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_CAPTCHA_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Robot Challenge Screen</title>'
    "</head><body><h1>Checking your browser before accessing the site.</h1>"
    "<p>This process is automatic. Your browser will redirect to your requested content "
    'shortly.</p><form method="post"><input type="hidden" name="sgcaptcha"></form>'
    "</body></html>"
)
_JSON_ERRORS = {
    "429": ("too_many_requests", "Too many requests. Please slow down."),
    "500": ("internal_server_error", "<p>There has been a critical error on this website.</p>"),
    "503": ("service_unavailable", "Service temporarily unavailable."),
}
_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}


def fault_answer(fault: Fault) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` a host, proxy or WAF sends instead of WooCommerce's answer.

    502 and 504 come from the proxy in front of PHP, so they are HTML, as nginx sends them;
    ``html`` is SiteGround's captcha page, with status 200 or 202 (reference §6).
    """
    kind = fault.kind.value
    if kind in _JSON_ERRORS:
        code, message = _JSON_ERRORS[kind]
        status = int(kind)
        body = (f'{{"code":"{code}","message":"{message}","data":{{"status":{status}}}}}').encode()
        headers = [("Content-Type", "application/json; charset=UTF-8")]
        if kind == "429":
            headers.append(("Retry-After", f"{fault.arg:g}"))
        return status, headers, body
    if kind in ("502", "504"):
        status = int(kind)
        page = _PROXY_PAGE.format(status=status, reason=_REASONS[status])
        return status, [("Content-Type", "text/html")], page.encode()
    if fault.kind is FaultKind.HTML:
        return (
            int(fault.arg),
            [("Content-Type", "text/html; charset=UTF-8")],
            _CAPTCHA_PAGE.encode(),
        )
    raise ValueError(f"{kind} does not replace the answer")
