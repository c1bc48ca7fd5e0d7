"""The mutation run: break each security check on purpose and prove that a test notices.

Each ``*.toml`` file in this directory lists the mutations of one source module: a ``find``
snippet that must occur exactly once in that module, its ``replace``ment (the check removed,
inverted or loosened), the tests that must notice (pytest arguments: files, ``-k``), and the
stable ``code`` of the check, which the failing tests' output should show. A mutation is
applied to a temporary copy of the repository (never to the working tree), and only its tests
run, stopping at the first failure; a test that killed a mutation is then run once on the
unmutated copy, and a kill by a test that fails anyway does not count.

The run fails if a mutation survives (no test failed), if its tests cannot run (collection
error, nothing selected, over the time limit), or if a ``find`` snippet is no longer in its
module exactly once: a refactor that moves a check updates its mutation. A mutation killed by a
test that does not show the check's code (it failed on another assertion, or crashed) is
counted and listed, so the list of weak kills stays visible.

    python tests/mutations/run.py                 # every mutation, two at a time
    python tests/mutations/run.py -j 1 -k status  # the mutations whose name contains "status"
    python tests/mutations/run.py --list          # check the list only, run nothing
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent  # tests/mutations
ROOT = HERE.parent.parent  # the repository
PYTEST = ["-x", "-vv", "-p", "no:cacheprovider", "--tb=short", "--no-header", "-W", "ignore"]
TIMEOUT = 300  # seconds for one mutation's tests; a hang is a failure of the run, not a kill


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # relative to the repository root
    find: str
    replace: str
    tests: tuple[str, ...]
    code: str  # what a failing test should show; "" where the check has none to show

    def __str__(self) -> str:
        return f"{self.name} ({self.file})"


def load(directory: Path = HERE) -> list[Mutation]:
    """Every mutation listed in ``directory``'s TOML files. Raises ``ValueError`` on a
    malformed entry or a duplicate name."""
    mutations: list[Mutation] = []
    for path in sorted(directory.glob("*.toml")):
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        default_file, default_tests = document.get("file"), document.get("tests", [])
        for entry in document.get("mutation", []):
            unknown = set(entry) - {"name", "file", "find", "replace", "tests", "code"}
            if unknown or not {"name", "find", "replace"} <= set(entry):
                raise ValueError(f"{path.name}: malformed mutation {entry.get('name')!r}: {sorted(entry)}")
            mutations.append(
                Mutation(
                    name=entry["name"],
                    file=entry.get("file", default_file),
                    find=entry["find"],
                    replace=entry["replace"],
                    tests=tuple(entry.get("tests", default_tests)),
                    code=entry.get("code", ""),
                )
            )
    names = [m.name for m in mutations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate mutation names: {duplicates}")
    return mutations


def stale(mutation: Mutation, root: Path = ROOT) -> str | None:
    """Why ``mutation`` no longer fits the source, or None."""
    path = root / mutation.file
    if not path.is_file():
        return f"{mutation.file} does not exist"
    count = path.read_text(encoding="utf-8").count(mutation.find)
    if count != 1:
        return f"its find snippet occurs {count} times in {mutation.file} (must be exactly once)"
    if not mutation.tests:
        return "it names no tests"
    if mutation.find == mutation.replace:
        return "its replacement is the original"
    return None


def _copy_repository(destination: Path) -> None:
    """The working tree's files (tracked, and untracked unless ignored) under ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@dataclass
class Outcome:
    mutation: Mutation
    verdict: str  # killed | survived | error
    seconds: float
    detail: str = ""
    shown: bool = True  # the failing output shows the check's code


class Workspace:
    """One temporary copy of the repository in which one mutation at a time is applied."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="accredit-mutation-")
        self.root = Path(self._directory.name) / "repo"
        _copy_repository(self.root)
        # Bytecode is cached in the copy (most modules never change); the mutated module's own
        # cache is dropped before and after each run, so a stale one is never imported.
        self.env = {**os.environ, "PYTHONPATH": str(self.root / "src")}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        imported = subprocess.run(
            [sys.executable, "-c", "import accredit; print(accredit.__file__)"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not Path(imported).is_relative_to(self.root):
            raise RuntimeError(f"the copy's tests would import {imported}, not the mutated copy")

    def run(self, mutation: Mutation) -> Outcome:
        path = self.root / mutation.file
        original = path.read_text(encoding="utf-8")
        path.write_text(original.replace(mutation.find, mutation.replace, 1), encoding="utf-8")
        _drop_bytecode(path)
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", *PYTEST, *mutation.tests],
                cwd=self.root,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return Outcome(mutation, "error", time.monotonic() - started, f"tests ran over {TIMEOUT} s")
        finally:
            path.write_text(original, encoding="utf-8")
            _drop_bytecode(path)
        seconds = time.monotonic() - started
        output = result.stdout + result.stderr
        if result.returncode == 0:
            return Outcome(mutation, "survived", seconds, _tail(output, 3))
        if result.returncode != 1:  # 2: interrupted or a collection error, 5: nothing selected
            return Outcome(
                mutation, "error", seconds, f"pytest exit {result.returncode}\n{_tail(output, 15)}"
            )
        shown = not mutation.code or any(spelling in output for spelling in _spellings(mutation.code))
        return Outcome(mutation, "killed", seconds, _failed_test(output), shown=shown)

    def failing_unmutated(self, node_ids: list[str]) -> set[str]:
        """Which of these tests fail on the unmutated copy: their kills prove nothing."""
        if not node_ids:
            return set()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST[1:], *node_ids],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        failed = {
            _node_id(line) for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))
        }
        return failed & set(node_ids)

    def close(self) -> None:
        self._directory.cleanup()


def _drop_bytecode(source: Path) -> None:
    for cached in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
        cached.unlink()


def _spellings(code: str) -> list[str]:
    """How a failing test shows ``code``: the code itself, or (``pytest.raises``) the name of
    the one exception class that carries it."""
    import accredit.errors

    classes = [
        name
        for name, value in vars(accredit.errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and value.__dict__.get("code") == code
    ]
    return [code, *(f"DID NOT RAISE {name}" for name in classes), *(f"errors.{name}" for name in classes)]


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _node_id(summary_line: str) -> str:
    """``tests/x.py::test[param]`` from pytest's ``FAILED tests/x.py::test[param] - message``."""
    return summary_line.split(" ", 1)[1].split(" - ", 1)[0]


def _failed_test(output: str) -> str:
    failed = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return _node_id(failed[0]) if failed else ""


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so the temporary copies are removed


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutations run at once (default 2)")
    parser.add_argument("-k", "--only", default="", help="run the mutations whose name contains this")
    parser.add_argument("--list", action="store_true", help="check the list against the source; run nothing")
    args = parser.parse_args(argv)

    mutations = load()
    problems = [f"stale: {m}: {why}" for m in mutations if (why := stale(m))]
    if problems or args.list:
        print("\n".join(problems) or f"{len(mutations)} mutations, all fit the source")
        return 1 if problems else 0
    selected = [m for m in mutations if args.only in m.name]
    if not selected:
        print(f"no mutation name contains {args.only!r}")
        return 1

    started = time.monotonic()
    jobs = max(1, min(args.jobs, len(selected)))
    workspaces = [Workspace() for _ in range(jobs)]
    pending = list(reversed(selected))
    outcomes: list[Outcome] = []

    def worker(workspace: Workspace) -> None:
        while pending:
            try:
                mutation = pending.pop()
            except IndexError:
                return
            outcome = workspace.run(mutation)
            outcomes.append(outcome)
            verdict = outcome.verdict.upper() if outcome.verdict != "killed" else "killed"
            note = "" if outcome.shown else " (code not shown)"
            detail = (
                outcome.detail
                if outcome.verdict == "killed"
                else "\n    " + outcome.detail.replace("\n", "\n    ")
            )
            print(f"{verdict:8} {outcome.seconds:5.1f}s  {mutation.name}{note}  {detail}", flush=True)

    try:
        with ThreadPoolExecutor(jobs) as pool:
            for future in [pool.submit(worker, w) for w in workspaces]:
                future.result()
        # A kill counts only if the test that failed passes without the mutation.
        killers = sorted({o.detail for o in outcomes if o.verdict == "killed" and o.detail})
        broken = workspaces[0].failing_unmutated(killers)
        for outcome in outcomes:
            if outcome.verdict == "killed" and (not outcome.detail or outcome.detail in broken):
                outcome.verdict = "error"
                outcome.detail = f"its killing test fails without the mutation too: {outcome.detail or '?'}"
                print(f"ERROR    {outcome.mutation.name}: {outcome.detail}", flush=True)
    finally:
        for workspace in workspaces:
            workspace.close()

    killed = [o for o in outcomes if o.verdict == "killed"]
    print(
        f"\nmutation run: {len(killed)}/{len(selected)} killed "
        f"({sum(o.shown for o in killed)} with the check's code shown) "
        f"in {time.monotonic() - started:.0f} s, {jobs} at a time"
    )
    for title, names in (
        ("survived (no test failed)", [o.mutation.name for o in outcomes if o.verdict == "survived"]),
        ("error (the tests could not run)", [o.mutation.name for o in outcomes if o.verdict == "error"]),
        ("killed without showing the code", [o.mutation.name for o in killed if not o.shown]),
    ):
        if names:
            print(f"{title}: {', '.join(sorted(names))}")
    return 0 if len(killed) == len(selected) else 1


if __name__ == "__main__":
    sys.exit(main())
