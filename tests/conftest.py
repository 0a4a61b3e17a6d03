"""Fixtures: the demo PKI (once per run) and gateways started per module or per test."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from harness import REPO, WASM, Gateway, Pki, ensure_pki, start_gateway


@pytest.fixture(scope="session")
def pki() -> Pki:
    # Kept between runs (the script skips what exists), so a warm run does no key generation.
    root = Path(os.environ.get("SIGNET_TEST_PKI", REPO / ".work" / "test-pki"))
    return ensure_pki(root)


@pytest.fixture(scope="session", autouse=True)
def wasm_built() -> Path:
    if not WASM.exists():
        pytest.exit(f"{WASM} missing: run `make wasm` first", returncode=2)
    return WASM


@pytest.fixture(scope="module")
def gateway(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The default platform gateway (gateway filter; dfsp-a, dfsp-b), shared by a module."""
    with start_gateway(tmp_path_factory.mktemp("gateway"), pki) as gw:
        yield gw


@pytest.fixture
def gateway_factory(
    pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Gateway]]:
    """gateway_factory(filters=[...], partners=[...], params={...}) -> a started Gateway,
    stopped when the test ends (even when it fails)."""
    with contextlib.ExitStack() as stack:

        def make(**kwargs) -> Gateway:
            workdir = tmp_path_factory.mktemp("gw")
            return stack.enter_context(start_gateway(workdir, pki, **kwargs))

        yield make
