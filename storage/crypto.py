"""`SecretBox`: Fernet encryption of secrets at rest, with a key from the environment or a key file.

The key file is created beside the database with mode 0600 when `BOT_SECRET_KEY` is unset; lose
it and the stored tokens cannot be read (the operator enters them again).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

logger = logging.getLogger(__name__)
KEY_FILE = "secret.key"


class SecretUnreadable(Exception):
    """A stored secret was encrypted with another key."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def open(cls, *, key: str | None, folder: Path) -> SecretBox:
        if key:
            return cls(key.encode())
        return cls(_key_file(folder / KEY_FILE))

    def seal(self, plain: str | None) -> str | None:
        return None if plain is None else self._fernet.encrypt(plain.encode()).decode()

    def unseal(self, sealed: str | None) -> str | None:
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnreadable("a stored secret was sealed with another key") from exc


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    logger.warning("BOT_SECRET_KEY is not set: created the key file %s (mode 0600); keep it "
                   "with the database, stored tokens cannot be read without it", path)
    return key
