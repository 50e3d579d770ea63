#!/bin/sh
# cibuildwheel's before-all on Linux and macOS (pyproject.toml): the libpcap
# 1.10.6 that the wheel links in, built by tools/build_wheel.py's own code
# (--libpcap-only), as `make wheel` builds it here: static, position-
# independent, remote capture without OpenSSL, the other optional parts off,
# checked against its SHA256SUMS line.  The release tarball comes from
# ../shared/libpcap/ where it is, else from the libpcap-1.10.6 tag's git
# archive (the same bytes).  /tmp/libpcap-static/{include,libpcap.a} then
# point at the result, for PCAP_CFLAGS and PCAP_LIBS (LIBPCAP_STATIC names
# another folder than /tmp/libpcap-static, for tests).
set -eu
VERSION=1.10.6
SHA256=9c1a1b697e6bf6f100b93795aad5418e92281d0603433a3612bd72c2cc5ba958
project=$(cd "$(dirname "$0")/.." && pwd)
tarballs=$(dirname "$project")/shared/libpcap
# flex and bison for libpcap's grammar, cmake where the image lacks it, and
# crypt.h for rpcapd (libxcrypt-devel on manylinux_2_28).  Homebrew's bison
# is keg-only: put it before macOS's bison 2.3.
if command -v yum >/dev/null; then
    yum install -y flex bison
    yum install -y libxcrypt-devel || true
    command -v cmake >/dev/null || yum install -y cmake
fi
if command -v apk >/dev/null; then apk add flex bison cmake; fi
if command -v brew >/dev/null; then
    brew install flex bison
    PATH="$(brew --prefix bison)/bin:$(brew --prefix flex)/bin:$PATH"
    export PATH
fi
if [ ! -f "$tarballs/libpcap-$VERSION.tar.gz" ]; then
    mkdir -p "$tarballs"
    curl -fsSLo "$tarballs/libpcap-$VERSION.tar.gz" \
        "https://github.com/the-tcpdump-group/libpcap/archive/refs/tags/libpcap-$VERSION.tar.gz"
fi
grep -qs "  libpcap-$VERSION.tar.gz" "$tarballs/SHA256SUMS" || echo "$SHA256  libpcap-$VERSION.tar.gz" >> "$tarballs/SHA256SUMS"
python=$(command -v python3 || command -v python)
out=$("$python" "$project/tools/build_wheel.py" --libpcap-only)
static=${LIBPCAP_STATIC:-/tmp/libpcap-static}
mkdir -p "$static"
ln -sfn "$(echo "$out" | tail -n 2 | head -n 1)" "$static/include"
ln -sfn "$(echo "$out" | tail -n 1)" "$static/libpcap.a"
