# shellcheck shell=bash
# Shared settings and helpers for the `sam local start-api` Docker tier.
# Sourced by the scripts in this folder; not meant to be executed on its own.
#
# Environment (all optional):
#   SAMLOCAL_STATE_DIR   where logs, pidfiles and caches live (default: <repo>/.localcloud/samlocal)
#   SAMLOCAL_QUIET=1     silence progress lines

SAMLOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SAMLOCAL_DIR}/../.." && pwd)"
STATE_DIR="${SAMLOCAL_STATE_DIR:-${REPO_ROOT}/.localcloud/samlocal}"

DOCKERD_PIDFILE="${STATE_DIR}/dockerd.pid"
DOCKERD_LOG="${STATE_DIR}/dockerd.log"

# Progress goes to stderr so that stdout stays machine-readable (ensure-image.sh prints the tag).
log() {
    [[ "${SAMLOCAL_QUIET:-0}" == "1" ]] || printf '[samlocal] %s\n' "$*" >&2
}

die() {
    printf '[samlocal] ERROR: %s\n' "$*" >&2
    exit 1
}

docker_ready() {
    docker version >/dev/null 2>&1
}

# Non-interactive apt-get install of the given packages, updating the index only if needed.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
    [[ "$(id -u)" == "0" ]] || die "installing $* needs root (run as root or install it yourself)"
    export DEBIAN_FRONTEND=noninteractive
    log "apt-get install $* ..."
    if ! apt-get install -y -q --no-install-recommends "$@" >"${STATE_DIR}/apt.log" 2>&1; then
        log "apt-get install failed; running apt-get update and retrying"
        apt-get update -q >>"${STATE_DIR}/apt.log" 2>&1 || die "apt-get update failed (see ${STATE_DIR}/apt.log)"
        apt-get install -y -q --no-install-recommends "$@" >>"${STATE_DIR}/apt.log" 2>&1 \
            || die "apt-get install $* failed (see ${STATE_DIR}/apt.log)"
    fi
}

mkdir -p "${STATE_DIR}"
