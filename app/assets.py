"""Front-end libraries, pinned and checked, fetched at set-up (never committed).

Run as `python -m app.assets`. Each package comes from the npm registry by name
and version through the ordinary client (`npm pack`); where npm is not installed
the registry named by `NPM_CONFIG_REGISTRY` is asked directly. Either way the
tarball must match the pinned sha512 before one file is taken out of it.
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"

# htmx is pinned to 2.x: flask-htmx and most documentation match it (the registry's latest is 4.x).
PACKAGES = [
    {
        "name": "htmx.org",
        "version": "2.0.11",
        "integrity": "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
        "member": "package/dist/htmx.min.js",
        "target": "htmx.min.js",
    },
    {
        "name": "chart.js",
        "version": "4.6.1",
        "integrity": "sha512-hJyniucsFmq//EvXYvJ6c6mahPoI3kaxdjVH8awTaJ/fDNWeSqqqArixMJWkWNN6fcYvPU3HneSANFNYtRi61g==",
        "member": "package/dist/chart.umd.min.js",
        "target": "chart.umd.min.js",
    },
]


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _fetch_tarball(pkg, workdir: Path) -> bytes:
    spec = f"{pkg['name']}@{pkg['version']}"
    npm = shutil.which("npm")
    if npm:
        out = subprocess.run(
            [npm, "pack", spec, "--json", "--pack-destination", str(workdir)],
            check=True, capture_output=True, text=True,
        )
        filename = json.loads(out.stdout)[0]["filename"]
        return (workdir / filename).read_bytes()
    registry = os.environ.get("NPM_CONFIG_REGISTRY")
    if not registry:
        raise SystemExit(
            "Fetching front-end assets needs npm (install Node.js) or NPM_CONFIG_REGISTRY "
            "set to the npm registry's address."
        )
    with urllib.request.urlopen(f"{registry.rstrip('/')}/{pkg['name']}/{pkg['version']}", timeout=60) as r:
        tarball_url = json.load(r)["dist"]["tarball"]
    with urllib.request.urlopen(tarball_url, timeout=120) as r:
        return r.read()


def ensure_assets(vendor: Path = VENDOR) -> None:
    vendor.mkdir(parents=True, exist_ok=True)
    manifest_path = vendor / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for pkg in PACKAGES:
        target = vendor / pkg["target"]
        if target.exists() and manifest.get(pkg["target"]) == pkg["integrity"]:
            continue
        print(f"· fetching {pkg['name']}@{pkg['version']}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            data = _fetch_tarball(pkg, Path(tmp))
            if _integrity(data) != pkg["integrity"]:
                raise SystemExit(f"{pkg['name']}@{pkg['version']}: tarball checksum does not match the pin")
            tar_path = Path(tmp) / "pkg.tgz"
            tar_path.write_bytes(data)
            with tarfile.open(tar_path) as tar:
                member = tar.extractfile(pkg["member"])
                target.write_bytes(member.read())
        manifest[pkg["target"]] = pkg["integrity"]
        manifest_path.write_text(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    ensure_assets()
    sys.exit(0)
