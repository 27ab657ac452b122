"""What ``alliance check`` warns about beyond the agreement's own rules: settings that let
every command run but make links or syncs fail later, found in this environment (and, with
``--online``, by asking the web app). Warnings never change the exit status."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from alliance.agreement import Agreement

LOCAL_BASE_URL = "http://127.0.0.1:8000"


def environment_warnings(
    agreement: Agreement, environ: Mapping[str, str], *, connected: Collection[str] = ()
) -> list[str]:
    """Unset ``links_base_url``, and members whose store keys this environment lacks (but
    for the ``connected`` ones, whose stores gave the app a key: ``alliance members connect``)."""
    said = []
    if not agreement.settings.links_base_url:
        said.append(
            "links_base_url is not set under [alliance]: tracked links and snippets will "
            f"point at {LOCAL_BASE_URL}, which works only on this machine; set it to the "
            "address `alliance serve` is reached at (e.g. https://go.example.org)"
        )
    for name, member in agreement.members.items():
        missing = [v for v in (member.key_variable, member.secret_variable) if not environ.get(v)]
        if missing and name not in connected:
            said.append(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set here: "
                f"`alliance sync` cannot read {name}'s store from this environment unless the "
                f"store was connected through the app (alliance members connect {name})"
            )
    return said


def connected_members(database_url: str) -> set[str]:
    """Members whose store was connected through the app, read from an existing ledger; none
    when there is no ledger yet or it cannot be read (the check is only advice)."""
    from sqlalchemy.exc import SQLAlchemyError

    from alliance.errors import AllianceError
    from alliance.services.store_connections import connected_members as stored
    from alliance.storage.database import open_database

    try:
        engine = open_database(database_url, create=False)
    except (AllianceError, SQLAlchemyError):
        return set()
    try:
        return set(stored(engine))
    except SQLAlchemyError:
        return set()
    finally:
        engine.dispose()


def online_warnings(agreement: Agreement, *, timeout: float = 5.0) -> list[str]:
    """Whether ``links_base_url`` answers as the alliance's web app (its ``/healthz``)."""
    import requests

    base = agreement.settings.links_base_url
    if not base:
        return []
    url = f"{base.rstrip('/')}/healthz"
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        reason = type(exc).__name__
        return [
            f"links_base_url {base} cannot be reached from here ({reason} asking {url}): "
            "links and blocks will not load until `alliance serve` answers there"
        ]
    if response.status_code != 200:
        return [
            f"links_base_url {base} answered {url} with HTTP {response.status_code}, not the "
            "alliance app's health check: is `alliance serve` behind that address?"
        ]
    return []
