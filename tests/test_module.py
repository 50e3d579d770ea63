"""Module-level functions and constants: findalldevs, lookupdev, lookupnet,
ex_name, bpf, the DLT_* / PCAP_* constants, dltoff, __version__, and the
type of every exception message."""
import os
import random
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

import pcap
from support import need, udp_frame, write_pcap

ROOT = Path(__file__).resolve().parent.parent

IFF_UP = 0x1
IFF_LOOPBACK = 0x8


def sys_flags(name):
    with open(f"/sys/class/net/{name}/flags") as f:
        return int(f.read(), 16)


# --------------------------------------------------------------------------
# Devices.

def test_findalldevs_lists_str_names_with_lo():
    devs = pcap.findalldevs()
    assert type(devs) is list
    assert devs, "no capture device at all"
    assert all(type(d) is str for d in devs), devs
    assert "lo" in devs
    assert len(set(devs)) == len(devs)
    # every network interface of this namespace that is up is listed (libpcap
    # before 1.9 leaves out those that are down)
    assert {name for _, name in socket.if_nameindex() if sys_flags(name) & IFF_UP} <= set(devs)


def test_lookupdev_is_the_first_up_non_loopback_interface():
    candidates = [d for d in pcap.interfaces() if d.is_up and not d.is_loopback]
    need(candidates, "no interface apart from loopback is up")
    dev = pcap.lookupdev()
    assert type(dev) is str
    assert dev == candidates[0].name
    assert dev in pcap.findalldevs()
    assert dev != "lo"
    if os.path.exists(f"/sys/class/net/{dev}"):
        flags = sys_flags(dev)
        assert flags & IFF_UP, f"{dev} is not up"
        assert not flags & IFF_LOOPBACK, f"{dev} is a loopback interface"


def test_lookupdev_order_follows_findalldevs():
    names = pcap.findalldevs()
    up = {d.name for d in pcap.interfaces() if d.is_up and not d.is_loopback}
    need(up, "no interface apart from loopback is up")
    assert pcap.lookupdev() == next(n for n in names if n in up)


@pytest.mark.parametrize("dev", ["lo", b"lo"])
def test_lookupnet_lo(dev):
    net, mask = pcap.lookupnet(dev)
    assert type(net) is bytes and type(mask) is bytes
    assert (net, mask) == (socket.inet_aton("127.0.0.0"), socket.inet_aton("255.0.0.0"))
    assert socket.inet_ntoa(net) == "127.0.0.0"


def test_lookupnet_missing_device():
    with pytest.raises(OSError, match="nosuchdev7q") as info:
        pcap.lookupnet("nosuchdev7q")
    msg = info.value.args[0]
    assert type(msg) is str
    assert "No such device" in msg      # libpcap's (strerror) words
    with pytest.raises(OSError, match="nosuchdev7q"):
        pcap.lookupnet(b"nosuchdev7q")


@pytest.fixture
def link_without_ipv4():
    """A veth pair made here, with no address: a device lookupnet must refuse."""
    need(os.geteuid() == 0, "creating an interface needs root")
    need(shutil.which("ip"), "the ip command (iproute2) is missing")
    name = f"pcm{os.getpid() % 100000:05d}{random.randrange(256):02x}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True, capture_output=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=True, capture_output=True, timeout=10)


def test_lookupnet_device_without_ipv4_address(link_without_ipv4):
    for dev in (link_without_ipv4, link_without_ipv4.encode()):
        with pytest.raises(OSError, match="no IPv4 address assigned") as info:
            pcap.lookupnet(dev)
        assert type(info.value.args[0]) is str
        assert link_without_ipv4 in info.value.args[0]


def test_ex_name_returns_the_name_unchanged():
    for name in ("eth0", "lo", "any", "some-device"):
        out = pcap.ex_name(name)
        assert out == name
        assert type(out) is str


# --------------------------------------------------------------------------
# bpf.

FRAME_5678 = udp_frame(b"hello bpf", dport=5678)
FRAME_9999 = udp_frame(b"hello bpf", dport=9999)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "memoryview-slice"])
def test_bpf_filter_on_bytes_like(kind):
    def wrap(frame):
        if kind == "bytes":
            return bytes(frame)
        if kind == "bytearray":
            return bytearray(frame)
        if kind == "memoryview":
            return memoryview(frame)
        return memoryview(b"\xee" * 7 + frame + b"\xdd" * 5)[7:7 + len(frame)]

    b = pcap.bpf("udp dst port 5678", pcap.DLT_EN10MB)
    assert b.filter(wrap(FRAME_5678)) is True
    assert b.filter(wrap(FRAME_9999)) is False


def test_bpf_memoryview_slice_length_counts():
    # A slice of a longer buffer: only the slice's bytes count.
    b = pcap.bpf("len <= 60", pcap.DLT_EN10MB)
    big = FRAME_5678 + b"\0" * 100
    assert len(FRAME_5678) <= 60
    assert b.filter(memoryview(big)[:len(FRAME_5678)]) is True
    assert b.filter(memoryview(big)) is False
    assert b.filter(bytearray(big)) is False


def test_bpf_default_dlt_is_raw():
    b = pcap.bpf("udp and dst port 5678")
    ip_5678 = FRAME_5678[14:]
    assert b.filter(ip_5678) is True
    assert b.filter(FRAME_9999[14:]) is False
    # the same bytes with the Ethernet header do not parse as raw IP
    assert b.filter(FRAME_5678) is False


def test_bpf_expression_as_bytes():
    b = pcap.bpf(b"udp port 9999", pcap.DLT_EN10MB)
    assert b.filter(FRAME_9999) is True
    assert b.filter(FRAME_5678) is False


def test_bpf_host_and_length_filters():
    frame = udp_frame(b"x" * 30, src="192.168.7.1", dst="192.168.7.2")
    assert pcap.bpf("src host 192.168.7.1", pcap.DLT_EN10MB).filter(frame) is True
    assert pcap.bpf("src host 192.168.7.2", pcap.DLT_EN10MB).filter(frame) is False
    assert pcap.bpf(f"len = {len(frame)}", pcap.DLT_EN10MB).filter(frame) is True
    assert pcap.bpf("tcp", pcap.DLT_EN10MB).filter(frame) is False
    assert pcap.bpf("", pcap.DLT_EN10MB).filter(frame) is True


@pytest.mark.parametrize("expr, words", [
    ("port 99999", "illegal port number 99999 > 65535"),
    ("udp port and and", "syntax error"),
    ("host nosuchhost.invalid.", "unknown host"),
])
def test_bpf_bad_expression(expr, words):
    with pytest.raises(OSError, match=re.escape(words)) as info:
        pcap.bpf(expr, pcap.DLT_EN10MB)
    assert type(info.value.args[0]) is str


def test_bpf_bad_expression_bytes():
    with pytest.raises(OSError, match="syntax error") as info:
        pcap.bpf(b"ip and or", pcap.DLT_EN10MB)
    assert type(info.value.args[0]) is str


def test_bpf_expression_wrong_for_link_type():
    # 'ether' primitives make no sense on raw IP; libpcap says so.
    with pytest.raises(OSError, match="ethernet addresses supported only on") as info:
        pcap.bpf("ether host 02:00:00:00:00:01", pcap.DLT_RAW)
    assert type(info.value.args[0]) is str


# --------------------------------------------------------------------------
# Constants against libpcap's headers.

PYPCAP_DLTS = ["DLT_NULL", "DLT_EN10MB", "DLT_EN3MB", "DLT_AX25", "DLT_PRONET", "DLT_CHAOS",
               "DLT_IEEE802", "DLT_ARCNET", "DLT_SLIP", "DLT_PPP", "DLT_FDDI", "DLT_LINUX_SLL",
               "DLT_PFLOG", "DLT_PFSYNC", "DLT_LOOP", "DLT_RAW"]
MORE_DLTS = ["DLT_IEEE802_11", "DLT_IEEE802_11_RADIO", "DLT_LINUX_SLL2", "DLT_USER0",
             "DLT_IPV4", "DLT_IPV6", "DLT_NFLOG", "DLT_ATM_RFC1483", "DLT_PPP_ETHER"]
OTHER_CONSTANTS = ["PCAP_D_INOUT", "PCAP_D_IN", "PCAP_D_OUT",
                   "PCAP_TSTAMP_PRECISION_MICRO", "PCAP_TSTAMP_PRECISION_NANO"]


def header_constants(directory, guarded=(), plain=()):
    """{name: value} of constants as <pcap.h> (with PCAP_CFLAGS) defines
    them, from a tiny C program compiled in ``directory``: the ``guarded``
    names only where the header defines them (macros), the ``plain`` ones
    always (enum members)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    need(cc, "no C compiler to read <pcap.h> with")
    src = directory / "values.c"
    src.write_text("#include <stdio.h>\n#include <pcap.h>\nint main(void) {\n"
                   + "".join(f'#ifdef {n}\n    printf("{n} %d\\n", (int)({n}));\n#endif\n' for n in guarded)
                   + "".join(f'    printf("{n} %d\\n", (int)({n}));\n' for n in plain)
                   + "    return 0;\n}\n")
    exe = directory / "values"
    subprocess.run([cc, *os.environ.get("PCAP_CFLAGS", "").split(), "-o", str(exe), str(src)],
                   check=True, capture_output=True, timeout=60)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=10).stdout
    return {name: int(value) for name, value in (line.split() for line in out.splitlines())}


@pytest.fixture(scope="module")
def header_values(tmp_path_factory):
    return header_constants(tmp_path_factory.mktemp("hdr"), PYPCAP_DLTS + MORE_DLTS, OTHER_CONSTANTS)


def test_dlt_names_are_those_of_the_header_built_against(tmp_path):
    """Every DLT_* of libpcap 1.8.1 to 1.10.6 that this build's <pcap.h>
    defines is exported with its value, and no other."""
    known = re.findall(r'\{"(DLT_[A-Z0-9_]+)"', (ROOT / "dlt_names.h").read_text())
    assert len(known) > 200
    exported = {n: getattr(pcap, n) for n in dir(pcap) if n.startswith("DLT_")}
    assert exported == header_constants(tmp_path, known)


@pytest.mark.parametrize("name", PYPCAP_DLTS + MORE_DLTS + OTHER_CONSTANTS)
def test_constant_equals_header(header_values, name):
    if name not in header_values:      # a name this libpcap's header does not define
        assert not hasattr(pcap, name)
        return
    assert hasattr(pcap, name), f"pcap.{name} is missing"
    value = getattr(pcap, name)
    assert type(value) is int
    assert value == header_values[name]


def test_dlt_values_agree_with_libpcap_names():
    # the names that libpcap's own name table knows
    names = ["DLT_NULL", "DLT_EN10MB", "DLT_IEEE802", "DLT_ARCNET", "DLT_SLIP", "DLT_PPP",
             "DLT_FDDI", "DLT_LINUX_SLL", "DLT_PFLOG", "DLT_PFSYNC", "DLT_LOOP", "DLT_RAW",
             "DLT_IEEE802_11", "DLT_IEEE802_11_RADIO", "DLT_LINUX_SLL2", "DLT_IPV4", "DLT_NFLOG"]
    for name in names:
        if hasattr(pcap, name) or name != "DLT_LINUX_SLL2":   # libpcap 1.9 added SLL2
            assert getattr(pcap, name) == pcap.datalink_value(name), name


def test_linux_platform_values():
    # Values that differ between platforms in <pcap/dlt.h>: these are Linux's.
    assert pcap.DLT_RAW == 12
    assert pcap.DLT_LOOP == 108
    assert pcap.DLT_PFSYNC == 246
    assert pcap.DLT_EN10MB == 1
    assert pcap.DLT_LINUX_SLL == 113


def test_direction_and_precision_values():
    assert (pcap.PCAP_D_INOUT, pcap.PCAP_D_IN, pcap.PCAP_D_OUT) == (0, 1, 2)
    assert (pcap.PCAP_TSTAMP_PRECISION_MICRO, pcap.PCAP_TSTAMP_PRECISION_NANO) == (0, 1)


def test_dltoff():
    expected = {pcap.DLT_NULL: 4, pcap.DLT_EN10MB: 14, pcap.DLT_IEEE802: 22, pcap.DLT_ARCNET: 6,
                pcap.DLT_SLIP: 16, pcap.DLT_PPP: 4, pcap.DLT_FDDI: 21, pcap.DLT_PFLOG: 48,
                pcap.DLT_PFSYNC: 4, 18: 4, pcap.DLT_LOOP: 4, pcap.DLT_RAW: 0, pcap.DLT_LINUX_SLL: 16}
    assert type(pcap.dltoff) is dict
    assert pcap.dltoff == expected


def test_version():
    assert type(pcap.__version__) is str
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", pcap.__version__), pcap.__version__


# --------------------------------------------------------------------------
# Every exception message is str.

def _errors(tmp_path):
    savefile = write_pcap(tmp_path / "s.pcap", [(1, 0, udp_frame(b"x"))])
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00" * 64)
    yield "lookupnet", lambda: pcap.lookupnet("nosuchdev7q")
    yield "bpf", lambda: pcap.bpf("port 99999")
    yield "missing file", lambda: pcap.pcap(str(tmp_path / "missing.pcap"))
    yield "junk file", lambda: pcap.pcap(str(junk))
    yield "missing device", lambda: pcap.pcap("nosuchdev7q")
    yield "setfilter", lambda: pcap.pcap(str(savefile)).setfilter("tcp and and")
    yield "stats on savefile", lambda: pcap.pcap(str(savefile)).stats()
    yield "sendpacket on savefile", lambda: pcap.pcap(str(savefile)).sendpacket(b"\0" * 60)


def test_every_error_is_oserror_with_str_message(tmp_path):
    for what, call in _errors(tmp_path):
        with pytest.raises(OSError, match=r"\w") as info:
            call()
        msg = info.value.args[0]
        assert type(msg) is str, f"{what}: message {msg!r} is {type(msg).__name__}"
        assert "b'" not in msg and 'b"' not in msg, f"{what}: message shows bytes: {msg!r}"
        assert type(str(info.value)) is str and str(info.value).strip(), what


def test_missing_device_names_it():
    with pytest.raises(OSError, match="nosuchdev7q") as info:
        pcap.pcap("nosuchdev7q")
    assert type(info.value.args[0]) is str
