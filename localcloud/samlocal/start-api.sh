#!/usr/bin/env bash
# template.yaml's API under `sam local start-api` (real Lambda containers), backed by moto.
#
#   localcloud/samlocal/start-api.sh                # background; prints the API URL as the last stdout line
#   localcloud/samlocal/start-api.sh --foreground   # for `make sam-local`: SAM's log on the terminal, Ctrl-C stops
#   localcloud/samlocal/teardown.sh                 # stops what the background mode started
#
# Steps: ensure-docker.sh -> ensure-image.sh -> `sam build` (into $RUN_DIR/sam-build) and, meanwhile, the moto
# backend (python -m localcloud.samlocal.backend: tables and state machines from the template, and
# SAM's --env-vars file) -> `sam local start-api --invoke-image TAG --skip-pull-image
# --add-host host.docker.internal:host-gateway --env-vars ...` and, beside it, `sam local
# start-lambda` with the same settings for the user pools' pre token generation functions (the
# backend invokes them at each sign-in, as Cognito does) -> wait until both answer.
#
# Environment (all optional):
#   SAMLOCAL_API_PORT            API port (default 3000)
#   SAMLOCAL_AWS_PORT            moto port (default 5005); containers reach it at host.docker.internal
#   SAMLOCAL_LAMBDA_PORT         `sam local start-lambda` port (default 3001), for the Cognito triggers
#   SAMLOCAL_TEMPLATE            default <repo>/template.yaml
#   SAMLOCAL_ENV_VARS            your own --env-vars JSON, merged over the generated one
#   SAMLOCAL_PARAMETER_OVERRIDES e.g. "Stage=dev LogLevel=DEBUG"; Architecture=x86_64 always comes
#                                first (the containers run on this machine's architecture)
#   SAMLOCAL_WARM_CONTAINERS     LAZY (default), EAGER, or off (a new container per request); the
#                                trigger functions' start-lambda runs EAGER unless this is off
#   SAMLOCAL_SKIP_BUILD=1        reuse the last `sam build`
#   SAMLOCAL_JWT                 on (default): SAM runs with the HTTP API JWT authorizer emulated
#                                (localcloud/samlocal/sam_cli.py); off: plain `sam`, which ignores JWT
#                                authorizers, so every function answers 401 (no claims, fail closed)
#   SAMLOCAL_START_WAIT          seconds to wait for the API (default 120)
#   SAMLOCAL_VENV                virtualenv with sam and moto (default <repo>/.venv)
#   LAMBDA_IMAGE                 see ensure-image.sh
# Files in $SAMLOCAL_RUN_DIR (default $STATE_DIR): sam.pid, sam.log, lambda.pid, lambda.log (start-lambda),
# backend.pid, backend.log, env.json, auth.json (user pool, app client, dev users, token triggers), sam-build/.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

foreground=0
extra_sam_args=()
while (($#)); do
    case "$1" in
        --foreground) foreground=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; extra_sam_args=("$@"); break ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

API_PORT="${SAMLOCAL_API_PORT:-3000}"
AWS_PORT="${SAMLOCAL_AWS_PORT:-5005}"
LAMBDA_PORT="${SAMLOCAL_LAMBDA_PORT:-3001}"
TEMPLATE="$(realpath "${SAMLOCAL_TEMPLATE:-${REPO_ROOT}/template.yaml}")"
WARM="${SAMLOCAL_WARM_CONTAINERS:-LAZY}"
START_WAIT="${SAMLOCAL_START_WAIT:-120}"
SAM="${VENV_BIN}/sam"
PYTHON="${VENV_BIN}/python"
BUILD_DIR="${RUN_DIR}/sam-build"
ENV_FILE="${RUN_DIR}/env.json"
AUTH_FILE="${RUN_DIR}/auth.json"
JWT="${SAMLOCAL_JWT:-on}"
API_URL="http://127.0.0.1:${API_PORT}"
LAMBDA_URL="http://127.0.0.1:${LAMBDA_PORT}"
read -r -a param_overrides <<<"Architecture=x86_64 ${SAMLOCAL_PARAMETER_OVERRIDES:-}"

[[ -x "${SAM}" ]] || die "${SAM} not found; create the venv first (pip install -e '.[dev]') or set SAMLOCAL_VENV"
[[ -f "${TEMPLATE}" ]] || die "template not found: ${TEMPLATE}"

http_status() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }
# True while the process just started in the background (its pidfile) lives. No command-line check
# (pid_alive): until its subshell has exec'd, the command line is still this script's.
started_alive() { kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

if pid_alive "${RUN_DIR}/sam.pid" start-api; then
    log "sam local start-api is already running (pid $(cat "${RUN_DIR}/sam.pid")); run teardown.sh to restart it"
    printf '%s\n' "${API_URL}"
    exit 0
fi
for port in "${API_PORT}" "${AWS_PORT}" "${LAMBDA_PORT}"; do
    [[ "$(http_status "http://127.0.0.1:${port}/")" == 000 ]] \
        || die "port ${port} is already in use; stop its owner or set SAMLOCAL_API_PORT / SAMLOCAL_AWS_PORT / SAMLOCAL_LAMBDA_PORT"
done

"${SAMLOCAL_DIR}/ensure-docker.sh"
TAG="$("${SAMLOCAL_DIR}/ensure-image.sh" | tail -n 1)"
log "lambda base image: ${TAG}"

# ---- the moto backend (it needs the template only: it starts while sam build runs) ------------
stop_pidfile "previous moto backend" "${RUN_DIR}/backend.pid" localcloud.samlocal.backend 10
rm -f "${ENV_FILE}" "${AUTH_FILE}"
log "starting the moto backend on 0.0.0.0:${AWS_PORT} (log: ${RUN_DIR}/backend.log)"
backend_args=(
    --port "${AWS_PORT}" --template "${TEMPLATE}" --env-out "${ENV_FILE}" --auth-out "${AUTH_FILE}"
    --lambda-url "${LAMBDA_URL}"
)
[[ -n "${SAMLOCAL_ENV_VARS:-}" ]] && backend_args+=(--env-vars "$(realpath "${SAMLOCAL_ENV_VARS}")")
((${#param_overrides[@]})) && backend_args+=(--parameter-overrides "${param_overrides[@]}")
(cd "${REPO_ROOT}" && exec setsid "${PYTHON}" -m localcloud.samlocal.backend "${backend_args[@]}") \
    >"${RUN_DIR}/backend.log" 2>&1 </dev/null &
echo $! >"${RUN_DIR}/backend.pid"

# ---- sam build (the venv's python3.13, no container) ---------------------------------------------
if [[ "${SAMLOCAL_SKIP_BUILD:-0}" == "1" && -f "${BUILD_DIR}/template.yaml" ]]; then
    log "SAMLOCAL_SKIP_BUILD=1: reusing ${BUILD_DIR}"
else
    log "sam build -> ${BUILD_DIR} (log: ${RUN_DIR}/sam-build.log)"
    (cd "$(dirname "${TEMPLATE}")" && PATH="${VENV_BIN}:${PATH}" SAM_CLI_TELEMETRY=0 "${SAM}" build --template-file "${TEMPLATE}" \
        --build-dir "${BUILD_DIR}" --cache-dir "${STATE_DIR}/sam-cache" --cached --parallel \
        ${param_overrides[@]+--parameter-overrides "${param_overrides[@]}"}) >"${RUN_DIR}/sam-build.log" 2>&1 \
        || {
            tail -n 30 "${RUN_DIR}/sam-build.log" >&2
            stop_pidfile "moto backend" "${RUN_DIR}/backend.pid" localcloud.samlocal.backend 10
            die "sam build failed (see ${RUN_DIR}/sam-build.log)"
        }
fi

# The backend is ready when its env file appears.
deadline=$((SECONDS + 30))
until [[ -f "${ENV_FILE}" ]]; do
    started_alive "${RUN_DIR}/backend.pid" \
        || { tail -n 30 "${RUN_DIR}/backend.log" >&2; die "the moto backend exited (see ${RUN_DIR}/backend.log)"; }
    ((SECONDS < deadline)) || die "the moto backend was not ready within 30s (see ${RUN_DIR}/backend.log)"
    sleep 0.3
done
log "moto backend ready: $(tail -n 1 "${RUN_DIR}/backend.log")"

# ---- sam local start-api ------------------------------------------------------------------
# A clean environment: SAM lets a shell variable override any variable a function declares
# (TABLE_NAME, AWS_ENDPOINT_URL, ...), so nothing from the caller's shell may leak in.
sam_env=(
    env -i "PATH=${PATH}" "HOME=${HOME:-/root}" LANG=C.UTF-8 SAM_CLI_TELEMETRY=0
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
)
for var in DOCKER_HOST DOCKER_CONFIG DOCKER_CERT_PATH DOCKER_TLS_VERIFY TMPDIR; do
    [[ -n "${!var:-}" ]] && sam_env+=("${var}=${!var}")
done
lambda_env=("${sam_env[@]}") # start-lambda: plain sam, the same clean environment
sam_cmd=("${SAM}")
if [[ "${JWT}" == on ]]; then
    # SAM itself, with the JWT authorizer (tokens verified against the backend's user pool) in front.
    sam_env+=(
        "PYTHONPATH=${REPO_ROOT}" "SAMLOCAL_AUTH_FILE=${AUTH_FILE}" "SAMLOCAL_AWS_URL=http://127.0.0.1:${AWS_PORT}"
        "SAMLOCAL_TEMPLATE=${TEMPLATE}"
    )
    sam_cmd=("${PYTHON}" -m localcloud.samlocal.sam_cli)
else
    log "SAMLOCAL_JWT=${JWT}: plain sam; it ignores the JWT authorizer, so every route answers 401"
fi
# What every container of this run gets, in start-api and start-lambda alike.
container_args=(
    --template "${BUILD_DIR}/template.yaml" --host 127.0.0.1
    --invoke-image "${TAG}" --add-host host.docker.internal:host-gateway --env-vars "${ENV_FILE}"
)
# A LAMBDA_IMAGE from a registry may need pulling; our local image must never be pulled.
if [[ -z "${LAMBDA_IMAGE:-}" ]] || docker image inspect "${TAG}" >/dev/null 2>&1; then
    container_args+=(--skip-pull-image)
fi
((${#param_overrides[@]})) && container_args+=(--parameter-overrides "${param_overrides[@]}")
for ((i = 0; i < ${#extra_sam_args[@]}; i++)); do # a --docker-network for SAM: the triggers' too
    case "${extra_sam_args[i]}" in
        --docker-network) container_args+=(--docker-network "${extra_sam_args[i + 1]:-}") ;;
        --docker-network=*) container_args+=("${extra_sam_args[i]}") ;;
    esac
done
sam_args=(local start-api --port "${API_PORT}" "${container_args[@]}")
[[ "${WARM}" == off ]] || sam_args+=(--warm-containers "${WARM}")
((${#extra_sam_args[@]})) && sam_args+=("${extra_sam_args[@]}")

# ---- sam local start-lambda: the user pools' pre token generation functions ---------------------
# The backend invokes them at each sign-in (lambda:Invoke on ${LAMBDA_URL}), as Cognito does. Only
# those functions, and EAGER: their containers start with SAM, so no sign-in waits for a cold one
# (Cognito gives a trigger 5 s). Plain sam (no JWT authorizer), the same containers' settings.
mapfile -t trigger_functions < <(
    "${PYTHON}" -c 'import json, sys
for name in sorted({t["function"] for t in json.load(open(sys.argv[1]))["token_triggers"]}): print(name)' "${AUTH_FILE}"
)
lambda_args=(local start-lambda --port "${LAMBDA_PORT}" "${container_args[@]}")
[[ "${WARM}" == off ]] || lambda_args+=(--warm-containers EAGER)

stop_lambda() { stop_pidfile "sam local start-lambda" "${RUN_DIR}/lambda.pid" start-lambda 20; }
stop_lambda
if ((${#trigger_functions[@]})); then
    log "starting sam local start-lambda on ${LAMBDA_URL} for ${trigger_functions[*]} (log: ${RUN_DIR}/lambda.log)"
    (cd "${BUILD_DIR}" && exec setsid "${lambda_env[@]}" "${SAM}" "${lambda_args[@]}" "${trigger_functions[@]}") \
        >"${RUN_DIR}/lambda.log" 2>&1 </dev/null &
    echo $! >"${RUN_DIR}/lambda.pid"
fi

# wait_for NAME URL PIDFILE LOG: until URL answers, while the process lives.
wait_for() {
    local name="$1" url="$2" pidfile="$3" logfile="$4" deadline=$((SECONDS + START_WAIT))
    until [[ "$(http_status "${url}/")" != 000 ]]; do
        started_alive "${pidfile}" || { tail -n 30 "${logfile}" >&2; die "${name} exited (see ${logfile})"; }
        ((SECONDS < deadline)) || die "${name} did not answer within ${START_WAIT}s (see ${logfile})"
        sleep 0.5
    done
}

if ((foreground)); then
    trap 'stop_lambda; stop_pidfile "moto backend" "${RUN_DIR}/backend.pid" localcloud.samlocal.backend 10' EXIT
    trap 'exit 130' INT TERM
    log "sam local start-api on ${API_URL} (foreground; Ctrl-C stops it, start-lambda and the backend)"
    (cd "${BUILD_DIR}" && "${sam_env[@]}" "${sam_cmd[@]}" "${sam_args[@]}") || true
    exit 0
fi

log "starting sam local start-api on ${API_URL} (log: ${RUN_DIR}/sam.log)"
(cd "${BUILD_DIR}" && exec setsid "${sam_env[@]}" "${sam_cmd[@]}" "${sam_args[@]}") >"${RUN_DIR}/sam.log" 2>&1 </dev/null &
echo $! >"${RUN_DIR}/sam.pid"
wait_for "sam local start-api" "${API_URL}" "${RUN_DIR}/sam.pid" "${RUN_DIR}/sam.log"
if ((${#trigger_functions[@]})); then
    wait_for "sam local start-lambda" "${LAMBDA_URL}" "${RUN_DIR}/lambda.pid" "${RUN_DIR}/lambda.log"
    log "token triggers ready at ${LAMBDA_URL}"
fi
log "API ready at ${API_URL} (stop with localcloud/samlocal/teardown.sh)"
printf '%s\n' "${API_URL}"
