"""The mutation list (tests/mutations/*.toml) fits the source: a change that moves or rewrites a
security check must update the mutation that breaks it, or the check would go unproven. The
mutation run itself (``python tests/mutations/run.py``) runs in CI after the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("mutation_run", Path(__file__).parent / "mutations" / "run.py")
assert _spec is not None and _spec.loader is not None
mutation_run = sys.modules["mutation_run"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutation_run)


def test_every_mutation_fits_the_source() -> None:
    mutations = mutation_run.load()
    assert len(mutations) >= 100
    stale = {m.name: why for m in mutations if (why := mutation_run.stale(m))}
    assert stale == {}, "update tests/mutations/*.toml: " + "; ".join(f"{n}: {w}" for n, w in stale.items())


def test_every_mutation_names_existing_test_files() -> None:
    root = Path(__file__).parents[1]
    missing = {
        m.name: t
        for m in mutation_run.load()
        for t in m.tests
        if t.startswith("tests/") and not (root / t).exists()
    }
    assert missing == {}
