#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database.
#
#   scripts/restore.sh BACKUP_DIR         (DATABASE_URL and MEDIA_ROOT from the env)
#
# Then start the application with the same FIELD_ENCRYPTION_KEYS as when the
# backup was taken (or a list that still contains them) and run the checks of
# docs/operations.md.
set -euo pipefail
source_dir=${1:?usage: scripts/restore.sh BACKUP_DIR}
: "${DATABASE_URL:?DATABASE_URL must be set}"
(cd "$source_dir" && sha256sum --check --quiet SHA256SUMS)
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$DATABASE_URL" "$source_dir/database.dump"
if [ -f "$source_dir/media.tar.gz" ] && [ -n "${MEDIA_ROOT:-}" ]; then
  mkdir -p "$MEDIA_ROOT"
  tar -C "$MEDIA_ROOT" -xzf "$source_dir/media.tar.gz"
fi
echo "restored from $source_dir"
