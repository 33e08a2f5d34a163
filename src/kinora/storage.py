"""Where media files live, and signed links to them.

``Storage`` is the plug point (one base class); ``LocalStorage`` keeps files under the data dir,
``S3Storage`` in any S3-compatible store through obstore. Links are signed with HMAC-SHA256
and expire, like a CDN's, so a video tag can use them without an API key; with S3 they can
also be presigned SigV4 URLs of the store itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import shutil
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:
    from kinora.config import Settings


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
    def delete_prefix(self, prefix: str) -> None:
        """Remove everything under the folder ``prefix``."""

    def delete(self, key: str) -> None:
        """Remove one file; a missing one is fine."""
        self.delete_prefix(key)

    def presigned_url(self, key: str, *, ttl_seconds: int) -> str | None:
        """A URL the store itself serves (S3 presigned), or None to serve through the API."""
        return None


def _private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents owner-only (0700)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):
            part.mkdir(mode=0o700)


class LocalStorage(Storage):
    """Files under ``root``, owner-only: directories 0700, files 0600 (whatever the umask)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        _private_dirs(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    def put_file(self, key: str, source: Path) -> None:
        dest = self._path(key)
        _private_dirs(dest.parent)
        tmp = dest.with_name(dest.name + ".part")
        try:
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o600)
            tmp.replace(dest)
        except BaseException:  # disk full, read-only: leave no half-written file behind
            tmp.unlink(missing_ok=True)
            raise

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        _private_dirs(dest.parent)
        tmp = dest.with_name(dest.name + ".part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o600)  # an existing .part kept its old mode
            tmp.replace(dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

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

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def media_id_of(key: str) -> str:
    """The media a stored file belongs to: keys read ``<customer>/<media>/...``."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 else ""


class UrlSigner:
    """Signed, expiring links to stored files.

    With ``versions`` (media id -> its link version, ``Database.link_version``) a link also
    signs the version of its media, so bumping the version (the media made private) revokes
    every link handed out before, however long they had left. Version 0 signs as links always
    did, so links made before versions existed keep working.
    """

    def __init__(
        self,
        key: bytes,
        base_url: str,
        ttl_seconds: int,
        *,
        versions: Callable[[str], int] | None = None,
    ) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.ttl = ttl_seconds
        self.versions = versions

    def _signature(self, key: str, expires: int, version: int = 0) -> str:
        msg = f"{key}\n{expires}" if not version else f"{key}\n{expires}\nv{version}"
        return hmac.new(self._key, msg.encode(), hashlib.sha256).hexdigest()

    def _version(self, key: str, given: int | None) -> int:
        if self.versions is None:
            return 0  # no way to check one at verify time: sign without
        if given is not None:
            return given
        media_id = media_id_of(key)
        return self.versions(media_id) if media_id else 0

    def url(self, key: str, *, now: float | None = None, version: int | None = None) -> str:
        """A link to ``key``; ``version`` is its media's link version when the caller has it
        at hand (else it is looked up)."""
        expires = int((now or time.time()) + self.ttl)
        # Round expiry to the hour so repeated reads return the same (cacheable) link.
        expires -= expires % 3600
        expires += 3600
        signature = self._signature(key, expires, self._version(key, version))
        query = urlencode({"expires": expires, "signature": signature})
        return f"{self.base_url}/files/{quote(key)}?{query}"

    def verify(self, key: str, expires: int, signature: str, *, now: float | None = None) -> bool:
        if expires < (now or time.time()) or not signature.isascii():
            return False  # compare_digest refuses non-ASCII str (a TypeError, not a "no")
        expected = self._signature(key, expires, self._version(key, None))
        return hmac.compare_digest(expected, signature)


class S3Storage(Storage):
    """An S3 bucket (AWS or compatible) via obstore; reads are cached on local disk."""

    def __init__(
        self, url: str, *, cache_dir: Path, endpoint: str = "", region: str = "us-east-1"
    ) -> None:
        from obstore.store import S3Store

        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        kwargs: dict[str, Any] = {"region": region}
        if endpoint:
            kwargs.update(
                endpoint=endpoint,
                allow_http=endpoint.startswith("http://"),
                virtual_hosted_style_request=False,
            )
        self.store = S3Store(self.bucket, **kwargs)
        self.cache_dir = cache_dir
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def _key(self, key: str) -> str:
        if ".." in key.split("/"):
            raise ValueError(f"storage key escapes the root: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, source: Path) -> None:
        import obstore

        obstore.put(self.store, self._key(key), source)  # single PUT: atomic for readers

    def put_bytes(self, key: str, data: bytes) -> None:
        import obstore

        obstore.put(self.store, self._key(key), data)

    def get_bytes(self, key: str) -> bytes:
        import obstore

        return bytes(obstore.get(self.store, self._key(key)).bytes())

    def exists(self, key: str) -> bool:
        import obstore
        from obstore.exceptions import NotFoundError as StoreNotFound

        try:
            obstore.head(self.store, self._key(key))
        except (StoreNotFound, FileNotFoundError):
            return False
        return True

    def local_path(self, key: str) -> Path:
        path = (self.cache_dir / key).resolve()
        if self.cache_dir.resolve() not in path.parents:
            raise ValueError(f"storage key escapes the root: {key!r}")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
            tmp.write_bytes(self.get_bytes(key))
            tmp.replace(path)
        return path

    def delete_prefix(self, prefix: str) -> None:
        import obstore

        full = self._key(prefix.rstrip("/")) + "/"
        paths = [obj["path"] for batch in obstore.list(self.store, prefix=full) for obj in batch]
        if paths:
            obstore.delete(self.store, paths)
        shutil.rmtree(self.cache_dir / prefix.rstrip("/"), ignore_errors=True)

    def delete(self, key: str) -> None:
        import obstore

        with contextlib.suppress(FileNotFoundError):
            obstore.delete(self.store, self._key(key))
        (self.cache_dir / key).unlink(missing_ok=True)

    def presigned_url(self, key: str, *, ttl_seconds: int) -> str | None:
        import obstore

        return str(
            obstore.sign(self.store, "GET", self._key(key), dt.timedelta(seconds=ttl_seconds))
        )


def build_storage(settings: Settings) -> Storage:
    if settings.storage_url.startswith("s3://"):
        return S3Storage(
            settings.storage_url,
            cache_dir=settings.data_dir / "cache",
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
        )
    if settings.storage_url:
        raise ValueError(f"unsupported storage URL {settings.storage_url!r}")
    return LocalStorage(settings.media_dir)
