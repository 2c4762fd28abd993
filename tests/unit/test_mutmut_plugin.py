"""`make mutate`'s pytest plugin (tools/mutmut_plugin.py): mutmut tests each mutant in a fork of
a process that already listed orders; the fork must be able to list them again (a thread pool
copied without its workers would wait forever)."""

from __future__ import annotations

import os
import warnings

import pytest

import tools.mutmut_plugin  # noqa: F401  (registers its fork hook, as `-p tools.mutmut_plugin` does)
from sales_common import dynamo


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_a_fork_can_use_the_shard_pool_after_its_parent_did():
    assert dynamo._shard_pool().submit(lambda: 1).result(timeout=10) == 1  # the parent's workers exist
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() of a multi-threaded process
        pid = os.fork()
    if pid == 0:  # the child: exits 0 only if the pool answers
        code = 1
        try:
            code = 0 if dynamo._shard_pool().submit(lambda: 2).result(timeout=10) == 2 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
