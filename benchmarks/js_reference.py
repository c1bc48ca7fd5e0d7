"""The reference JS stack as a peer: `benchmarks/js/reference.mjs` run with node.

Install it once (never a runtime dependency, never committed):

    (cd benchmarks/js && npm install)

The JS side loads only the contexts accredit's own loader serves, passed in the job.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from accredit import KeyPair
from accredit.jsonld import default_document_loader

FOLDER = Path(__file__).resolve().parent / "js"


def available() -> bool:
    return shutil.which("node") is not None and (FOLDER / "node_modules" / "@digitalbazaar" / "vc").is_dir()


def versions() -> dict[str, str]:
    """Versions of the reference packages installed."""
    found = {}
    for name in ("@digitalbazaar/vc", "@digitalbazaar/eddsa-rdfc-2022-cryptosuite", "jsonld", "rdf-canonize"):
        manifest = FOLDER / "node_modules" / name / "package.json"
        found[name] = json.loads(manifest.read_text())["version"]
    return found


def run(mode: str, key: KeyPair, credentials: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Run one job (``sign`` or ``bench``); raises ``RuntimeError`` with node's output on failure."""
    loader = default_document_loader()
    job = {
        "mode": mode,
        "contexts": {url: loader.document(url) for url in sorted(loader.urls)},
        "key": key.to_multikey(include_secret=True),
        "credentials": credentials,
        **extra,
    }
    completed = subprocess.run(
        ["node", str(FOLDER / "reference.mjs")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"reference.mjs failed: {completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
