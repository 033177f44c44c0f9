"""Static files: URLs that carry a content hash, so browsers may keep them for a year.

A page then costs one request on a warm cache, and a changed file gets a new URL at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qs

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

STATIC_DIR = Path(__file__).parent / "static"
_FOREVER = "public, max-age=31536000, immutable"


class Assets:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self._versions: dict[str, tuple[float, str]] = {}

    def version(self, name: str) -> str:
        path = self.directory / name
        modified = path.stat().st_mtime
        known = self._versions.get(name)
        if known is None or known[0] != modified:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            known = self._versions[name] = (modified, digest)
        return known[1]

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.version(name)}"


class _VersionedFiles(StaticFiles):
    def __init__(self, assets: Assets) -> None:
        super().__init__(directory=assets.directory, check_dir=False)
        self.assets = assets

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        asked = parse_qs(scope.get("query_string", b"").decode()).get("v", [None])[0]
        name = Path(full_path).relative_to(self.assets.directory).as_posix()
        # Only the current content may be cached for good under a versioned URL.
        fresh = asked is not None and asked == self.assets.version(name)
        response.headers["Cache-Control"] = _FOREVER if fresh else "no-cache"
        return response


def static_app(assets: Assets) -> ASGIApp:
    # Only files are compressed: pages carry a CSRF token next to text a visitor can choose,
    # which is what the BREACH attack on compressed HTTPS responses needs.
    return GZipMiddleware(_VersionedFiles(assets), minimum_size=1024)
