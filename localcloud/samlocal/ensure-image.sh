#!/usr/bin/env bash
# Build (once) a Lambda-compatible python3.13 base image for `sam local start-api --invoke-image`,
# without any container registry, and print its tag as the last line of stdout.
#
#   TAG="$(localcloud/samlocal/ensure-image.sh)"
#   sam local start-api --invoke-image "$TAG" --skip-pull-image ...
#
# Recipe: Debian trixie (its python3 is 3.13, like the python3.13 runtime) from debootstrap
# --variant=minbase, plus awslambdaric and boto3 from wheels downloaded on the host (pip inside the
# chroot cannot reach the index) and installed offline, plus /var/runtime/bootstrap. SAM adds its own
# Runtime Interface Emulator on top of this image at the first invocation.
#
# The tag is sales-lambda-python:3.13-<12 hex of sha256(this script + pinned versions)>, so editing
# the recipe or a pin gives a new tag and an existing tag is reused without rebuilding. The
# debootstrap rootfs and the wheels are cached under $STATE_DIR/cache, so a rebuild after a recipe
# change takes seconds, not minutes.
#
# Environment (all optional):
#   LAMBDA_IMAGE                    use this image instead (e.g. public.ecr.aws/lambda/python:3.13 when a
#                                   registry is reachable); nothing is built and nothing is pulled here.
#   SAMLOCAL_BOTO3_VERSION          default 1.43.127
#   SAMLOCAL_AWSLAMBDARIC_VERSION   default 4.2.2
#   SAMLOCAL_IMAGE_REPO             default sales-lambda-python
#   SAMLOCAL_DEBIAN_MIRROR          default http://deb.debian.org/debian
#   SAMLOCAL_PYTHON                 host interpreter used for `pip download` (default python3)
#   SAMLOCAL_STATE_DIR, SAMLOCAL_QUIET   see common.sh
# Options:
#   --print-tag   print the tag this recipe would produce and exit (no Docker needed)
#   --rebuild     rebuild even if the tag exists (caches are still used)
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BOTO3_VERSION="${SAMLOCAL_BOTO3_VERSION:-1.43.127}"
AWSLAMBDARIC_VERSION="${SAMLOCAL_AWSLAMBDARIC_VERSION:-4.2.2}"
IMAGE_REPO="${SAMLOCAL_IMAGE_REPO:-sales-lambda-python}"
MIRROR="${SAMLOCAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_PYTHON="${SAMLOCAL_PYTHON:-python3}"
SUITE=trixie
INCLUDE=python3,python3-pip,ca-certificates
PIP_PLATFORMS=(--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64)
# Same order as on Lambda: layer (/opt/python...) before the runtime; /var/task is the working dir.
IMAGE_ENV=(
    LAMBDA_TASK_ROOT=/var/task
    LAMBDA_RUNTIME_DIR=/var/runtime
    PYTHONPATH=/opt/python/lib/python3.13/site-packages:/opt/python:/var/runtime
    LANG=C.UTF-8
    TZ=:UTC
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin
)

mode=ensure
for arg in "$@"; do
    case "${arg}" in
        --print-tag) mode=print ;;
        --rebuild) mode=rebuild ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: ${arg} (see --help)" ;;
    esac
done

if [[ -n "${LAMBDA_IMAGE:-}" ]]; then
    log "LAMBDA_IMAGE is set; using ${LAMBDA_IMAGE} as is (no local build)"
    if [[ "${mode}" != print ]] && docker_ready && ! docker image inspect "${LAMBDA_IMAGE}" >/dev/null 2>&1; then
        log "note: ${LAMBDA_IMAGE} is not present locally; let SAM pull it (omit --skip-pull-image)"
    fi
    printf '%s\n' "${LAMBDA_IMAGE}"
    exit 0
fi

sha12() { sha256sum | cut -c1-12; }
recipe_hash="$({
    cat "${BASH_SOURCE[0]}"
    printf 'boto3=%s awslambdaric=%s suite=%s include=%s\n' \
        "${BOTO3_VERSION}" "${AWSLAMBDARIC_VERSION}" "${SUITE}" "${INCLUDE}"
} | sha12)"
TAG="${IMAGE_REPO}:3.13-${recipe_hash}"

if [[ "${mode}" == print ]]; then
    printf '%s\n' "${TAG}"
    exit 0
fi

docker_ready || "${SAMLOCAL_DIR}/ensure-docker.sh"

# One build at a time (make and pytest may race for it).
exec 9>"${STATE_DIR}/image.lock"
flock 9

if [[ "${mode}" != rebuild ]] && docker image inspect "${TAG}" >/dev/null 2>&1; then
    log "image ${TAG} already exists; skipping the build"
    printf '%s\n' "${TAG}"
    exit 0
fi

[[ "$(id -u)" == "0" ]] || die "building the image needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
cache_dir="${STATE_DIR}/cache"
mkdir -p "${cache_dir}"
t0=${SECONDS}

# ---- 1. base rootfs (cached; keyed by what debootstrap is asked for) ---------------------------
rootfs_key="$(printf '%s %s %s minbase\n' "${SUITE}" "${INCLUDE}" "${MIRROR}" | sha12)"
rootfs_cache="${cache_dir}/rootfs-${SUITE}-${rootfs_key}"
if [[ -f "${rootfs_cache}/.samlocal-complete" ]]; then
    log "reusing cached debootstrap rootfs ${rootfs_cache}"
else
    log "debootstrap --variant=minbase ${SUITE} (about 3 min, about 270 MB; log: ${cache_dir}/debootstrap.log)"
    rm -rf "${rootfs_cache}.partial"
    debootstrap --variant=minbase --include="${INCLUDE}" "${SUITE}" "${rootfs_cache}.partial" "${MIRROR}" \
        >"${cache_dir}/debootstrap.log" 2>&1 \
        || { tail -n 20 "${cache_dir}/debootstrap.log" >&2; die "debootstrap failed (see ${cache_dir}/debootstrap.log)"; }
    rm -rf "${rootfs_cache}.partial/var/cache/apt/archives/"*.deb "${rootfs_cache}.partial/var/lib/apt/lists/"*
    touch "${rootfs_cache}.partial/.samlocal-complete"
    rm -rf "${rootfs_cache}"
    mv "${rootfs_cache}.partial" "${rootfs_cache}"
fi

# ---- 2. wheels, downloaded on the host for the target (cached; keyed by the pins) --------------
wheels_dir="${cache_dir}/wheels-boto3-${BOTO3_VERSION}-awslambdaric-${AWSLAMBDARIC_VERSION}"
if [[ -f "${wheels_dir}/.samlocal-complete" ]]; then
    log "reusing cached wheels ${wheels_dir}"
else
    log "pip download awslambdaric==${AWSLAMBDARIC_VERSION} boto3==${BOTO3_VERSION} (binary wheels for cp313 x86_64)"
    rm -rf "${wheels_dir}.partial"
    "${HOST_PYTHON}" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
        --python-version 3.13 --implementation cp "${PIP_PLATFORMS[@]}" \
        -d "${wheels_dir}.partial" "awslambdaric==${AWSLAMBDARIC_VERSION}" "boto3==${BOTO3_VERSION}" >&2 \
        || die "pip download failed (is PyPI reachable? is ${HOST_PYTHON} -m pip available?)"
    touch "${wheels_dir}.partial/.samlocal-complete"
    rm -rf "${wheels_dir}"
    mv "${wheels_dir}.partial" "${wheels_dir}"
fi

# ---- 3. assemble a copy of the rootfs --------------------------------------------------------
build_dir="${STATE_DIR}/build/${recipe_hash}"
rootfs="${build_dir}/rootfs"
cleanup_build() { rm -rf "${build_dir}"; }
trap cleanup_build EXIT
rm -rf "${build_dir}"
mkdir -p "${build_dir}"
log "assembling rootfs in ${rootfs}"
cp -a --reflink=auto "${rootfs_cache}" "${rootfs}"
rm -f "${rootfs}/.samlocal-complete"
mkdir -p "${rootfs}/tmp/wheels"
cp "${wheels_dir}/"*.whl "${rootfs}/tmp/wheels/"

# A clean environment: the host's PIP_* variables (find-links, index URLs, cert paths) and
# PYTHON* variables would otherwise leak into the chroot.
CHROOT="$(command -v chroot)" || die "chroot not found"
in_rootfs() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "${CHROOT}" "${rootfs}" "$@"; }
log "installing the wheels offline inside the rootfs"
in_rootfs /usr/bin/python3 -m pip install --quiet --disable-pip-version-check \
    --break-system-packages --no-index --no-cache-dir --root-user-action=ignore \
    --find-links /tmp/wheels "awslambdaric==${AWSLAMBDARIC_VERSION}" "boto3==${BOTO3_VERSION}" >&2 \
    || die "offline pip install inside the rootfs failed"
in_rootfs /usr/bin/python3 -c 'import awslambdaric, boto3, sys; assert sys.version_info[:2] == (3, 13), sys.version' \
    || die "sanity check failed: python3.13 with awslambdaric and boto3 not importable in the rootfs"

mkdir -p "${rootfs}/var/runtime" "${rootfs}/var/task" "${rootfs}/opt"
cat >"${rootfs}/var/runtime/bootstrap" <<'EOF'
#!/bin/sh
# Started by the Runtime Interface Emulator; the handler comes in _HANDLER (or as the first argument).
exec /usr/bin/python3 -m awslambdaric "${_HANDLER:-$1}"
EOF
chmod 755 "${rootfs}/var/runtime/bootstrap"
rm -rf "${rootfs}/tmp/wheels" "${rootfs}/root/.cache"
find "${rootfs}/usr/local/lib" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true

# ---- 4. import -------------------------------------------------------------------------------
changes=(-c "ENV ${IMAGE_ENV[*]}" -c 'WORKDIR /var/task')
log "docker import -> ${TAG}"
tar -C "${rootfs}" --numeric-owner -c . \
    | docker import "${changes[@]}" -m "samlocal recipe ${recipe_hash}" - "${TAG}" >/dev/null \
    || die "docker import failed"
log "built ${TAG} in $((SECONDS - t0)) s ($(docker image inspect --format '{{.Size}}' "${TAG}" | awk '{printf "%d MB", $1/1e6}'))"
printf '%s\n' "${TAG}"
