"""The shipped examples (envoy/examples/<platform>/<side>.{params.json,yaml}): each checked-in
YAML is exactly what its params render to (`make examples`), carries no path of this checkout,
passes scripts/check-config and is accepted by Envoy as is, started from the repository root
with the demo's keys in its environment."""

from __future__ import annotations

import difflib
import sys

import pytest

from examples import EXAMPLES, checked_in_yaml, example_env, example_params, render_example
from harness import REPO, run, validate

PARAMS = example_params()


def name(params) -> str:
    return f"{params.parent.name}/{params.name.removesuffix('.params.json')}"


def test_examples_are_found():
    assert len(PARAMS) >= 4, PARAMS


def test_every_example_yaml_has_its_params():
    orphans = [y for y in EXAMPLES.glob("*/*.yaml")
               if not y.with_name(y.name.removesuffix(".yaml") + ".params.json").exists()]
    assert not orphans, f"YAML without params (delete it, or add its params): {orphans}"


@pytest.mark.parametrize("params", PARAMS, ids=name)
def test_checked_in_yaml_is_what_its_params_render(params, tmp_path):
    shipped = checked_in_yaml(params)
    assert shipped.exists(), f"{shipped.relative_to(REPO)} is missing: run `make examples`"
    fresh = render_example(params, tmp_path / "fresh.yaml").read_text()
    old = shipped.read_text()
    diff = "".join(list(difflib.unified_diff(old.splitlines(True), fresh.splitlines(True),
                                             "checked in", "rendered"))[:20])
    assert fresh == old, (f"{shipped.relative_to(REPO)} differs from what "
                          f"{params.relative_to(REPO)} renders: run `make examples`\n{diff}")
    assert str(REPO) not in old, "a checked-in example must not name this checkout's path"


@pytest.mark.parametrize("params", PARAMS, ids=name)
def test_checked_in_yaml_is_accepted_by_envoy(params):
    shipped = checked_in_yaml(params).relative_to(REPO)
    run([sys.executable, str(REPO / "scripts" / "check-config"), str(shipped)], timeout=30)
    # Also loads the module and runs every filter's configuration check (keys included).
    out = validate(shipped, env=example_env(params), cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
