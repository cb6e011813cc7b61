#!/bin/sh
# Run pyproton-ml with the given arguments. When PYPROTON_ML_AUTH_KEY_FILE names a file that
# does not exist (for example a missing Docker secret), stop with a clear message instead of
# starting without the expected key.
set -eu

if [ -n "${PYPROTON_ML_AUTH_KEY_FILE:-}" ] && [ ! -r "${PYPROTON_ML_AUTH_KEY_FILE}" ]; then
    echo "pyproton-ml-udf: the auth key file ${PYPROTON_ML_AUTH_KEY_FILE} is missing or unreadable" >&2
    exit 2
fi

exec pyproton-ml "$@"
