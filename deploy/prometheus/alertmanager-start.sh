#!/bin/sh
# Entry point of the alertmanager service (docker-compose.yml): writes alertmanager.yml with the
# webhook address from ALERT_WEBHOOK_URL (kept out of the repository), then runs the command
# given (/bin/alertmanager ...) on it. Plain text replacement, so any URL (with & | ? ...) works.
set -eu
: "${ALERT_WEBHOOK_URL:?set ALERT_WEBHOOK_URL (see deploy/siyu.env.example)}"
template="${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
out="${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    *'url: "ALERT_WEBHOOK_URL"'*) printf '%s\n' "${line%%ALERT_WEBHOOK_URL*}${ALERT_WEBHOOK_URL}${line#*ALERT_WEBHOOK_URL}" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$template" > "$out"
[ "$#" -eq 0 ] || exec "$@" --config.file="$out"
