#!/usr/bin/env python3
"""One entry point for a fresh clone: `python3 dev.py run` or `python3 dev.py test`.

Stdlib only, because it runs before the virtual environment exists. It creates
`.venv`, installs the dependencies declared in pyproject.toml (again only when
that file changes), fetches the pinned front-end assets, then hands over to the
project's own code inside the virtual environment.
"""
import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


def _requirements(extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return reqs


def ensure_venv(extras=()):
    if sys.version_info < (3, 11):
        sys.exit("ISOpath needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print("· creating virtual environment in .venv", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    reqs = _requirements(extras)
    # The whole pyproject.toml, not only the requirements: its entry points matter too.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + repr(extras).encode()).hexdigest()
    stamp = VENV / f".installed-{'-'.join(extras) or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("· installing dependencies (first run takes a minute)", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *reqs], check=True)
    # The project itself, editable: this registers the operator commands with `flask` (see app/cli.py).
    subprocess.run([*pip, "--no-deps", "--editable", str(ROOT)], check=True)
    stamp.write_text(digest)


def main(argv):
    if not argv or argv[0] not in {"run", "test", "setup"}:
        sys.exit("usage: python3 dev.py run | test [pytest args] | setup")
    command, rest = argv[0], argv[1:]
    ensure_venv(("test",) if command == "test" else ())
    subprocess.run([str(PYTHON), "-m", "app.assets"], check=True, cwd=ROOT)
    os.chdir(ROOT)
    if command == "setup":
        return 0
    if command == "run":
        args = [str(PYTHON), "-m", "app.devserver", *rest]
    else:
        args = [str(PYTHON), "-m", "pytest", *rest]
    # exec so that Ctrl-C and the exit status reach the real process directly.
    os.execv(args[0], args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
