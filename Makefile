# make demo    set everything up, then run examples/sniff.py on a savefile and on lo
# make test    set everything up, then run the whole test suite, the libpcap version matrix
#              and the other platforms' branches (make platforms)
# make matrix  the module against libpcap 1.8.1, 1.9.1, 1.10.1 and 1.10.6 (tools/libpcap_matrix.py)
# make platforms  the portable build simulated on Linux, with its tests, and the Windows
#              branches of the C files compiled with mingw-w64 (tools/simulate_platform.py)
# make wheel   a self-contained wheel in dist/, libpcap 1.10.6 linked in (tools/build_wheel.py)
# make bench   the side-by-side benchmark (bench/README.md)
# make docs    the Sphinx site, warnings as errors
# make fuzz    each libFuzzer harness of the C savefile readers for FUZZ_SECONDS (300) in turn (tests/fuzzing.py)
#
# Set-up, done once and again whenever a source changes: libpcap-dev (and
# tcpdump, ip, setpriv, cc, pkg-config, flex, bison, cmake, readelf, clang and
# libFuzzer, Wireshark's editcap (pcapng copies of test and bench files),
# mergecap and tshark (the pcapng files the module reads as Wireshark does,
# checked against tshark), used by tests, the fuzzer, the version matrix,
# the wheel and the bench; libcrypt-dev for the rpcapd that tests/test_remote.py
# builds, passwd for its throwaway user; gcc-mingw-w64 and libbsd-dev for
# the Windows and funopen() syntax checks) from apt-get when missing (noninteractive:
# tshark's question about capturing as non-root takes its default), a virtual
# environment in .venv, the module built and installed into it (editable)
# with its test dependencies, and its type stubs where type checkers look.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOURCES := pyproject.toml setup.py pcap.pyx pcap.pyi $(filter-out pcap.c,$(wildcard *.c)) $(wildcard *.h *.pxd *.pxi)
APT_PACKAGES := libpcap-dev tcpdump iproute2 util-linux gcc pkg-config flex bison cmake binutils clang libfuzzer-14-dev libclang-rt-14-dev wireshark-common tshark tcpreplay libcrypt-dev passwd gcc-mingw-w64 libbsd-dev

FUZZ_SECONDS ?= 300

.PHONY: demo test matrix platforms wheel bench docs fuzz setup system-packages clean

setup: $(STAMP)

system-packages:
	@if [ ! -f /usr/include/pcap/pcap.h ] || ! command -v tcpdump >/dev/null \
	    || ! command -v ip >/dev/null || ! command -v setpriv >/dev/null || ! command -v cc >/dev/null \
	    || ! command -v pkg-config >/dev/null || ! command -v flex >/dev/null || ! command -v bison >/dev/null \
	    || ! command -v cmake >/dev/null || ! command -v readelf >/dev/null || ! command -v clang >/dev/null \
	    || ! command -v editcap >/dev/null || ! command -v mergecap >/dev/null || ! command -v tshark >/dev/null \
	    || ! command -v tcpreplay >/dev/null || [ ! -f /usr/include/crypt.h ] \
	    || ! command -v useradd >/dev/null || ! command -v chpasswd >/dev/null \
	    || ! command -v x86_64-w64-mingw32-gcc >/dev/null || [ ! -f /usr/include/bsd/stdio.h ] \
	    || [ -z "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a 2>/dev/null)" ]; then \
	    if [ "$$(id -u)" != 0 ]; then \
	        echo "missing system packages: run 'apt-get install $(APT_PACKAGES)' as root" >&2; exit 1; \
	    fi; \
	    echo "make: installing system packages: $(APT_PACKAGES)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q $(APT_PACKAGES) >/dev/null 2>&1 \
	    || { apt-get update -q >/dev/null && apt-get install -y -q $(APT_PACKAGES) >/dev/null; }; \
	fi

$(STAMP): $(SOURCES) | system-packages
	@test -x $(VPY) || { echo "make: creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install -q --upgrade pip
	@echo "make: building the module and installing it with its test dependencies into $(VENV) (about a minute)"
	$(VPY) -m pip install -q -e '.[test]'
	@# An editable install leaves the stubs out of site-packages: link them in,
	@# so that mypy and pyright run with this venv see pcap's types.
	$(VPY) -c "import os, sysconfig; d = os.path.join(sysconfig.get_paths()['purelib'], 'pcap-stubs'); \
	    os.makedirs(d, exist_ok=True); f = os.path.join(d, '__init__.pyi'); \
	    os.path.lexists(f) and os.remove(f); os.symlink(os.path.abspath('pcap.pyi'), f)"
	touch $@

demo: $(STAMP)
	$(VPY) examples/sniff.py --list
	$(VPY) examples/sniff.py -r examples/sample.pcap
	$(VPY) examples/sniff.py -i lo -c 6 --timeout 10 --send-test-traffic 'udp port 50007'

test: $(STAMP)
	@echo "make: running the test suite"
	$(VPY) -m pytest
	@echo "make: the version matrix (builds 4 libpcaps the first time: a few minutes)"
	$(VPY) tools/libpcap_matrix.py
	@echo "make: the portable build simulated on Linux, and the Windows C branches with mingw-w64 (about 2 minutes)"
	$(VPY) tools/simulate_platform.py

matrix: $(STAMP)
	$(VPY) tools/libpcap_matrix.py

platforms: $(STAMP)
	$(VPY) tools/simulate_platform.py

wheel: $(STAMP)
	$(VPY) tools/build_wheel.py

bench: $(STAMP)
	$(VPY) bench/run.py

fuzz: $(STAMP)
	$(VPY) tests/fuzzing.py --seconds $(FUZZ_SECONDS)

docs: $(STAMP)
	$(VPY) -m pip install -q -r docs/requirements.txt
	$(VPY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build dist *.egg-info pcap.c pcap*.so docs/_build bench/.work .fuzz
