"""Fixtures of the adversarial suite: one platform gateway per profile (and variant), started on
first use and shared by every test of the session; the assertions every case ends with."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from adv_profiles import AdvProfile  # noqa: E402
from authsvc import AuthService  # noqa: E402
from harness import start_gateway  # noqa: E402

class Pool:
    """Gateways by (profile, variant): "main" (the profile's chain), "timeout" (body_timeout
    small). Each started once; all stopped at the end of the session."""

    def __init__(self, pki, tmp_path_factory):
        self.pki, self.tmp = pki, tmp_path_factory
        self.stack = contextlib.ExitStack()
        self.gws: dict = {}
        self.failed: dict = {}  # a gateway that did not start fails each of its tests at once
        self.auth: AuthService | None = None
        self.h2_upstream = None

    def h2up(self):
        """One HTTP/2 (h2c) upstream that records each request's headers, body and trailers."""
        if self.h2_upstream is None:
            from adv_h2_upstream import H2Upstream
            self.h2_upstream = H2Upstream(self.pki, tls=False)
            self.stack.callback(self.h2_upstream.stop)
        return self.h2_upstream

    def profile(self, name: str) -> AdvProfile:
        auth = self.ocen_auth() if name == "ocen" else None
        return AdvProfile(name, self.pki, self.tmp.mktemp(f"sign-{name}"), auth)

    def ocen_auth(self) -> AuthService:
        if self.auth is None:
            self.auth = AuthService().start()
            self.stack.callback(self.auth.stop)
        return self.auth

    def get(self, name: str, variant: str = "main", *, params: dict | None = None, patch=None,
            **verify_extra):
        """The gateway of `name` in `variant` (started on first use with these settings)."""
        key = (name, variant)
        if key in self.failed:
            raise self.failed[key]
        if key not in self.gws:
            p = self.profile(name)
            try:
                gw = self.stack.enter_context(start_gateway(
                    self.tmp.mktemp(f"{name}-{variant}"), self.pki, filters=p.filters(**verify_extra),
                    params={**p.params(), **(params or {})}, patch=patch))
            except Exception as err:
                self.failed[key] = err
                raise
            if name == "ocen":
                wait_jwks(gw, p)
            self.gws[key] = (p, gw)
        return self.gws[key]

    def close(self):
        self.stack.close()


def wait_jwks(gw, p, timeout: float = 15.0) -> None:
    """token_check's JWKS arrives by callout after start: 503 until then."""
    from adv_wire import send
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m, path, headers, body = p.signed()
        out = send("h1", gw.port, p.pki, m, path, headers, body)
        if out.status != 503:
            return
        time.sleep(0.2)


@pytest.fixture(scope="session")
def pool(pki, tmp_path_factory):
    pool = Pool(pki, tmp_path_factory)
    try:
        yield pool
    finally:
        pool.close()
