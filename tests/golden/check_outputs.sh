#!/bin/sh
# Regenerates model_configs/ and gaps/ for every corpus model into a temporary folder and
# compares them with the committed ones. With --update, writes them into the repository instead.
#   check_outputs.sh MBUILD_BINARY REPO_ROOT [--update]
# MBUILD_TEST_BINARY, when set, is the binary run instead (the sanitizer build's, in scripts/test).
set -eu
mbuild=${MBUILD_TEST_BINARY:-$1}
root=$2
mode=${3:-check}

corpus="$root/tests/data/corpus"
models=""
for dir in "$corpus"/*/; do
  if [ -f "$dir/config.json" ]; then
    models="$models ${dir%/}"
  fi
done

if [ "$mode" = "--update" ]; then
  rm -rf "$root/model_configs" "$root/gaps"
  # shellcheck disable=SC2086
  "$mbuild" emit-config $models --out-dir "$root/model_configs" --gaps-dir "$root/gaps" --quiet
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
"$mbuild" emit-config $models --out-dir "$tmp/model_configs" --gaps-dir "$tmp/gaps" --quiet

status=0
for sub in model_configs gaps; do
  if ! diff -r -u "$root/$sub" "$tmp/$sub"; then
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "committed $root/model_configs or $root/gaps differ from a fresh run;" \
    "regenerate with: $0 $mbuild $root --update" >&2
fi
exit "$status"
