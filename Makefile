# make demo   set everything up, then run examples/sniff.py on a savefile and on lo
# make test   set everything up, then run the whole test suite
# make bench  the side-by-side benchmark (bench/README.md)
# make docs   the Sphinx site, warnings as errors
#
# Set-up, done once and again whenever a source changes: libpcap-dev (and
# tcpdump, ip, setpriv and cc, used by tests and the bench) from apt-get when
# missing, a virtual environment in .venv, the module built and installed
# into it with its test dependencies.

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOURCES := pyproject.toml setup.py pcap.pyx $(wildcard *.pxi) pcap_ex.c pcap_ex.h pcap_stream.c pcap_stream.h libpcap.pxd pcap.pyi

.PHONY: demo test bench docs setup system-packages clean

setup: $(STAMP)

system-packages:
	@if [ ! -f /usr/include/pcap/pcap.h ] || ! command -v tcpdump >/dev/null \
	    || ! command -v ip >/dev/null || ! command -v setpriv >/dev/null || ! command -v cc >/dev/null; then \
	    if [ "$$(id -u)" != 0 ]; then \
	        echo "missing system packages: run 'apt-get install libpcap-dev tcpdump iproute2 util-linux gcc' as root" >&2; exit 1; \
	    fi; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q libpcap-dev tcpdump iproute2 util-linux gcc >/dev/null 2>&1 \
	    || { apt-get update -q >/dev/null && apt-get install -y -q libpcap-dev tcpdump iproute2 util-linux gcc >/dev/null; }; \
	fi

$(STAMP): $(SOURCES) | system-packages
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(VPY) examples/sniff.py --list
	$(VPY) examples/sniff.py -r examples/sample.pcap
	$(VPY) examples/sniff.py -i lo -c 6 --timeout 10 --send-test-traffic 'udp port 50007'

test: $(STAMP)
	$(VPY) -m pytest

bench: $(STAMP)
	$(VPY) bench/run.py

docs: $(STAMP)
	$(VPY) -m pip install -q -r docs/requirements.txt
	$(VPY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info pcap.c pcap*.so docs/_build bench/.work
