"""What makes the web app installable and readable offline: the web app manifest and the
page the service worker (static/sw.js) shows when a page is neither reachable nor kept."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.responses import Response

from todo.web.common import web_router
from todo.web.render import assets, render

router = web_router()

# The colours of the page itself (--bg in app.css), light and dark, as its theme-color
# meta tags say: the window frame of the installed app matches the page under it.
LIGHT = "#f5f6fa"
DARK = "#101217"
MANIFEST_TYPE = "application/manifest+json"


def manifest() -> dict[str, Any]:
    icons = [
        {
            "src": assets.url(f"icons/{name}-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }
        for name, purpose in (("icon", "any"), ("maskable", "maskable"))
        for size in (192, 512)
    ]
    return {
        "id": "/",
        "name": "Todo",
        "short_name": "Todo",
        "description": "Your tasks, lists and reminders.",
        "lang": "en",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": LIGHT,
        "background_color": LIGHT,
        # Chromium's dark variant of the two colours (its WebAppDarkMode manifest members);
        # browsers without it keep the light ones and follow the page's meta tags once open.
        "user_preferences": {"color_scheme_dark": {"theme_color": DARK, "background_color": DARK}},
        "icons": icons,
        "shortcuts": [
            {"name": "Today", "url": "/?view=today"},
            {"name": "Upcoming", "url": "/?view=upcoming"},
        ],
    }


@router.get("/manifest.webmanifest")
async def web_app_manifest() -> Response:
    return Response(
        json.dumps(manifest(), separators=(",", ":")),
        media_type=MANIFEST_TYPE,
        # Its icon URLs carry their content's hash: a new icon must reach installed apps.
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/offline")
async def offline_page(request: Request) -> Response:
    """Kept by the service worker when it installs, and shown for a page that is neither
    reachable nor kept; it names no one, so it is the same for every account."""
    return render(request, "pwa/offline.html")
