"""`make validate`: what `sam validate --lint` checks (cfn-lint, offline), over template.yaml as it
is (SnapStart off) and with SnapStart on, in one process (one start of cfn-lint, not two)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
