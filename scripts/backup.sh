#!/usr/bin/env bash
# Back up Conciergerie: the database (pg_dump custom format) and the encrypted
# documents, into one dated folder. The encryption keys are NOT copied: they live
# in the secret store and must be backed up there (see docs/operations.md).
#
#   scripts/backup.sh DEST_DIR            (DATABASE_URL and MEDIA_ROOT from the env)
set -euo pipefail
dest=${1:?usage: scripts/backup.sh DEST_DIR}
: "${DATABASE_URL:?DATABASE_URL must be set}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$dest/conciergerie-$stamp"
mkdir -p "$target"
pg_dump --format=custom --no-owner --no-privileges --dbname="$DATABASE_URL" \
  --file="$target/database.dump"
if [ -n "${MEDIA_ROOT:-}" ] && [ -d "$MEDIA_ROOT" ]; then
  tar -C "$MEDIA_ROOT" -czf "$target/media.tar.gz" .
fi
(cd "$target" && sha256sum ./* > SHA256SUMS)
echo "$target"
