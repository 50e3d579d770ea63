"""Type stub of the pcap module (pcap.pyx): libpcap for Python, a drop-in for
pypcap 1.3.

Timestamps are float seconds, or int nanoseconds on a handle or dumper made
with ``timestamp_in_ns=True``: ``pcap`` and ``dumper`` are generic in the
timestamp type, ``float`` unless ``timestamp_in_ns=True`` is given: annotate
a nanosecond handle as ``pcap.pcap[int]``; a bare ``pcap.pcap`` means
``pcap.pcap[float]``.
"""
import os
import socket
from array import array
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from types import GenericAlias
from typing import Any, BinaryIO, ClassVar, Generic, Literal, NamedTuple, Protocol, overload

from typing_extensions import Buffer, Self, TypeVar, TypeVarTuple, Unpack, disjoint_base

_TS = TypeVar("_TS", int, float, default=float)
_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]

class _Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...

# What pcap.pcap() opens: a name, or a binary file object (readinto or read).
_Opens = _Path | _Readable
# Several interfaces in one capture, or several savefiles merged by time stamp.
_Several = list[_Path] | tuple[_Path, ...]
_Filter = str | bytes | bytearray
# A flag (promisc, immediate, nonblock, optimize, append, nano...): True or
# False, or pypcap's 1 and 0 (numpy's bool too).  Anything else raises
# TypeError, another int ValueError, naming the argument.
_Flag = bool | Literal[0, 1]

__version__: str

PCAP_D_INOUT: int
PCAP_D_IN: int
PCAP_D_OUT: int
PCAP_TSTAMP_PRECISION_MICRO: int
PCAP_TSTAMP_PRECISION_NANO: int
PCAP_TSTAMP_HOST: int
PCAP_TSTAMP_HOST_LOWPREC: int
PCAP_TSTAMP_HOST_HIPREC: int
PCAP_TSTAMP_ADAPTER: int
PCAP_TSTAMP_ADAPTER_UNSYNCED: int
PCAP_TSTAMP_HOST_HIPREC_UNSYNCED: int
REMOTE_CAPTURE: bool
BATCH_RECORD_FORMAT: str
BATCH_RECORD_SIZE: int
BATCH_RECORD_DTYPE: list[tuple[str, str]]
BATCH_RECORD_NG_FORMAT: str
BATCH_RECORD_NG_SIZE: int
BATCH_RECORD_NG_DTYPE: list[tuple[str, str]]
# Header fields (next_batch(fields=True), readinto(fields=...), arrow_batches(fields=...)).
FIELDS_SIZE: int
FIELDS_DTYPE: list[tuple[str, str] | tuple[str, str, tuple[int]]]
FIELDS: tuple[str, ...]
FIELD_SETS: dict[str, tuple[str, ...]]
FIELDS_LINKTYPES: tuple[int, ...]
FIELD_ETH: int
FIELD_ETHERTYPE: int
FIELD_VLAN: int
FIELD_VLAN_INNER: int
FIELD_IP: int
FIELD_PROTOCOL: int
FIELD_IP_LEN: int
FIELD_PORTS: int
FIELD_TCP_FLAGS: int
FIELD_ICMP: int
FIELD_PAYLOAD: int
FIELD_COMMUNITY_ID: int
FIELD_FRAGMENT: int
PACKET_INBOUND: int
PACKET_OUTBOUND: int
FANOUT_HASH: int
FANOUT_LB: int
FANOUT_CPU: int
FANOUT_ROLLOVER: int
FANOUT_RND: int
FANOUT_QM: int
FANOUT_FLAG_ROLLOVER: int
FANOUT_FLAG_DEFRAG: int

# Length of the link-layer header of the link types pypcap knew about.
dltoff: dict[int, int]

# Every DLT_* link type of <pcap.h> (generated from dlt.pxi).
DLT_A429: int
DLT_A653_ICM: int
DLT_AIRONET_HEADER: int
DLT_AOS: int
DLT_APPLE_IP_OVER_IEEE1394: int
DLT_ARCNET: int
DLT_ARCNET_LINUX: int
DLT_ATM_CLIP: int
DLT_ATM_RFC1483: int
DLT_ATSC_ALP: int
DLT_AURORA: int
DLT_AX25: int
DLT_AX25_KISS: int
DLT_BACNET_MS_TP: int
DLT_BLUETOOTH_BREDR_BB: int
DLT_BLUETOOTH_HCI_H4: int
DLT_BLUETOOTH_HCI_H4_WITH_PHDR: int
DLT_BLUETOOTH_LE_LL: int
DLT_BLUETOOTH_LE_LL_WITH_PHDR: int
DLT_BLUETOOTH_LINUX_MONITOR: int
DLT_CAN20B: int
DLT_CAN_SOCKETCAN: int
DLT_CHAOS: int
DLT_CHDLC: int
DLT_CISCO_IOS: int
DLT_C_HDLC: int
DLT_C_HDLC_WITH_DIR: int
DLT_DBUS: int
DLT_DECT: int
DLT_DISPLAYPORT_AUX: int
DLT_DOCSIS: int
DLT_DOCSIS31_XRA31: int
DLT_DSA_TAG_BRCM: int
DLT_DSA_TAG_BRCM_PREPEND: int
DLT_DSA_TAG_DSA: int
DLT_DSA_TAG_EDSA: int
DLT_DVB_CI: int
DLT_EBHSCR: int
DLT_ECONET: int
DLT_ELEE: int
DLT_EN10MB: int
DLT_EN3MB: int
DLT_ENC: int
DLT_EPON: int
DLT_ERF: int
DLT_ERF_ETH: int
DLT_ERF_POS: int
DLT_ETHERNET_MPACKET: int
DLT_FC_2: int
DLT_FC_2_WITH_FRAME_DELIMS: int
DLT_FDDI: int
DLT_FLEXRAY: int
DLT_FRELAY: int
DLT_FRELAY_WITH_DIR: int
DLT_GCOM_SERIAL: int
DLT_GCOM_T1E1: int
DLT_GPF_F: int
DLT_GPF_T: int
DLT_GPRS_LLC: int
DLT_GSMTAP_ABIS: int
DLT_GSMTAP_UM: int
DLT_HDLC: int
DLT_HHDLC: int
DLT_IBM_SN: int
DLT_IBM_SP: int
DLT_IEEE802: int
DLT_IEEE802_11: int
DLT_IEEE802_11_RADIO: int
DLT_IEEE802_11_RADIO_AVS: int
DLT_IEEE802_15_4: int
DLT_IEEE802_15_4_LINUX: int
DLT_IEEE802_15_4_NOFCS: int
DLT_IEEE802_15_4_NONASK_PHY: int
DLT_IEEE802_15_4_TAP: int
DLT_IEEE802_15_4_WITHFCS: int
DLT_IEEE802_16_MAC_CPS: int
DLT_IEEE802_16_MAC_CPS_RADIO: int
DLT_INFINIBAND: int
DLT_IPFILTER: int
DLT_IPMB_KONTRON: int
DLT_IPMB_LINUX: int
DLT_IPMI_HPM_2: int
DLT_IPNET: int
DLT_IPOIB: int
DLT_IPV4: int
DLT_IPV6: int
DLT_IP_OVER_FC: int
DLT_ISO_14443: int
DLT_JUNIPER_ATM1: int
DLT_JUNIPER_ATM2: int
DLT_JUNIPER_ATM_CEMIC: int
DLT_JUNIPER_CHDLC: int
DLT_JUNIPER_ES: int
DLT_JUNIPER_ETHER: int
DLT_JUNIPER_FIBRECHANNEL: int
DLT_JUNIPER_FRELAY: int
DLT_JUNIPER_GGSN: int
DLT_JUNIPER_ISM: int
DLT_JUNIPER_MFR: int
DLT_JUNIPER_MLFR: int
DLT_JUNIPER_MLPPP: int
DLT_JUNIPER_MONITOR: int
DLT_JUNIPER_PIC_PEER: int
DLT_JUNIPER_PPP: int
DLT_JUNIPER_PPPOE: int
DLT_JUNIPER_PPPOE_ATM: int
DLT_JUNIPER_SERVICES: int
DLT_JUNIPER_SRX_E2E: int
DLT_JUNIPER_ST: int
DLT_JUNIPER_VP: int
DLT_JUNIPER_VS: int
DLT_LAPB_WITH_DIR: int
DLT_LAPD: int
DLT_LIN: int
DLT_LINUX_EVDEV: int
DLT_LINUX_IRDA: int
DLT_LINUX_LAPD: int
DLT_LINUX_PPP_WITHDIRECTION: int
DLT_LINUX_SLL: int
DLT_LINUX_SLL2: int
DLT_LOOP: int
DLT_LORATAP: int
DLT_LTALK: int
DLT_MFR: int
DLT_MOST: int
DLT_MPEG_2_TS: int
DLT_MPLS: int
DLT_MTP2: int
DLT_MTP2_WITH_PHDR: int
DLT_MTP3: int
DLT_MUX27010: int
DLT_NETANALYZER: int
DLT_NETANALYZER_TRANSPARENT: int
DLT_NETLINK: int
DLT_NFC_LLCP: int
DLT_NFLOG: int
DLT_NG40: int
DLT_NORDIC_BLE: int
DLT_NULL: int
DLT_OPENFLOW: int
DLT_OPENVIZSLA: int
DLT_PCI_EXP: int
DLT_PFLOG: int
DLT_PFSYNC: int
DLT_PKTAP: int
DLT_PPI: int
DLT_PPP: int
DLT_PPP_BSDOS: int
DLT_PPP_ETHER: int
DLT_PPP_PPPD: int
DLT_PPP_SERIAL: int
DLT_PPP_WITH_DIR: int
DLT_PPP_WITH_DIRECTION: int
DLT_PRISM_HEADER: int
DLT_PROFIBUS_DL: int
DLT_PRONET: int
DLT_RAIF1: int
DLT_RAW: int
DLT_RDS: int
DLT_REDBACK_SMARTEDGE: int
DLT_RIO: int
DLT_RTAC_SERIAL: int
DLT_SCCP: int
DLT_SCTP: int
DLT_SDLC: int
DLT_SERCOS_MONITOR: int
DLT_SITA: int
DLT_SLIP: int
DLT_SLIP_BSDOS: int
DLT_STANAG_5066_D_PDU: int
DLT_SUNATM: int
DLT_SYMANTEC_FIREWALL: int
DLT_TI_LLN_SNIFFER: int
DLT_TZSP: int
DLT_USB: int
DLT_USBPCAP: int
DLT_USB_2_0: int
DLT_USB_DARWIN: int
DLT_USB_FREEBSD: int
DLT_USB_LINUX: int
DLT_USB_LINUX_MMAPPED: int
DLT_USER0: int
DLT_USER1: int
DLT_USER10: int
DLT_USER11: int
DLT_USER12: int
DLT_USER13: int
DLT_USER14: int
DLT_USER15: int
DLT_USER2: int
DLT_USER3: int
DLT_USER4: int
DLT_USER5: int
DLT_USER6: int
DLT_USER7: int
DLT_USER8: int
DLT_USER9: int
DLT_VPP_DISPATCH: int
DLT_VSOCK: int
DLT_WATTSTOPPER_DLM: int
DLT_WIHART: int
DLT_WIRESHARK_UPPER_PDU: int
DLT_X2E_SERIAL: int
DLT_X2E_XORAYA: int
DLT_ZWAVE_R1_R2: int
DLT_ZWAVE_R3: int
DLT_Z_WAVE_SERIAL: int

# -- errors -------------------------------------------------------------------

class PcapError(OSError): ...
class PcapPermissionError(PcapError, PermissionError): ...
class PcapNotFoundError(PcapError, FileNotFoundError): ...
class PcapIsADirectoryError(PcapError, IsADirectoryError): ...

# -- module functions ---------------------------------------------------------

def findalldevs(source: _Path | None = None, *,
                auth: tuple[str | bytes, str | bytes] | None = None) -> list[str]: ...
def lookupdev() -> str: ...
def remote_accept(address: _Path = "0.0.0.0", port: int = 2003, *, hosts: list[_Path] | None = None,
                  auth: tuple[str | bytes, str | bytes] | None = None) -> str: ...
def remote_close(host: _Path) -> None: ...
def lookupnet(dev: _Path) -> tuple[bytes, bytes]: ...
def ex_name(name: _T) -> _T: ...
def datalink_name(dlt: int) -> str: ...
def datalink_description(dlt: int) -> str: ...
def datalink_value(name: str) -> int: ...
def lib_version() -> str: ...
def tstamp_types(device: _Path) -> list[TstampType]: ...
def __dir__() -> list[str]: ...
def interfaces(source: _Path | None = None, *,
               auth: tuple[str | bytes, str | bytes] | None = None) -> list[interface]: ...

# -- interfaces ---------------------------------------------------------------

class address:
    # socket.AddressFamily; a plain int only for a family Python does not know
    family: socket.AddressFamily | int
    addr: str | None
    netmask: str | None
    broadaddr: str | None
    dstaddr: str | None
    def __init__(
        self,
        family: socket.AddressFamily | int,
        addr: str | None,
        netmask: str | None = None,
        broadaddr: str | None = None,
        dstaddr: str | None = None,
    ) -> None: ...

class interface:
    name: str
    description: str | None
    addresses: list[address]
    is_up: bool
    is_running: bool
    is_loopback: bool
    is_wireless: bool
    def __init__(self, name: str, description: str | None, addresses: list[address], flags: int) -> None: ...

class interface_description:
    index: int
    section: int
    linktype: int
    snaplen: int
    tsresol: int
    tsoffset: int
    name: str | None
    description: str | None
    filter: str | None
    os: str | None
    hardware: str | None
    fcslen: int | None
    speed: int | None
    comments: list[str]
    statistics: dict[str, int] | None
    def __init__(
        self,
        index: int,
        linktype: int,
        snaplen: int,
        section: int = 0,
        tsresol: int = 1000000,
        tsoffset: int = 0,
        name: str | None = None,
        description: str | None = None,
        filter: str | None = None,
        os: str | None = None,
        hardware: str | None = None,
        fcslen: int | None = None,
        speed: int | None = None,
        comments: Iterable[str] = (),
        statistics: dict[str, int] | None = None,
    ) -> None: ...
    @property
    def linktype_name(self) -> str | None: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: None  # type: ignore[assignment]

# -- BPF ----------------------------------------------------------------------

@disjoint_base
class bpf:
    def __init__(self, expr: _Filter, dlt: int = ..., snaplen: int = 65535, optimize: _Flag = True) -> None: ...
    @property
    def expr(self) -> str: ...
    @property
    def dlt(self) -> int: ...
    @property
    def snaplen(self) -> int: ...
    def filter(self, buf: Buffer) -> bool: ...
    def __len__(self) -> int: ...
    def dump(self) -> list[str]: ...

# -- triage -------------------------------------------------------------------

_Action = Literal["keep", "drop"]
_Match = Literal["src", "dst", "either"]
_Address = str | IPv4Address | IPv6Address
_Prefix = str | IPv4Address | IPv6Address | IPv4Network | IPv6Network

@disjoint_base
class Triage:
    def __init__(
        self,
        prefixes: Iterable[_Prefix | tuple[_Prefix, _Action]] | Mapping[_Prefix, _Action] | None = None,
        *,
        prefix_action: _Action = "keep",
        prefix_match: _Match = "either",
        prefix_default: _Action | None = None,
        ports: Iterable[int] | None = None,
        port_action: _Action = "keep",
        port_match: _Match = "either",
        flow_head_packets: int | None = None,
        flow_head_bytes: int | None = None,
        flow_bidirectional: _Flag = True,
        flow_table_size: int = 1048576,
        non_ip: _Action | None = None,
    ) -> None: ...
    def lookup(self, address: _Address) -> _Action | None: ...
    @property
    def kept(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def prefixes(self) -> tuple[int, int]: ...
    def stats(self) -> dict[str, int]: ...
    def reset(self) -> None: ...

# -- capture ------------------------------------------------------------------

class Stats(NamedTuple):
    received: int
    dropped: int
    ifdropped: int

class TstampType(NamedTuple):
    value: int
    name: str
    description: str

@disjoint_base
class pcap(Generic[_TS]):
    @overload
    def __init__(
        self: pcap[float],
        name: _Opens | _Several | None = None,
        snaplen: int = 65535,
        promisc: _Flag = True,
        timeout_ms: int = 0,
        immediate: _Flag = False,
        rfmon: _Flag = False,
        timestamp_in_ns: Literal[False, 0] = False,
        buffer_size: int = 0,
        *,
        tstamp_type: str | int | None = None,
        protocol: int | None = None,
        batch_stats: _Flag = False,
        auth: tuple[str | bytes, str | bytes] | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self: pcap[int],
        name: _Opens | _Several | None = None,
        snaplen: int = 65535,
        promisc: _Flag = True,
        timeout_ms: int = 0,
        immediate: _Flag = False,
        rfmon: _Flag = False,
        *,
        timestamp_in_ns: Literal[True, 1],
        buffer_size: int = 0,
        tstamp_type: str | int | None = None,
        protocol: int | None = None,
        batch_stats: _Flag = False,
        auth: tuple[str | bytes, str | bytes] | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self: pcap[float],
        name: _Opens | _Several | None = None,
        snaplen: int = 65535,
        promisc: _Flag = True,
        timeout_ms: int = 0,
        immediate: _Flag = False,
        rfmon: _Flag = False,
        timestamp_in_ns: _Flag = False,
        buffer_size: int = 0,
        *,
        tstamp_type: str | int | None = None,
        protocol: int | None = None,
        batch_stats: _Flag = False,
        auth: tuple[str | bytes, str | bytes] | None = None,
    ) -> None: ...
    # reading
    def __iter__(self) -> Self: ...
    @classmethod
    def __class_getitem__(cls, item: object) -> GenericAlias: ...
    def __next__(self) -> tuple[_TS, bytes]: ...
    def __aiter__(self) -> AsyncIterator[tuple[_TS, bytes]]: ...
    @overload
    def dispatch(self, cnt: int, callback: None = None) -> int: ...
    @overload
    def dispatch(self, cnt: int, callback: dumper[Any]) -> int: ...
    @overload
    def dispatch(self, cnt: int, callback: Callable[[_TS, bytes, Unpack[_Ts]], object], *args: Unpack[_Ts]) -> int: ...
    @overload
    def loop(self, cnt: int, callback: None = None) -> int: ...
    @overload
    def loop(self, cnt: int, callback: dumper[Any]) -> int: ...
    @overload
    def loop(self, cnt: int, callback: Callable[[_TS, bytes, Unpack[_Ts]], object], *args: Unpack[_Ts]) -> int: ...
    def readpkts(self, cnt: int = -1) -> list[tuple[_TS, bytes]]: ...
    @overload
    def readbatch(
        self, cnt: int = 1024, *, wirelens: Literal[False, 0] = False, interfaces: Literal[False, 0] = False
    ) -> tuple[array[_TS], list[bytes]]: ...
    @overload
    def readbatch(
        self, cnt: int = 1024, *, wirelens: Literal[True, 1], interfaces: Literal[False, 0] = False
    ) -> tuple[array[_TS], list[bytes], array[int]]: ...
    @overload
    def readbatch(
        self, cnt: int = 1024, *, wirelens: Literal[False, 0] = False, interfaces: Literal[True, 1]
    ) -> tuple[array[_TS], list[bytes], array[int]]: ...
    @overload
    def readbatch(
        self, cnt: int = 1024, *, wirelens: Literal[True, 1], interfaces: Literal[True, 1]
    ) -> tuple[array[_TS], list[bytes], array[int], array[int]]: ...
    def readinto(
        self,
        records: Buffer,
        data: Buffer | None,
        cnt: int = -1,
        *,
        interfaces: _Flag = False,
        comments: Buffer | None = None,
        fields: Buffer | None = None,
        community_id_seed: int | None = None,
    ) -> int: ...
    @overload
    def next_batch(
        self,
        cnt: int = 1024,
        max_bytes: int = 1048576,
        *,
        interfaces: Literal[False, 0] = False,
        fields: Literal[False, 0] = False,
        data: _Flag = True,
        community_id_seed: None = None,
    ) -> tuple[bytearray, bytearray]: ...
    @overload
    def next_batch(
        self,
        cnt: int = 1024,
        max_bytes: int = 1048576,
        *,
        interfaces: Literal[True, 1],
        fields: Literal[False, 0] = False,
        data: _Flag = True,
        community_id_seed: None = None,
    ) -> tuple[bytearray, bytearray, bytearray]: ...
    @overload
    def next_batch(
        self,
        cnt: int = 1024,
        max_bytes: int = 1048576,
        *,
        interfaces: Literal[False, 0] = False,
        fields: Literal[True, 1],
        data: _Flag = True,
        community_id_seed: int | None = None,
    ) -> tuple[bytearray, bytearray, bytearray]: ...
    @overload
    def next_batch(
        self,
        cnt: int = 1024,
        max_bytes: int = 1048576,
        *,
        interfaces: Literal[True, 1],
        fields: Literal[True, 1],
        data: _Flag = True,
        community_id_seed: int | None = None,
    ) -> tuple[bytearray, bytearray, bytearray, bytearray]: ...
    def arrow_batches(
        self,
        cnt: int = 65536,
        max_bytes: int = 67108864,
        *,
        fields: str | Iterable[str] | None = None,
        data: _Flag = True,
        addresses: Literal["binary", "text"] = "binary",
        community_id_seed: int = 0,
    ) -> Iterator[Any]: ...
    def to_arrow(
        self,
        cnt: int = 65536,
        *,
        fields: str | Iterable[str] | None = None,
        data: _Flag = True,
        addresses: Literal["binary", "text"] = "binary",
        community_id_seed: int = 0,
    ) -> Any: ...
    def breakloop(self) -> None: ...
    # settings
    @property
    def name(self) -> str: ...
    @property
    def snaplen(self) -> int: ...
    @property
    def dloff(self) -> int: ...
    @property
    def filter(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def fd(self) -> int: ...
    @property
    def precision(self) -> int: ...
    @property
    def tstamp_type(self) -> str | None: ...
    @property
    def batch_stats(self) -> Stats | None: ...
    @property
    def timestamp_in_ns(self) -> bool: ...
    @property
    def timeout_ms(self) -> int: ...
    @property
    def wirelen(self) -> int: ...
    @property
    def interfaces(self) -> list[interface_description]: ...
    @property
    def interface_id(self) -> int: ...
    @property
    def packet_comments(self) -> list[str]: ...
    @property
    def packet_flags(self) -> int | None: ...
    @property
    def packet_dropcount(self) -> int | None: ...
    @property
    def packet_id(self) -> int | None: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc_info: object) -> Literal[False]: ...
    def setfilter(self, expr: _Filter, optimize: _Flag = True) -> None: ...
    def set_triage(self, triage: Triage | None) -> None: ...
    @property
    def triage(self) -> Triage | None: ...
    def setdirection(self, direction: int) -> bool: ...
    def setnonblock(self, nonblock: _Flag = True) -> None: ...
    def getnonblock(self) -> bool: ...
    def datalink(self) -> int: ...
    def datalinks(self) -> list[int]: ...
    def setdatalink(self, dlt: int) -> None: ...
    def sendpacket(self, buf: Buffer) -> int: ...
    def inject(self, buf: Buffer) -> int: ...
    def geterr(self) -> str: ...
    def stats(self, interface: int | None = None) -> Stats: ...
    def set_fanout(self, group: int, mode: int = 0, flags: int = 0) -> None: ...
    def dump_open(
        self,
        path: _Path | BinaryIO,
        append: _Flag = False,
        *,
        format: _Format | None = None,
        compress: _Compress = None,
        comment: _Comments | None = None,
        hardware: str | None = None,
        os: str | None = None,
        application: str | None = None,
    ) -> dumper[_TS]: ...

# -- writing savefiles --------------------------------------------------------

_Comments = str | Iterable[str]
_Format = Literal["pcap", "pcapng"]
_Compress = Literal["gzip", "zstd", False] | None

@disjoint_base
class dumper(Generic[_TS]):
    @overload
    def __init__(
        self: dumper[float],
        path: _Path | BinaryIO,
        dlt: int = ...,
        snaplen: int = 65535,
        nano: _Flag | None = None,
        append: _Flag = False,
        timestamp_in_ns: Literal[False, 0] = False,
        *,
        format: _Format | None = None,
        compress: _Compress = None,
        interfaces: Sequence[interface_description] | None = None,
        comment: _Comments | None = None,
        hardware: str | None = None,
        os: str | None = None,
        application: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self: dumper[int],
        path: _Path | BinaryIO,
        dlt: int = ...,
        snaplen: int = 65535,
        nano: _Flag | None = None,
        append: _Flag = False,
        *,
        timestamp_in_ns: Literal[True, 1],
        format: _Format | None = None,
        compress: _Compress = None,
        interfaces: Sequence[interface_description] | None = None,
        comment: _Comments | None = None,
        hardware: str | None = None,
        os: str | None = None,
        application: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self: dumper[float],
        path: _Path | BinaryIO,
        dlt: int = ...,
        snaplen: int = 65535,
        nano: _Flag | None = None,
        append: _Flag = False,
        timestamp_in_ns: _Flag = False,
        *,
        format: _Format | None = None,
        compress: _Compress = None,
        interfaces: Sequence[interface_description] | None = None,
        comment: _Comments | None = None,
        hardware: str | None = None,
        os: str | None = None,
        application: str | None = None,
    ) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def format(self) -> _Format: ...
    @property
    def snaplen(self) -> int: ...
    @property
    def dlt(self) -> int: ...
    @property
    def nano(self) -> bool: ...
    @property
    def timestamp_in_ns(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    @property
    def interfaces(self) -> list[interface_description]: ...
    @property
    def bytes_written(self) -> int: ...
    def write(
        self,
        ts: _TS,
        buf: Buffer,
        wirelen: int | None = None,
        *,
        interface: int = 0,
        comments: _Comments | None = None,
        flags: int | None = None,
        dropcount: int | None = None,
        packet_id: int | None = None,
    ) -> None: ...
    def add_interface(
        self,
        linktype: int | interface_description,
        snaplen: int = 65535,
        *,
        name: str | None = None,
        description: str | None = None,
        filter: str | None = None,
        os: str | None = None,
        hardware: str | None = None,
        fcslen: int | None = None,
        speed: int | None = None,
        comments: Iterable[str] = (),
    ) -> int: ...
    def write_statistics(
        self,
        interface: int | None = None,
        *,
        received: int | None = None,
        dropped_by_interface: int | None = None,
        accepted_by_filter: int | None = None,
        dropped_by_os: int | None = None,
        delivered: int | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> None: ...
    def write_batch(
        self, records: Buffer, data: Buffer, comments: Buffer | None = None, *, count: int | None = None,
        interfaces: _Flag | None = None
    ) -> int: ...
    def write_table(self, table: Any) -> int: ...
    @classmethod
    def __class_getitem__(cls, item: object) -> GenericAlias: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc_info: object) -> Literal[False]: ...

# -- savefiles at scale ----------------------------------------------------------

def to_parquet(
    source: _Opens | pcap[Any],
    where: _Path | Any,
    cnt: int = 65536,
    *,
    fields: str | Iterable[str] | None = None,
    data: _Flag = True,
    addresses: Literal["binary", "text"] = "binary",
    community_id_seed: int = 0,
    **options: Any,
) -> int: ...
def community_id(
    src: str | bytes | IPv4Address | IPv6Address,
    dst: str | bytes | IPv4Address | IPv6Address,
    protocol: int,
    src_port: int | None = None,
    dst_port: int | None = None,
    seed: int = 0,
) -> str: ...
def savefile_ranges(path: _Path, n: int) -> list[tuple[int, int]]: ...
@overload
def open_range(path: _Path, start: int, end: int, *, timestamp_in_ns: Literal[True, 1], **options: Any) -> pcap[int]: ...
@overload
def open_range(path: _Path, start: int, end: int, **options: Any) -> pcap[float]: ...

# -- replay and recording --------------------------------------------------------

_Stopped = Literal["end", "duration", "closed", "breakloop"]

class Replayed:
    packets: int
    bytes: int
    failures: int
    oversized: int
    retries: int
    error: str | None
    seconds: float
    max_late: float
    stopped: _Stopped
    def __init__(
        self,
        packets: int = 0,
        bytes: int = 0,
        failures: int = 0,
        oversized: int = 0,
        retries: int = 0,
        error: str | None = None,
        seconds: float = 0.0,
        max_late: float = 0.0,
        stopped: _Stopped = "end",
    ) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

_ReplaySource = (
    _Path | pcap[Any] | tuple[Buffer, Buffer] | tuple[Buffer, Buffer, Buffer] | Any
)

def replay(
    source: _ReplaySource,
    device: _Path | pcap[Any],
    *,
    speed: float | None = None,
    rate: float | None = None,
    topspeed: _Flag = False,
    loop: int = 1,
    duration: float | None = None,
) -> Replayed: ...
def record(
    source: _Path | pcap[Any],
    pattern: _Path,
    *,
    rotate_seconds: float | None = None,
    rotate_bytes: int | None = None,
    rotate_packets: int | None = None,
    keep: int | None = None,
    format: _Format | None = None,
    compress: Literal["gzip", "zstd", False] | None = None,
    count: int | None = None,
    duration: float | None = None,
    filter: _Filter | None = None,
    flush_seconds: float = 1.0,
    on_file: Callable[[str], object] | None = None,
) -> list[str]: ...
