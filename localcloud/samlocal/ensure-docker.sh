#!/usr/bin/env bash
# Make sure a Docker engine answers, for `sam local start-api`.
#
#   localcloud/samlocal/ensure-docker.sh
#
# - If `docker version` already answers (any engine, any socket from DOCKER_HOST): do nothing.
# - Otherwise install Debian's docker.io and debootstrap if they are missing (apt-get, non-interactive,
#   needs root), start dockerd in the background with the default bridge, and wait until it answers.
#   The pid of a dockerd started here goes to $STATE_DIR/dockerd.pid so that teardown.sh stops only
#   an engine this script started; its log goes to $STATE_DIR/dockerd.log.
#
# Environment: SAMLOCAL_DOCKER_WAIT (seconds to wait for the engine, default 60),
#              SAMLOCAL_STATE_DIR, SAMLOCAL_QUIET (see common.sh).
# Exit status: 0 when the engine answers, 1 otherwise (with the reason on stderr).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wait_secs="${SAMLOCAL_DOCKER_WAIT:-60}"

if docker_ready; then
    log "docker engine already answers; nothing to do"
    exit 0
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
    # ca-certificates is only a Recommends of docker.io; we install without recommends.
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" ca-certificates | sort -u)
    apt_install "${missing[@]}"
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd still not on PATH after installing docker.io"

# A dockerd from an earlier run of ours that is still alive but not answering yet: just wait for it.
started_pid=""
if [[ -f "${DOCKERD_PIDFILE}" ]]; then
    old_pid="$(cat "${DOCKERD_PIDFILE}")"
    if [[ -n "${old_pid}" ]] && kill -0 "${old_pid}" 2>/dev/null \
        && grep -qa dockerd "/proc/${old_pid}/cmdline" 2>/dev/null; then
        log "dockerd (pid ${old_pid}) started earlier by samlocal is still running; waiting for it"
        started_pid="${old_pid}"
    else
        rm -f "${DOCKERD_PIDFILE}"
    fi
fi

if [[ -z "${started_pid}" ]]; then
    if pgrep -x dockerd >/dev/null 2>&1; then
        die "a dockerd not started by samlocal is running but does not answer; check it (docker version)"
    fi
    [[ "$(id -u)" == "0" ]] || die "starting dockerd needs root"
    log "starting dockerd in the background (log: ${DOCKERD_LOG})"
    # setsid: own session and process group, so the engine outlives this script and its job.
    # Default bridge on purpose: with --bridge=none SAM cannot reach its containers.
    setsid dockerd >>"${DOCKERD_LOG}" 2>&1 </dev/null &
    started_pid=$!
    echo "${started_pid}" >"${DOCKERD_PIDFILE}"
fi

log "waiting up to ${wait_secs}s for the docker engine to answer"
deadline=$((SECONDS + wait_secs))
until docker_ready; do
    if ! kill -0 "${started_pid}" 2>/dev/null; then
        rm -f "${DOCKERD_PIDFILE}"
        tail -n 20 "${DOCKERD_LOG}" >&2 || true
        die "dockerd (pid ${started_pid}) exited before answering; last log lines above (${DOCKERD_LOG})"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 20 "${DOCKERD_LOG}" >&2 || true
        die "docker engine did not answer within ${wait_secs}s (dockerd pid ${started_pid} left running; log ${DOCKERD_LOG})"
    fi
    sleep 1
done
log "docker engine answers: server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?') (dockerd pid ${started_pid})"
