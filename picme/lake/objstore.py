"""An S3-compatible bucket as the lake sees it: a location (``s3://bucket/prefix``) and the
few calls the lake store makes (get/put a small JSON object, conditionally; upload,
download, list, delete), each failure turned into one line naming the URI and what to do.

The endpoint, credentials and region come from boto3's standard chain (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, or a profile): PicMe never
reads, stores, prints or logs a key.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from picme.errors import InputError, PicmeError

_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")
# Codes under which S3 and its look-alikes refuse credentials.
_REFUSED = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "Forbidden"}
)


class ObjectStoreError(PicmeError):
    """The object store holding the lake cannot be used as asked."""


@dataclass(frozen=True)
class Location:
    """Where the lake lives in a bucket."""

    bucket: str
    prefix: str  # without leading or trailing slash; may be empty

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def parse_uri(uri: str) -> Location:
    """``s3://bucket/prefix`` as a Location; anything else is one clear line."""
    m = _URI.fullmatch(uri.strip())
    if m is None:
        raise InputError(
            f"PICME_LAKE_URI={uri!r} is not an object-store lake; give s3://bucket/prefix "
            "(a lowercase bucket name), or unset it to keep the lake under PICME_HOME"
        )
    prefix = (m.group("prefix") or "").strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise InputError(f"PICME_LAKE_URI={uri!r}: the prefix has an empty or '..' part")
    return Location(bucket=m.group("bucket"), prefix=prefix)


def endpoint_url() -> str | None:
    """The S3 endpoint the environment names (the S3-specific variable first, as boto3
    reads them); None: AWS's default."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def endpoint_text() -> str:
    """The endpoint in use, for messages: without any user:password part of the URL."""
    url = endpoint_url()
    if not url:
        return "AWS's default S3 endpoint"
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


class Bucket:
    """The calls the lake store makes to one Location's bucket."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Few, quick retries: a dead endpoint is reported in seconds, not minutes.
            config = Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            )
            with self.calls("connect"):
                self._client = boto3.client("s3", config=config)
        return self._client

    @contextlib.contextmanager
    def calls(self, what: str) -> Iterator[None]:
        """Turn boto's exceptions into one line that names the lake, never a credential."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )

        uri = self.location.uri
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "")) or "error"
            if code == "NoSuchBucket":
                raise ObjectStoreError(
                    f"{uri}: bucket {self.location.bucket!r} does not exist at "
                    f"{endpoint_text()}; create it or fix PICME_LAKE_URI"
                ) from None
            if code in _REFUSED:
                raise ObjectStoreError(
                    f"{uri}: the object store refused to {what} ({code}); check "
                    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy"
                ) from None
            raise ObjectStoreError(f"{uri}: could not {what} ({code}); try again") from None
        except NoCredentialsError:
            raise ObjectStoreError(
                f"{uri}: no credentials for the object store; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            ) from None
        except EndpointConnectionError:
            raise ObjectStoreError(
                f"{uri}: cannot reach the object store at {endpoint_text()}; check "
                "AWS_ENDPOINT_URL and that the server is running"
            ) from None
        except BotoCoreError as exc:
            raise ObjectStoreError(
                f"{uri}: could not {what} ({exc.__class__.__name__}); check AWS_ENDPOINT_URL "
                "and AWS_DEFAULT_REGION"
            ) from None

    def get_json(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """(content, ETag) of a JSON object, or (None, None) when there is none."""
        from botocore.exceptions import ClientError

        with self.calls(f"read {key}"):
            try:
                resp = self.client.get_object(Bucket=self.location.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return None, None
                raise
            body = resp["Body"].read()
        try:
            data = json.loads(body)
        except ValueError:
            raise ObjectStoreError(
                f"{self.location.uri}: {key} is not JSON; it is not PicMe's, or was damaged "
                "outside PicMe: restore it from the bucket's versions or point "
                "PICME_LAKE_URI at another prefix"
            ) from None
        return (data if isinstance(data, dict) else None), str(resp["ETag"])

    def put_json(self, key: str, data: dict[str, Any], *, if_match: str | None) -> bool:
        """Write ``key`` only if its ETag is still ``if_match`` (None: only if it does not
        exist yet); False when another writer got there first."""
        from botocore.exceptions import ClientError

        body = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
        cond = {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}
        with self.calls(f"write {key}"):
            try:
                self.client.put_object(
                    Bucket=self.location.bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    **cond,
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                    return False
                raise
        return True

    def put_bytes(self, key: str, body: bytes) -> None:
        with self.calls(f"write {key}"):
            self.client.put_object(Bucket=self.location.bucket, Key=key, Body=body)

    def upload(self, path: Path, key: str) -> None:
        with self.calls(f"upload {path.name}"):
            self.client.upload_file(str(path), self.location.bucket, key)

    def download(self, key: str, path: Path) -> bool:
        """Fetch ``key`` into ``path``; False when the object is gone (a newer generation
        replaced it: the caller reads the pointer again)."""
        from botocore.exceptions import ClientError

        with self.calls(f"download {key}"):
            try:
                self.client.download_file(self.location.bucket, key, str(path))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    return False
                raise
        return True

    def listing(self, prefix: str) -> list[tuple[str, datetime]]:
        """(key, last modified) of every object under ``prefix``."""
        out: list[tuple[str, datetime]] = []
        with self.calls(f"list {prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=prefix
            )
            for page in pages:
                out.extend((o["Key"], o["LastModified"]) for o in page.get("Contents", []))
        return out

    def delete(self, keys: list[str]) -> None:
        with self.calls("delete old objects"):
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                self.client.delete_objects(
                    Bucket=self.location.bucket,
                    Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
                )
