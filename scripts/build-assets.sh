#!/usr/bin/env bash
# Copies the pinned front-end packages (installed by `npm ci` from package-lock.json)
# into the package's static folder. Nothing is served from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/todo/web/static/vendor
mkdir -p "$out"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js "$out/swagger-ui-bundle.js"
cp node_modules/swagger-ui-dist/swagger-ui.css "$out/swagger-ui.css"
