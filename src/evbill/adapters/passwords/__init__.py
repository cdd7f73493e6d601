"""Password hashing with argon2id (argon2-cffi): for station HTTP Basic passwords and, later, users.

>>> hasher = Argon2Hasher()
>>> stored = hasher.hash("correct horse battery staple")
>>> stored.startswith("$argon2id$"), hasher.verify(stored, "correct horse battery staple")
(True, True)
>>> hasher.verify(stored, "wrong")
False
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Hasher:
    """argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): strong, and fast enough
    that a thousand charging stations can authenticate after a restart in seconds, not minutes."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
