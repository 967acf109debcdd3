#!/usr/bin/env bash
# Deploys an image to a host that runs compose.prod.yml, one instance at a time, or rolls back to
# the image it ran before. deploy.yml calls it with the environment's own secrets.
#
#   deploy/deploy.sh deploy <image>     (registry/name@sha256:… or :tag)
#   deploy/deploy.sh rollback
#
# Environment: DEPLOY_HOST, DEPLOY_USER, DEPLOY_DIR (default /srv/aomi: compose.prod.yml, the nginx
# template and the .env of docs/ops.md), and an ssh agent or ~/.ssh holding the key.
#
# On the host, .env's AOMI_IMAGE names the running image and .previous-image the one before. The
# instances are replaced one after the other, each waited for until Docker reports it healthy
# (its HEALTHCHECK asks /readyz); the proxy sends requests to the other meanwhile. The first new
# instance applies the new migrations at its start (docs/ops.md: migrations must be additive for
# the old instance to go on running a moment beside it).
set -euo pipefail

action="${1:?deploy <image> | rollback}"
: "${DEPLOY_HOST:?}" "${DEPLOY_USER:?}"
dir="${DEPLOY_DIR:-/srv/aomi}"

case "$action" in
  deploy) image="${2:?the image to deploy}" ;;
  rollback) image="" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac

# shellcheck disable=SC2087 # the variables below are expanded here, on purpose
ssh -o BatchMode=yes "$DEPLOY_USER@$DEPLOY_HOST" bash -s <<REMOTE
set -euo pipefail
cd "$dir"
current="\$(sed -n 's/^AOMI_IMAGE=//p' .env)"
if [ "$action" = rollback ]; then
  next="\$(cat .previous-image)"
else
  next="$image"
fi
[ -n "\$next" ] || { echo "no image to deploy" >&2; exit 1; }
echo "deploying \$next (was \$current)"
printf '%s\n' "\$current" > .previous-image
# A dump before every change: an older image refuses a schema with migrations it does not know,
# so rolling back across a migration means restoring this (docs/ops.md, "Upgrades").
mkdir -p backups
docker compose -f compose.prod.yml exec -T postgres pg_dump -U aomi -Fc aomi > "backups/before-\$(date -u +%Y%m%dT%H%M%SZ).dump"
sed -i "s|^AOMI_IMAGE=.*|AOMI_IMAGE=\$next|" .env
docker compose -f compose.prod.yml pull aomi-1 aomi-2
for service in aomi-1 aomi-2; do
  docker compose -f compose.prod.yml up -d --no-deps "\$service"
  for _ in \$(seq 1 60); do
    state="\$(docker inspect -f '{{.State.Health.Status}}' "\$(docker compose -f compose.prod.yml ps -q "\$service")")"
    [ "\$state" = healthy ] && break
    sleep 2
  done
  [ "\$state" = healthy ] || { echo "\$service is not healthy (\$state)" >&2; exit 1; }
done
echo "deployed \$next"
REMOTE
