"""lookupnet() on every device findalldevs() lists (issue 19): nflog,
nfqueue, dbus-system and dbus-session used to raise "SIOCGIFADDR: ...: No
such device" although findalldevs() had just named them."""
import errno
import ipaddress
import socket

import pytest

import pcap

ZERO = (b"\0\0\0\0", b"\0\0\0\0")
INTERFACES = {name for _, name in socket.if_nameindex()}
DEVICES = pcap.interfaces()


def ipv4_networks(dev):
    return {ipaddress.ip_network(f"{a.addr}/{a.netmask}", strict=False)
            for a in dev.addresses if a.family == socket.AF_INET}


@pytest.mark.parametrize("dev", DEVICES, ids=lambda d: d.name)
def test_lookupnet_answers_for_every_listed_device(dev):
    if dev.name not in INTERFACES:
        # any, nflog, dbus-system...: libpcap's devices that are no network
        # interface have no address to look up.
        assert pcap.lookupnet(dev.name) == ZERO
        assert pcap.lookupnet(dev.name.encode()) == ZERO
    elif ipv4_networks(dev):
        net, mask = pcap.lookupnet(dev.name)
        assert ipaddress.ip_network(f"{socket.inet_ntoa(net)}/{socket.inet_ntoa(mask)}") in ipv4_networks(dev)
    else:
        with pytest.raises(pcap.PcapError, match=rf"^lookupnet '{dev.name}': {dev.name}: no IPv4 address assigned$"):
            pcap.lookupnet(dev.name)


def test_the_devices_of_issue_19_are_covered():
    """What this machine lists: the devices that are no interface are among
    them (else the test above proves less than it says)."""
    assert "any" in {d.name for d in DEVICES} - INTERFACES
    assert "lo" in {d.name for d in DEVICES} & INTERFACES


def test_lookupnet_of_no_device_is_not_found():
    with pytest.raises(pcap.PcapNotFoundError, match=r"^lookupnet 'nosuch0': SIOCGIFADDR: nosuch0: No such device$") as e:
        pcap.lookupnet("nosuch0")
    assert e.value.errno == errno.ENODEV
    assert isinstance(e.value, FileNotFoundError)
