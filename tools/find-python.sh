#!/usr/bin/env bash
# Print the path of a working python3.13 interpreter, or say what to install and exit 1.
# Order: $PYTHON if set; `python3.13` on PATH; a 3.13.x that pyenv knows (pyenv's shim alone
# does not run unless a 3.13 is selected, so ask pyenv for one).
set -u
want=3.13
works() { "$@" -c "import sys; assert sys.version_info[:2] == (3, 13); print(sys.executable)" 2>/dev/null; }
if [[ -n "${PYTHON:-}" ]]; then
    works "${PYTHON}" && exit 0
    echo "PYTHON=${PYTHON} is not a working Python ${want}" >&2
    exit 1
fi
works python3.13 && exit 0
if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -t. -k3 -n -r); do
        PYENV_VERSION="$v" works python3.13 && exit 0
    done
fi
echo "Python ${want} is required: install python3.13 (e.g. apt-get install python3.13, or pyenv install ${want}) and put it on PATH" >&2
exit 1
