#!/bin/bash
# banned.sh - a small curl checksrc: fail when C sources call functions
# the house style bans (unbounded copies, unchecked number parsing,
# stack allocation of input-sized buffers) or declare VLAs.
set -u
cd "${1:-.}" || exit 2
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib milter policy tests bench -name '*.[ch]')
status=0
# shellcheck disable=SC2086
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|gets|atoi|atol|atoll|alloca|strncpy|strncat)[[:space:]]*\(' $files |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*)'; then
	echo "banned.sh: banned function above (see house-style.md)" >&2
	status=1
fi
# A VLA: an array declarator sized by a non-constant, lower-case name.
# shellcheck disable=SC2086
if grep -nE '^[[:space:]]+(unsigned[[:space:]]+)?(char|int|long|size_t|uint8_t|u_char)[[:space:]]+[a-z_][a-z0-9_]*\[[a-z_][a-z0-9_]*\];' $files; then
	echo "banned.sh: variable-length array above" >&2
	status=1
fi
exit $status
