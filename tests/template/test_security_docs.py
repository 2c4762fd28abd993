"""docs/security.md's role x route x own/other table is the one sales_common.auth enforces."""

from __future__ import annotations

import re

from sales_common import auth
from tests.support.apigw import ROOT


def test_the_documented_matrix_is_the_enforced_one():
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- matrix:begin -->\n(.*?)\n<!-- matrix:end -->", text, re.DOTALL)
    assert block, "docs/security.md lost its matrix markers"
    assert block.group(1) == auth.matrix(), "regenerate the table: print(sales_common.auth.matrix())"
