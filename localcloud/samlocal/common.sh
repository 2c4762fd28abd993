# shellcheck shell=bash
# Shared settings and helpers for the `sam local start-api` Docker tier.
# Sourced by the scripts in this folder; not meant to be executed on its own.
#
# Environment (all optional):
#   SAMLOCAL_STATE_DIR   caches, dockerd's pidfile and log (default: <repo>/.localcloud/samlocal)
#   SAMLOCAL_RUN_DIR     one start-api instance's files: pidfiles, logs, env.json, sam-build
#                        (default: $SAMLOCAL_STATE_DIR; tests use their own so they can run beside `make sam-local`)
#   SAMLOCAL_QUIET=1     silence progress lines

SAMLOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SAMLOCAL_DIR}/../.." && pwd)"
STATE_DIR="${SAMLOCAL_STATE_DIR:-${REPO_ROOT}/.localcloud/samlocal}"

RUN_DIR="${SAMLOCAL_RUN_DIR:-${STATE_DIR}}"

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

mkdir -p "${STATE_DIR}" "${RUN_DIR}"

VENV_BIN="${SAMLOCAL_VENV:-${REPO_ROOT}/.venv}/bin"

# True when the pidfile names a live process whose command line contains $2.
pid_alive() {
    local pidfile="$1" expect="$2" pid
    [[ -f "${pidfile}" ]] || return 1
    pid="$(cat "${pidfile}" 2>/dev/null || true)"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q -- "${expect}"
}

# stop_pidfile NAME PIDFILE EXPECT TIMEOUT: SIGTERM the process (its whole process group when it
# leads one, as everything started here with setsid does), wait up to TIMEOUT s, then SIGKILL.
# Only a pid recorded by these scripts and still running EXPECT is touched.
stop_pidfile() {
    local name="$1" pidfile="$2" expect="$3" timeout="$4" pid target deadline
    if ! pid_alive "${pidfile}" "${expect}"; then
        rm -f "${pidfile}"
        return 0
    fi
    pid="$(cat "${pidfile}")"
    target="${pid}"
    [[ "$(ps -o pgid= -p "${pid}" | tr -d ' ')" == "${pid}" ]] && target="-${pid}"
    log "stopping ${name} (pid ${pid})"
    kill -TERM -- "${target}" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    if kill -0 "${pid}" 2>/dev/null; then
        log "${name} (pid ${pid}) did not stop within ${timeout}s; sending SIGKILL"
        kill -KILL -- "${target}" 2>/dev/null || true
    fi
    rm -f "${pidfile}"
}
