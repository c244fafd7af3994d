#!/usr/bin/env bash
# `make dist`: the release artifacts, each built in the userland it is for (Debian roots made by
# scripts/userland.sh), checked, and packed:
#   target/dist/php8.2/think_queue_native.so      PHP 8.2 NTS (Debian 12: this machine), against its php-dev
#   target/dist/php8.4/think_queue_native.so      PHP 8.4 NTS (Debian 13 root), against its php-dev
#   target/dist/ffi/libthink_queue_native_ffi.so  any PHP >= 7.4 through ext-ffi; built in the Debian 11
#                                                 root so that it runs on glibc 2.31 and newer
#   target/dist/php_think_queue_native-<version>_php8.2-x86_64-linux-glibc.zip   (PIE's pre-packaged
#   target/dist/php_think_queue_native-<version>_php8.4-x86_64-linux-glibc.zip    binary names)
#   target/dist/think-queue-native-ffi-<version>-x86_64-linux-glibc.zip   the library, its C header,
#                                                 php/ (connector, FFI backend, doctor) side by side
#   target/dist/SHA256SUMS
# Checks: each extension loads into its own PHP (built against that PHP's headers); the FFI library
# references no PHP/Zend symbol and needs no GLIBC_ symbol version above 2.31.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

root=$PWD
out=$root/target/dist
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | sed -n 1p)
arch=$(uname -m)
glibc_floor=2.31

die() { echo "dist: $*" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/php8.2" "$out/php8.4" "$out/ffi"

# the highest GLIBC_x.y a shared object needs
glibc_needed() {
  local syms
  syms=$(objdump -T "$1")
  printf '%s\n' "$syms" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1
}

echo "== PHP 8.2 extension (this machine, Debian 12)"
so=$(PHP_CONFIG=/usr/bin/php-config8.2 scripts/build-ext.sh)
cp "$so" "$out/php8.2/think_queue_native.so"
strip --strip-debug "$out/php8.2/think_queue_native.so"
php8.2 -n -d "extension=$out/php8.2/think_queue_native.so" -r 'exit(extension_loaded("think_queue_native") ? 0 : 1);' \
  || die "the PHP 8.2 build does not load into PHP 8.2"

echo "== PHP 8.4 extension (Debian 13 root)"
scripts/userland.sh ensure trixie
scripts/userland.sh run trixie -- env CARGO_TARGET_DIR="$root/target/userland/trixie" scripts/build-ext.sh >/dev/null
cp target/userland/trixie/release/libthink_queue_native.so "$out/php8.4/think_queue_native.so"
strip --strip-debug "$out/php8.4/think_queue_native.so"
scripts/userland.sh run trixie -- php -n -d "extension=$out/php8.4/think_queue_native.so" \
  -r 'exit(extension_loaded("think_queue_native") && PHP_MINOR_VERSION === 4 ? 0 : 1);' \
  || die "the PHP 8.4 build does not load into Debian 13's PHP 8.4"

echo "== FFI library (Debian 11 root: glibc $glibc_floor)"
scripts/userland.sh ensure bullseye
scripts/userland.sh run bullseye -- env CARGO_TARGET_DIR="$root/target/userland/bullseye" \
  cargo build --release --quiet -p think-queue-native-ffi
cp target/userland/bullseye/release/libthink_queue_native_ffi.so "$out/ffi/libthink_queue_native_ffi.so"
strip --strip-debug "$out/ffi/libthink_queue_native_ffi.so"
cp ffi/think_queue_native_ffi.h "$out/ffi/"
undefined=$(nm -D --undefined-only "$out/ffi/libthink_queue_native_ffi.so")
if [[ $undefined =~ (zend|php_|_emalloc|executor_globals) ]]; then
  die "the FFI library references PHP symbols: ${BASH_REMATCH[0]}"
fi
needed=$(glibc_needed "$out/ffi/libthink_queue_native_ffi.so")
[ "$(printf '%s\n%s\n' "$needed" "$glibc_floor" | sort -V | tail -n 1)" = "$glibc_floor" ] \
  || die "the FFI library needs GLIBC_$needed, above the floor $glibc_floor"
echo "   highest GLIBC_ symbol version needed: $needed (floor $glibc_floor)"

echo "== archives"
stage=$(mktemp -d "${TMPDIR:-/tmp}/tqn-dist.XXXXXX")
trap 'rm -rf "$stage"' EXIT
for php in 8.2 8.4; do
  zip_name="php_think_queue_native-${version}_php${php}-${arch}-linux-glibc.zip"
  python3 - "$out/$zip_name" "$out/php$php/think_queue_native.so" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[2], "think_queue_native.so")
PY
done
pkg="$stage/think-queue-native-ffi-$version"
mkdir -p "$pkg/ffi" "$pkg/php"
cp "$out/ffi/libthink_queue_native_ffi.so" "$out/ffi/think_queue_native_ffi.h" "$pkg/ffi/"
cp -r php/src php/autoload.php php/doctor.php php/README.md "$pkg/php/"
cp composer.json "$pkg/"
python3 - "$out/think-queue-native-ffi-${version}-${arch}-linux-glibc.zip" "$stage" "think-queue-native-ffi-$version" <<'PY'
import os, sys, zipfile
dest, base, top = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for d, _, files in sorted(os.walk(os.path.join(base, top))):
        for f in sorted(files):
            path = os.path.join(d, f)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, base))
            with open(path, "rb") as src:
                z.writestr(info, src.read(), zipfile.ZIP_DEFLATED)
PY
(cd "$out" && sha256sum ./*.zip php8.2/think_queue_native.so php8.4/think_queue_native.so ffi/libthink_queue_native_ffi.so > SHA256SUMS)

echo "== target/dist"
(cd "$out" && ls -l ./*.zip php8.2/think_queue_native.so php8.4/think_queue_native.so ffi/libthink_queue_native_ffi.so && cat SHA256SUMS)
