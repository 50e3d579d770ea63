#!/bin/sh
# cibuildwheel's before-all (pyproject.toml): a static, position-independent
# libpcap 1.10.6 in /tmp/libpcap-static, optional features off, for the wheel
# to link in.  Runs inside the manylinux/musllinux images and on macOS; not
# on this project's own machine, where tools/build_wheel.py does the same
# from ../shared/libpcap/.
set -eu
VERSION=1.10.6
SHA256=9c1a1b697e6bf6f100b93795aad5418e92281d0603433a3612bd72c2cc5ba958
if command -v yum >/dev/null; then yum install -y flex bison; fi
if command -v apk >/dev/null; then apk add flex bison; fi
if command -v brew >/dev/null; then brew install flex bison; fi
cd /tmp
# The git archive of the release tag, as in ../shared/libpcap/SHA256SUMS.
curl -fsSLo libpcap.tar.gz "https://github.com/the-tcpdump-group/libpcap/archive/refs/tags/libpcap-$VERSION.tar.gz"
echo "$SHA256  libpcap.tar.gz" | shasum -a 256 -c - 2>/dev/null || echo "$SHA256  libpcap.tar.gz" | sha256sum -c -
mkdir -p libpcap-src
tar xzf libpcap.tar.gz -C libpcap-src --strip-components=1
cmake -S libpcap-src -B libpcap-build -DCMAKE_INSTALL_PREFIX=/tmp/libpcap-static \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release \
    -DDISABLE_DBUS=ON -DDISABLE_RDMA=ON -DDISABLE_BLUETOOTH=ON -DBUILD_WITH_LIBNL=OFF \
    -DDISABLE_LINUX_USBMON=ON -DDISABLE_NETMAP=ON -DDISABLE_DPDK=ON -DENABLE_REMOTE=OFF
cmake --build libpcap-build -j2
cmake --install libpcap-build
