"""Where media files live, and signed links to them.

``Storage`` is the plug point (one base class); ``LocalStorage`` keeps files under the data dir.
Links are signed with HMAC-SHA256 and expire, like a CDN's, so a video tag can use them without
an API key.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import quote, urlencode


class Storage(ABC):
    @abstractmethod
    def put_file(self, key: str, source: Path) -> None:
        """Store a finished file under ``key`` (atomically: readers never see half a file)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def local_path(self, key: str) -> Path:
        """A local path to read the file from (downloaded to a cache first if remote)."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None: ...


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    def put_file(self, key: str, source: Path) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(source, tmp)
        tmp.replace(dest)

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(dest)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            path.unlink()


class UrlSigner:
    def __init__(self, key: bytes, base_url: str, ttl_seconds: int) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl_seconds

    def _signature(self, key: str, expires: int) -> str:
        msg = f"{key}\n{expires}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def url(self, key: str, *, now: float | None = None) -> str:
        expires = int((now or time.time()) + self.ttl)
        # Round expiry to the hour so repeated reads return the same (cacheable) link.
        expires -= expires % 3600
        expires += 3600
        query = urlencode({"expires": expires, "signature": self._signature(key, expires)})
        return f"{self.base_url}/files/{quote(key)}?{query}"

    def verify(self, key: str, expires: int, signature: str, *, now: float | None = None) -> bool:
        if expires < (now or time.time()):
            return False
        return hmac.compare_digest(self._signature(key, expires), signature)
