"""Password hashing: stdlib scrypt by default (memory-hard), argon2 where installed.

>>> hasher = ScryptPasswordHasher(n=2**10)   # tiny cost for the example only
>>> encoded = hasher.hash("correct horse battery")
>>> hasher.verify("correct horse battery", encoded), hasher.verify("wrong", encoded)
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["ScryptPasswordHasher"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


class ScryptPasswordHasher:
    """``hashlib.scrypt`` with a random salt; the encoded form carries its parameters.

    Args:
        n: CPU/memory cost (a power of two); default 2**15 (32 MiB with r=8).
        r: block size.
        p: parallelism.

    The encoded hash is ``scrypt$n$r$p$salt$hash``; :meth:`verify` reads the parameters
    from it, so raising the cost later keeps old hashes working.
    """

    def __init__(self, *, n: int = 2**15, r: int = 8, p: int = 1) -> None:
        self.n, self.r, self.p = n, r, p

    def hash(self, password: str) -> str:
        """An encoded scrypt hash of ``password``."""
        salt = secrets.token_bytes(16)
        digest = self._derive(password, salt, self.n, self.r, self.p)
        return f"scrypt${self.n}${self.r}${self.p}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded``; malformed hashes never match."""
        try:
            scheme, n, r, p, salt, expected = encoded.split("$")
            if scheme != "scrypt":
                return False
            digest = self._derive(password, _unb64(salt), int(n), int(r), int(p))
            return hmac.compare_digest(digest, _unb64(expected))
        except (ValueError, TypeError):
            return False

    @staticmethod
    def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        return hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32
        )
