#!/usr/bin/env bash
# The product as an outside user gets it (a suite of scripts/test):
#   1. configure + build build-pkg/ (prefix /usr, no tests), install it into
#      a temp prefix with `cmake --install --prefix`
#   2. libsio.so exports only sio_* / eio_* names, and every function the
#      public headers declare
#   3. every installed public header compiles alone, as C and as C++, with
#      -Wall -Wextra -Werror
#   4. examples/ built against the prefix: pkg-config (Makefile), CMake
#      (find_package(sio CONFIG)), C++, and a static link from
#      `pkg-config --static`; the minimal chat answers two socket.io-clients
#   5. the installed sio-server, run from an unrelated directory, serves the
#      demo page and the client bundle; its --help lists no test-only app;
#      Chromium connects to the installed page (test/install/browser.test.mjs)
#   6. the .debs (CPack): contents and control fields, extracted into a temp
#      root and run from there (/healthz, the page, the bundle); the systemd
#      unit passes systemd-analyze verify (when systemd-analyze exists)
# Exits non-zero on the first failure, saying which check failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
BUILD=${SIO_PKG_BUILD_DIR:-build-pkg}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sio-install-test.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
PREFIX=$WORK/prefix

step() { printf '\n--- %s\n' "$*"; }
fail() {
  printf 'test-install: FAILED: %s\n' "$*" >&2
  exit 1
}

# free_port: a free TCP port on 127.0.0.1.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL: until URL answers (any status), 15 s at most.
wait_http() {
  local i
  for i in $(seq 1 300); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.05
  done
  return 1
}

# expect_status URL CODE
expect_status() {
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1")
  [[ "$got" == "$2" ]] || fail "GET $1: $got, expected $2"
  echo "GET $1 -> $got"
}

# serve_and_check BIN LABEL [ENV...]: runs BIN --app chat from an empty
# directory and checks what a browser needs.
serve_and_check() {
  local bin=$1 label=$2 port dir log
  shift 2
  port=$(free_port)
  dir=$(mktemp -d "$WORK/cwd.XXXXXX")
  log=$WORK/$label.log
  (cd "$dir" && exec env "$@" "$bin" --app chat --host 127.0.0.1 --port "$port") >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz" || { cat "$log"; fail "$label did not answer"; }
  expect_status "http://127.0.0.1:$port/healthz" 200
  expect_status "http://127.0.0.1:$port/" 200
  expect_status "http://127.0.0.1:$port/socket.io/socket.io.min.js" 200
  grep -q 'socket.io/socket.io.min.js' <<<"$(curl -s "http://127.0.0.1:$port/")" || fail "$label: / is not the demo page"
  expect_status "http://127.0.0.1:$port/admin/" 404 # the admin UI is off without --admin-auth
  if grep -q WARN "$log"; then cat "$log"; fail "$label warned at start"; fi
  kill -TERM "$pid"
  wait "$pid" || { cat "$log"; fail "$label did not exit cleanly"; }
  # With --admin-auth: the admin UI's front-end from the installed copy.
  (cd "$dir" && exec env "$@" "$bin" --app chat --host 127.0.0.1 --port "$port" --admin-auth none) >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz" || { cat "$log"; fail "$label (admin) did not answer"; }
  expect_status "http://127.0.0.1:$port/admin/" 200
  grep -q 'Socket.IO Admin UI' <<<"$(curl -s "http://127.0.0.1:$port/admin/")" || fail "$label: /admin/ is not the admin UI"
  js=$(grep -o 'js/app\.[0-9a-f]*\.js' <<<"$(curl -s "http://127.0.0.1:$port/admin/")" | head -1)
  expect_status "http://127.0.0.1:$port/admin/$js" 200
  if grep -q WARN "$log"; then cat "$log"; fail "$label (admin) warned at start"; fi
  kill -TERM "$pid"
  wait "$pid" || { cat "$log"; fail "$label did not exit cleanly"; }
}

step "build $BUILD/ and install into a temp prefix"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DSIO_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS" >/dev/null
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
LIBDIR=$(dirname "$(find "$PREFIX" -name 'libsio.so' | head -1)")
[[ -d "$LIBDIR" ]] || fail "no libsio.so installed"
for f in bin/sio-server include/sio/sio.h include/sio/version.h share/sio-server/js-client/index.html \
  share/sio-server/client/socket.io.min.js share/sio-server/admin-ui/index.html include/sio/admin.h; do
  [[ -e "$PREFIX/$f" ]] || fail "$f not installed"
done
for f in libsio.so libsio.a pkgconfig/libsio.pc cmake/sio/sioConfig.cmake cmake/sio/sioConfigVersion.cmake; do
  [[ -e "$LIBDIR/$f" ]] || fail "lib/$f not installed"
done
# Only the public headers: no internal one reachable as <sio/...>.
extra=$(comm -13 <(cd include/sio && ls *.h | sort) <(cd "$PREFIX/include/sio" && ls | grep -vx version.h | sort))
[[ -z "$extra" ]] || fail "headers installed that are not include/sio/*.h: $extra"
echo "installed into $PREFIX (libraries in ${LIBDIR#"$PREFIX"/})"

step "add_subdirectory() and FetchContent of the checkout"
for how in add_subdirectory FetchContent; do
  outer=$WORK/outer-$how
  mkdir -p "$outer"
  if [[ $how == add_subdirectory ]]; then
    use="add_subdirectory(\"$ROOT\" sio)"
  else
    use="include(FetchContent)
FetchContent_Declare(sio SOURCE_DIR \"$ROOT\")
FetchContent_MakeAvailable(sio)"
  fi
  cat >"$outer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(outer C)
$use
add_executable(outer "$ROOT/examples/chat.c")
target_compile_options(outer PRIVATE -Wno-unused-parameter)
target_link_libraries(outer PRIVATE sio::sio)
CMAKE
  cmake -S "$outer" -B "$outer/build" >/dev/null || fail "$how: configure failed"
  cmake --build "$outer/build" -j"$JOBS" --target outer >/dev/null || fail "$how: build failed"
  [[ -z $(find "$outer/build" -type f \( -name 'sio-test-server' -o -name 'test_*' \)) ]] || fail "$how: the tests were built too"
  "$outer/build/outer" 0 >"$WORK/outer.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 200); do grep -q listening "$WORK/outer.log" && break; sleep 0.05; done
  kill -TERM "$pid"
  wait "$pid" || fail "$how: the program did not run"
  echo "$how: sio::sio linked and ran ($(head -1 "$WORK/outer.log"))"
done

step "libsio.so exports the public API and nothing else"
nm -D --defined-only "$LIBDIR/libsio.so" | awk '{print $3}' | sort -u >"$WORK/exported"
others=$(grep -vE '^(sio|eio)_' "$WORK/exported" || true)
[[ -z "$others" ]] || fail "libsio.so exports other names: $others"
# Every function the headers declare (static inline ones excepted).
cat "$PREFIX"/include/sio/*.h | grep -v 'static inline' | grep -oE '^[a-z].*\b(sio|eio)_[a-z0-9_]+\(' |
  grep -oE '\b(sio|eio)_[a-z0-9_]+\($' | tr -d '(' | sort -u >"$WORK/declared"
missing=$(comm -23 "$WORK/declared" "$WORK/exported")
[[ -z "$missing" ]] || fail "declared in the headers but not exported: $missing"
echo "$(wc -l <"$WORK/exported") symbols, all sio_*/eio_*; $(wc -l <"$WORK/declared") declared functions all exported"
readelf -d "$LIBDIR/libsio.so" | grep -q "SONAME.*libsio.so.0" || fail "no SONAME libsio.so.0"
# libsio.a too: its internals are local, so they cannot collide with a
# program's own names (a program with its own http_server_new links).
nm --defined-only -g "$LIBDIR/libsio.a" | awk 'NF == 3 {print $3}' | sort -u >"$WORK/archived"
others=$(grep -vE '^(sio|eio)_' "$WORK/archived" || true)
[[ -z "$others" ]] || fail "libsio.a has other global names: $others"
cat >"$WORK/collide.c" <<'C'
#include <sio/eio.h>
#include <sio/version.h>
#include <stdio.h>
/* Names libsio has inside; sio_http_new pulls in the code that defines them. */
int http_server_new(void) { return 7; }
int smap_get(void) { return 8; }
int main(void) {
    sio_http_options o;
    sio_http_options_init(&o);
    sio_http *(*volatile make)(sio_loop *, const sio_http_options *, int *) = sio_http_new;
    printf("%s %d %d %d\n", sio_version(), http_server_new(), smap_get(), make != NULL);
    return 0;
}
C
# shellcheck disable=SC2046
cc -Wall -Werror $(pkg-config --cflags libsio 2>/dev/null || echo "-I$PREFIX/include") "$WORK/collide.c" -o "$WORK/collide" \
  "$LIBDIR/libsio.a" $(PKG_CONFIG_PATH=$LIBDIR/pkgconfig pkg-config --static --libs-only-l libsio | sed 's/-lsio //') ||
  fail "a program with its own http_server_new does not link with libsio.a"
"$WORK/collide" >/dev/null || fail "the collision test program did not run"
echo "libsio.a: $(wc -l <"$WORK/archived") global names, all sio_*/eio_*; a program's own http_server_new links"

export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
step "each public header compiles alone (C and C++, -Wall -Wextra -Werror)"
for h in "$PREFIX"/include/sio/*.h; do
  name=sio/$(basename "$h")
  # shellcheck disable=SC2046
  echo "#include <$name>" | cc -x c -std=c11 -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags libsio) - ||
    fail "$name does not compile alone as C"
  # shellcheck disable=SC2046
  echo "#include <$name>" | c++ -x c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags libsio) - ||
    fail "$name does not compile alone as C++"
done
echo "$(ls "$PREFIX"/include/sio/*.h | wc -l) headers"

step "examples against the prefix: pkg-config, find_package, C++, static"
cp -R examples "$WORK/examples"
make -s -C "$WORK/examples" >/dev/null || fail "make (pkg-config) failed"
cmake -S "$WORK/examples" -B "$WORK/examples-cmake" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null || fail "find_package(sio CONFIG) failed"
cmake --build "$WORK/examples-cmake" -j"$JOBS" >/dev/null || fail "examples (CMake) did not build"
# Static: libsio.a, everything else from pkg-config --static (Libs.private, Requires.private).
# shellcheck disable=SC2046
cc -Wall -Wextra -Wno-unused-parameter -Werror $(pkg-config --cflags libsio) "$WORK/examples/chat.c" -o "$WORK/chat_pc_static" \
  $(pkg-config --static --libs libsio | sed 's/-lsio /-l:libsio.a /') || fail "static link with pkg-config --static failed"
for b in "$WORK/examples/chat" "$WORK/examples/chat_cpp" "$WORK/examples-cmake/chat"; do
  # (ldd's output in a variable: grep -q closing the pipe early fails under pipefail)
  deps=$(ldd "$b")
  grep -q "libsio.so.0 => $LIBDIR" <<<"$deps" || fail "$b does not use the installed libsio.so: $deps"
done
for b in "$WORK/chat_pc_static" "$WORK/examples-cmake/chat_static"; do
  deps=$(ldd "$b")
  if grep -q libsio <<<"$deps"; then fail "$b links libsio.so, not libsio.a"; fi
done
echo "pkg-config: chat chat_redis chat_cpp; CMake: chat chat_redis chat_cpp chat_static; pkg-config --static: chat"

step "the example chat server answers socket.io-client"
for b in "$WORK/examples/chat" "$WORK/examples-cmake/chat_cpp" "$WORK/chat_pc_static"; do
  port=$(free_port)
  "$b" "$port" >"$WORK/example.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling&sid=probe" || { cat "$WORK/example.log"; fail "$b did not listen"; }
  node test/install/client.mjs "http://127.0.0.1:$port" ||
    fail "$b: socket.io-client check failed"
  kill -TERM "$pid"
  wait "$pid" || fail "$b did not exit cleanly"
  grep -q "libsio 0.4" "$WORK/example.log" || fail "$b: sio_version() not printed"
done

step "the installed sio-server from an unrelated directory"
"$PREFIX/bin/sio-server" --help >"$WORK/help.txt"
if grep -qE '^\s+(testkit|clusterkit)\b' "$WORK/help.txt"; then fail "--help lists a test-only app"; fi
for app in chat bench conformance eio-echo; do grep -qE "^\s+$app\b" "$WORK/help.txt" || fail "--help lacks $app"; done
echo "--help: apps $(sed -n '/^apps:/,$p' "$WORK/help.txt" | awk 'NR>1{print $1}' | tr '\n' ' ')"
serve_and_check "$PREFIX/bin/sio-server" installed

step "Chromium on the installed page"
SIO_INSTALL_PREFIX=$PREFIX timeout --kill-after=10 180 node --test --test-concurrency=1 test/install/browser.test.mjs ||
  fail "browser test on the installed server"

step "Debian packages (CPack)"
rm -f "$BUILD"/*.deb
(cd "$BUILD" && cpack -G DEB >/dev/null) || fail "cpack failed"
server_deb=$(ls "$BUILD"/sio-server_*.deb)
dev_deb=$(ls "$BUILD"/libsio-dev_*.deb)
dpkg-deb -c "$server_deb" | awk '{print $6}' >"$WORK/server.list"
dpkg-deb -c "$dev_deb" | awk '{print $6}' >"$WORK/dev.list"
for f in ./usr/bin/sio-server ./usr/share/sio-server/js-client/index.html ./usr/share/sio-server/client/socket.io.min.js \
  ./usr/share/sio-server/admin-ui/index.html \
  ./etc/default/sio-server ./usr/lib/systemd/system/sio-server.service; do
  grep -qx "$f" "$WORK/server.list" || fail "sio-server.deb lacks $f"
done
grep -qE '/libsio\.so\.0\.[0-9.]+$' "$WORK/server.list" || fail "sio-server.deb lacks libsio.so.0.*"
if grep -qE 'include/|\.a$|pkgconfig|cmake/|libsio\.so$' "$WORK/server.list"; then fail "sio-server.deb holds development files"; fi
for f in ./usr/include/sio/sio.h ./usr/include/sio/version.h; do grep -qx "$f" "$WORK/dev.list" || fail "libsio-dev.deb lacks $f"; done
for f in 'libsio\.so' 'libsio\.a' 'pkgconfig/libsio\.pc' 'cmake/sio/sioConfig\.cmake'; do
  grep -qE "/$f$" "$WORK/dev.list" || fail "libsio-dev.deb lacks $f"
done
if grep -qE 'bin/|share/sio-server' "$WORK/dev.list"; then fail "libsio-dev.deb holds runtime files"; fi
dpkg-deb -I "$server_deb" >"$WORK/server.info"
for dep in libmicrohttpd12 libhiredis libcjson1 libssl3 libwslay1; do
  grep -E '^ Depends:' "$WORK/server.info" | grep -q "$dep" || fail "sio-server.deb Depends lacks $dep: $(grep Depends "$WORK/server.info")"
done
conffiles=$(dpkg-deb --ctrl-tarfile "$server_deb" | tar -xO ./conffiles)
grep -qx '/etc/default/sio-server' <<<"$conffiles" || fail "/etc/default/sio-server is not a conffile: $conffiles"
dpkg-deb -I "$dev_deb" >"$WORK/dev.info"
grep -E '^ Depends:' "$WORK/dev.info" | grep -q 'sio-server (= ' || fail "libsio-dev.deb does not depend on sio-server"
grep -E '^ (Package|Version|Depends):' "$WORK/server.info"
grep -E '^ (Package|Depends):' "$WORK/dev.info"

DEBROOT=$WORK/debroot
dpkg-deb -x "$server_deb" "$DEBROOT"
dpkg-deb -x "$dev_deb" "$DEBROOT"
serve_and_check "$DEBROOT/usr/bin/sio-server" deb LD_LIBRARY_PATH="$(dirname "$(find "$DEBROOT" -name 'libsio.so.0' | head -1)")"
# The -dev package's pkg-config file points into its own root.
grep -q "$DEBROOT" <<<"$(PKG_CONFIG_PATH=$(dirname "$(find "$DEBROOT" -name libsio.pc)") pkg-config --cflags libsio)" ||
  fail "libsio.pc from the .deb is not relocatable"

if command -v systemd-analyze >/dev/null; then
  # The packaged unit, with ExecStart pointing at the extracted binary (this
  # host has no /usr/bin/sio-server): every other line is checked as shipped.
  mkdir -p "$WORK/unit"
  sed "s|^ExecStart=/usr/bin/sio-server|ExecStart=$DEBROOT/usr/bin/sio-server|" \
    "$DEBROOT/usr/lib/systemd/system/sio-server.service" >"$WORK/unit/sio-server.service"
  grep -q "^ExecStart=$DEBROOT/usr/bin/sio-server" "$WORK/unit/sio-server.service" || fail "the unit's ExecStart is not /usr/bin/sio-server"
  verify_rc=0
  systemd-analyze verify --man=no "$WORK/unit/sio-server.service" >"$WORK/verify.log" 2>&1 || verify_rc=$?
  cat "$WORK/verify.log"
  if ((verify_rc)) || grep -q 'sio-server.service' "$WORK/verify.log"; then fail "systemd-analyze verify complains about the unit"; fi
  echo "systemd-analyze verify: no complaint about sio-server.service"
else
  echo "systemd-analyze not found: the unit is not verified"
fi

echo
echo "test-install: all checks passed"
