"""Dev users that keep their ids across restarts (``--state-file``).

On AWS a user pool outlives any client: a user's ``sub`` (its immutable id, the ``username``
claim of its access tokens when email is the sign-in name) never changes, and records such as
``createdBy`` keep naming the same person. The emulator's pool is created anew at every start,
and moto draws a new ``sub`` for every user it creates. The state file therefore keeps each dev
user's ``sub``, and :func:`restore_subs` gives it back to the re-created user in moto's Cognito
backend (the emulator, not our code, is adjusted: see :mod:`localcloud.patching`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.sam_template import ACCOUNT_ID, REGION

__all__ = ["current_subs", "restore_subs"]


def _pool(pool_id: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[ACCOUNT_ID][REGION].user_pools[pool_id]


def current_subs(pool_id: str, usernames: list[str]) -> dict[str, str]:
    """{sign-in name: sub} of these users of the emulator's pool."""
    pool = _pool(pool_id)
    return {name: str(user.id) for name in usernames if (user := pool._get_user(name)) is not None}


def restore_subs(pool_id: str, subs: Mapping[str, str]) -> None:
    """Give each user named in `subs` (sign-in name -> sub) that sub again. A sub already taken by
    another user of the pool is an error (the state file belongs to another pool)."""
    pool = _pool(pool_id)
    for name, sub in subs.items():
        user = pool._get_user(name)
        if user is None or user.id == sub:
            continue
        taken = pool.users.get(sub)
        if taken is not None and taken is not user:
            raise ValueError(f"user {name}: id {sub} is already another user's")
        keyed_by_id = pool.users.get(user.username) is user and user.username == user.id
        if keyed_by_id:  # email as the sign-in name: moto keys the user by its sub
            del pool.users[user.username]
            user.username = sub
            pool.users[sub] = user
        user.id = sub
        user.update_attributes([{"Name": "sub", "Value": sub}])
