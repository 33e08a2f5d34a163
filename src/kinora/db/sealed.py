"""Values the database keeps sealed: readable and writable only with a key kept outside it.

Webhook signing secrets must be read back to sign deliveries, so they cannot be hashed; a
copy of the database (a backup, a dump, a file left readable) must still not reveal them.
They are stored encrypted and authenticated with a key derived from the process's secret key
(``KINORA_SECRET_KEY``, or the owner-only ``secret_key`` file in the data dir), never stored in
the database itself.

The construction uses only the standard library (no ``cryptography`` wheel is required):
HMAC-SHA256 as a PRF in counter mode for the keystream, encrypt-then-MAC with a second
HMAC-SHA256 key, a random 128-bit nonce per value. A sealed value reads
``sealed1:<urlsafe base64 of nonce | ciphertext | tag>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "sealed1:"
_NONCE = 16
_TAG = 32


class Unsealable(ValueError):
    """A sealed value that this key cannot open (another key, or altered bytes)."""


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


class SecretBox:
    """Seals and opens short strings with keys derived from one master key."""

    def __init__(self, master_key: bytes) -> None:
        if not master_key:
            raise ValueError("a sealing key cannot be empty")
        self._enc = hmac.new(master_key, b"kinora sealed values: encryption", "sha256").digest()
        self._mac = hmac.new(master_key, b"kinora sealed values: authentication", "sha256").digest()

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        blocks = []
        for counter in range((length + 31) // 32):
            message = nonce + counter.to_bytes(4, "big")
            blocks.append(hmac.new(self._enc, message, hashlib.sha256).digest())
        return b"".join(blocks)[:length]

    def _tag(self, nonce: bytes, ciphertext: bytes) -> bytes:
        return hmac.new(self._mac, PREFIX.encode() + nonce + ciphertext, hashlib.sha256).digest()

    def seal(self, plain: str) -> str:
        data = plain.encode()
        nonce = secrets.token_bytes(_NONCE)
        ciphertext = bytes(
            a ^ b for a, b in zip(data, self._keystream(nonce, len(data)), strict=True)
        )
        blob = nonce + ciphertext + self._tag(nonce, ciphertext)
        return PREFIX + base64.urlsafe_b64encode(blob).decode()

    def open(self, sealed: str) -> str:
        if not is_sealed(sealed):
            raise Unsealable("not a sealed value")
        try:
            blob = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode())
        except (binascii.Error, ValueError):
            raise Unsealable("malformed sealed value") from None
        if len(blob) < _NONCE + _TAG:
            raise Unsealable("malformed sealed value")
        nonce, ciphertext, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
        if not hmac.compare_digest(tag, self._tag(nonce, ciphertext)):
            raise Unsealable("the value was sealed with another key, or altered")
        data = bytes(
            a ^ b for a, b in zip(ciphertext, self._keystream(nonce, len(ciphertext)), strict=True)
        )
        return data.decode()
