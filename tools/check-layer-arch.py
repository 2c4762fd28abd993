"""After `sam build`: the shared layer's compiled wheels must match the functions' architecture.

    python tools/check-layer-arch.py [ARCH]     # ARCH defaults to template.yaml's Architecture default

SAM's Python builder downloads wheels for the target architecture; a wrong platform would only
show on Lambda as an ImportError at the first cold start, so `make build` checks it here.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: tools/ is on sys.path, the project is not

from localcloud.sam_template import SamTemplate  # noqa: E402

MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}

default = SamTemplate.load(ROOT / "template.yaml").parameters["Architecture"]["Default"]
wanted = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else default
compiled = sorted((ROOT / ".aws-sam/build/SharedLayer/python").glob("**/*.cpython-313-*.so"))
wrong = [p.name for p in compiled if f"-{MACHINE[wanted]}-linux" not in p.name]
if not compiled or wrong:
    sys.exit(f"layer built for the wrong architecture: want {wanted}, found {wrong or 'no compiled modules'}")
print(f"layer built for {wanted}: {', '.join(p.name for p in compiled)}")
