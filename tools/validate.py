"""`make validate`: what `sam validate --lint` checks (cfn-lint, offline), over template.yaml as it
is (SnapStart off) and with SnapStart on, in one process (one start of cfn-lint, not two); then
checkov over template.yaml, from the venv of its own the Makefile installs (`.venv/checkov`: it pins
a boto3 older than the project's). No check is skipped here: a finding is fixed or skipped beside
its resource with a reason (Metadata.checkov.skip, ADR 0029)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
CHECKOV = ROOT / ".venv/checkov/bin/checkov"
CHECKOV_COMMAND = [
    str(CHECKOV),
    "--file",
    "template.yaml",
    "--framework",
    "cloudformation",
    "--skip-download",
    "--compact",
    "--quiet",
]


def main() -> int:
    from cfnlint.api import ManualArgs, lint

    from localcloud.sam_template import SamTemplate

    path = ROOT / "template.yaml"
    snapstart = SamTemplate.load(path).variant()
    snapstart.parameters["SnapStart"]["Default"] = "true"
    variants = {
        f"{path.name}": path.read_text(encoding="utf-8"),
        f"{path.name} (SnapStart=true)": json.dumps(snapstart.data),
    }
    failed = False
    for name, text in variants.items():
        matches = lint(text, config=ManualArgs(regions=[REGION]))
        for match in matches:
            print(f"{name}: {match}", file=sys.stderr)
        failed = failed or bool(matches)
        print(f"{name}: {'invalid' if matches else 'valid'} (cfn-lint, as `sam validate --lint`)")
    if not CHECKOV.exists():
        print(f"{CHECKOV} is missing: run `make validate` (it installs checkov)", file=sys.stderr)
        return 1
    checkov = subprocess.run(CHECKOV_COMMAND, cwd=ROOT, check=False)
    print(f"{path.name}: {'checkov found something (above)' if checkov.returncode else 'no checkov finding'}")
    return 1 if failed or checkov.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
