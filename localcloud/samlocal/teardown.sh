#!/usr/bin/env bash
# Stop what the samlocal scripts started, and nothing else.
#
#   localcloud/samlocal/teardown.sh [--keep-docker] [--images]
#
# 1. `sam local start-api`, `sam local start-lambda` (the token triggers) and the moto backend
#    started by start-api.sh (their pidfiles);
# 2. the containers that SAM created for this run dir (label sam.cli.container.type, /var/task
#    mounted from $RUN_DIR/sam-build), e.g. warm containers left by a killed SAM;
# 3. with --images: SAM's derived images (samcli/lambda-*) and base images of older recipes
#    (sales-lambda-python tags other than the current one), then dangling (untagged) images;
# 4. dockerd, only if ensure-docker.sh started it (its pidfile) and unless --keep-docker.
# Idempotent; exits 0 when there is nothing to stop.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

keep_docker=0
images=0
for arg in "$@"; do
    case "${arg}" in
        --keep-docker) keep_docker=1 ;;
        --images) images=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: ${arg} (see --help)" ;;
    esac
done

stop_pidfile "sam local start-api" "${RUN_DIR}/sam.pid" "start-api" 20
stop_pidfile "sam local start-lambda" "${RUN_DIR}/lambda.pid" "start-lambda" 20
stop_pidfile "moto backend" "${RUN_DIR}/backend.pid" "localcloud.samlocal.backend" 10

if docker_ready; then
    # Only the containers of this run dir's SAM: their /var/task is a bind mount from its sam-build.
    mapfile -t containers < <(
        docker ps -aq --filter label=sam.cli.container.type \
            | xargs -r docker inspect --format '{{.Id}} {{range .Mounts}}{{.Source}} {{end}}' \
            | awk -v dir="${RUN_DIR}/sam-build/" 'index($0, " " dir) { print $1 }'
    )
    if ((${#containers[@]})); then
        log "removing ${#containers[@]} SAM container(s)"
        docker rm -f "${containers[@]}" >/dev/null
    fi
    if ((images)); then
        current="$("${SAMLOCAL_DIR}/ensure-image.sh" --print-tag 2>/dev/null || true)"
        mapfile -t old < <(
            docker images --format '{{.Repository}}:{{.Tag}}' \
                | grep -E '^(samcli/lambda-|sales-lambda-python:)' | grep -vxF "${current}" || true
        )
        if ((${#old[@]})); then
            log "removing images: ${old[*]}"
            docker rmi "${old[@]}" >/dev/null || log "some images are still in use; left in place"
        fi
        # SAM rebuilds its derived image in every session (local layer) and leaves the old one untagged.
        log "pruning dangling images"
        docker image prune -f >/dev/null
    fi
fi

if ((keep_docker)); then
    log "leaving the docker engine running (--keep-docker)"
elif pid_alive "${DOCKERD_PIDFILE}" dockerd; then
    stop_pidfile "dockerd (started by ensure-docker.sh)" "${DOCKERD_PIDFILE}" dockerd 30
else
    rm -f "${DOCKERD_PIDFILE}"
    log "no dockerd started by samlocal is running; leaving any docker engine alone"
fi
log "teardown done"
