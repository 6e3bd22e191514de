#!/usr/bin/env bash
# Debian packages the project needs beyond Python: Chromium for the browser tests,
# HarfBuzz's subsetter and Pango for WeasyPrint, poppler-utils (pdftotext) for
# checking PDFs, gettext for the translations, docker-compose to validate the
# compose file offline. Installed only when missing.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v msgfmt >/dev/null || missing+=(gettext)
ldconfig -p | grep -q libharfbuzz-subset.so.0 || missing+=(libharfbuzz-subset0)
ldconfig -p | grep -q libpango-1.0.so.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
command -v docker-compose >/dev/null || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]} (install them with apt-get as root)." >&2
  exit 1
fi
echo "==> Installing ${missing[*]} with apt"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
