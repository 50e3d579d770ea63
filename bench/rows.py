"""What the bench measures (bench/README.md): one Reader per table row (a
function of readers.py or a mode of the C baseline, the file it reads, the
row's label) and the live captures on lo."""
import gen
import triage_tasks


class Reader:
    """One reader or idiom: ``key`` names its function in readers.py (or the
    mode of the C baseline), ``impl`` the interpreter it runs with, ``file``
    what it reads: 'small' or 'large' (the classic files of gen.py), or
    'small.FMT', the copy of the small file in gen.FORMATS[FMT]."""

    def __init__(self, key, label, impl, file="small", filtered=False, rate=True, out=None, memory=False, task=None,
                 fields=None):
        self.key, self.label, self.impl = key, label, impl
        self.fields = fields        # a fields reader: the sums of gen.field_sums() it must report
        self.file = file
        self.filtered = filtered    # reads with gen.FILTER
        self.task = task            # a triage task of triage_tasks.py: must keep what it keeps
        self.rate = rate            # False: import only, no packets
        self.out = out              # a writer: the suffix of the file it writes (FILE's packets)
        self.memory = memory        # a writer of packets read into memory before its clock starts

    @property
    def id(self):
        return f"{self.file}:{self.key}"

    @property
    def c_mode(self):
        """The baseline's mode, for a reader of the C baseline."""
        return "next_ex" if self.key == "next_ex_filter" else self.key


SMALL_READERS = [
    Reader("next_ex", "C: `pcap_next_ex` loop", "c"),
    Reader("empty", "C: `pcap_dispatch` + empty callback", "c"),
    Reader("ours_iter", "ours: `for ts, buf in p`", "ours"),
    Reader("ours_iter_ns", "ours: `for ts, buf in p`, `timestamp_in_ns=True`", "ours"),
    Reader("ours_dispatch", "ours: `dispatch(-1, cb)`", "ours"),
    Reader("ours_loop", "ours: `loop(0, cb)`", "ours"),
    Reader("ours_readpkts", "ours: `readpkts()`", "ours"),
    Reader("ours_batch", "ours: `readpkts(1024)` until `[]`", "ours"),
    Reader("ours_readbatch", "ours: `readbatch(1024)` until empty, `sum(map(len, bufs))`", "ours"),
    Reader("ours_next_batch", "ours: `next_batch(1024)` until empty, `len(data)`", "ours"),
    Reader("ours_next_batch_np", "ours: `next_batch(4096)` + numpy view, caplen summed", "ours"),
    Reader("ours_readinto_np", "ours: `readinto(records, data)` into the same buffers + numpy view", "ours"),
    Reader("ours_per_second_np", "ours: bytes per second, `next_batch` + `numpy.bincount`", "ours"),
    Reader("ours_per_second_iter", "ours: bytes per second, `for ts, buf in p` + `p.wirelen`", "ours"),
    Reader("ours_count", "ours: `dispatch(-1)`, no callback (counts in C)", "ours"),
    Reader("next_ex_filter", f"C: `pcap_next_ex` loop, BPF `{gen.FILTER}`", "c", filtered=True),
    Reader("ours_filter_count", f"ours: `setfilter('{gen.FILTER}')` + `dispatch(-1)`", "ours",
           filtered=True),
    Reader("pypcap_iter", "pypcap: `for ts, buf in p`", "pypcap"),
    Reader("pypcap_dispatch", "pypcap: `dispatch(-1, cb)`", "pypcap"),
    Reader("pypcap_loop", "pypcap: `loop(0, cb)`", "pypcap"),
    Reader("pypcap_readpkts", "pypcap: `readpkts()`", "pypcap"),
    Reader("pcapy_dispatch", "pcapy-ng: `dispatch(-1, cb)`", "pcapy-ng"),
    Reader("pcapy_loop", "pcapy-ng: `loop(0, cb)`", "pcapy-ng"),
    Reader("pcapy_next_batch", "pcapy-ng: `next_batch(1024)` + unpacking", "pcapy-ng"),
    Reader("pcapy_next_batch_np", "pcapy-ng: `next_batch(4096)` + numpy view, caplen summed", "pcapy-ng"),
    Reader("pcapy_loop_to_buffer", "pcapy-ng: `loop_to_buffer(4096, buf)` into the same buffer", "pcapy-ng"),
    Reader("pcapy_next", "pcapy-ng: `next()`", "pcapy-ng"),
    Reader("libpcap_iter", "python-libpcap: `for n, t, buf in rpcap(path)`", "python-libpcap"),
    Reader("pcapct_iter", "pcap-ct: `for ts, buf in p`", "pcap-ct"),
    Reader("scapy_raw", "scapy: `RawPcapReader`", "scapy"),
    Reader("dpkt_reader", "dpkt: `pcap.Reader`", "dpkt"),
    Reader("ours_to_arrow", "ours: `p.to_arrow()`: the file as an Arrow table", "ours"),
    Reader("scapy_to_arrow", "scapy: `RawPcapReader`, the same columns into an Arrow table", "scapy"),
    Reader("dpkt_to_arrow", "dpkt: `pcap.Reader`, the same columns into an Arrow table", "dpkt"),
    Reader("ours_import", "ours: `import pcap` only", "ours", rate=False),
    Reader("pypcap_import", "pypcap: `import pcap` only", "pypcap", rate=False),
]

# The same packets as the small file, in the other formats the module reads
# (pcapng has a table of its own, below) and through every other way in:
# each row names its file and way in.
FORMAT_READERS = [
    Reader("ours_pipe_iter", "ours: `for ts, buf in p`, the file through a pipe (`cat file |`)", "ours"),
    Reader("ours_fileobj", "ours: `for ts, buf in pcap.pcap(open(file, 'rb'))`, a file object", "ours"),
    Reader("ours_ranges", "ours: `savefile_ranges(file, 2)`, `for ts, buf in open_range(...)` of each", "ours"),
    Reader("ours_async", "ours: `async for ts, buf in p`", "ours"),
    Reader("next_ex", "C: `pcap_next_ex` loop, nanosecond pcap", "c", file="small.ns"),
    Reader("ours_iter", "ours: `for ts, buf in p`, nanosecond pcap", "ours", file="small.ns"),
    Reader("ours_iter_ns", "ours: `for ts, buf in p`, nanosecond pcap, `timestamp_in_ns=True`", "ours",
           file="small.ns"),
    Reader("next_ex", "C: `pcap_next_ex` loop, big-endian pcap", "c", file="small.be"),
    Reader("ours_iter", "ours: `for ts, buf in p`, big-endian pcap", "ours", file="small.be"),
    Reader("next_ex", "C: `pcap_next_ex` loop, modified pcap format", "c", file="small.modpcap"),
    Reader("ours_iter", "ours: `for ts, buf in p`, modified pcap format", "ours", file="small.modpcap"),
    Reader("ours_iter", "ours: `for ts, buf in p` of the gzip-compressed file (`file.pcap.gz`)", "ours",
           file="small.gz"),
    Reader("ours_gunzip_then_read", "ours: `gunzip -c` to a file, then `for ts, buf in p` of it", "ours",
           file="small.gz"),
    Reader("zcat_tcpdump", "`zcat file.pcap.gz | tcpdump -r - -w /dev/null` (tcpdump's count, no byte sum)",
           "ours", file="small.gz"),
]

# pcapng: the small file's packets as editcap writes them (one interface),
# and the two-interface copy of gen.py ("pcapng2": Ethernet and raw IPv4,
# packets alternating), which libpcap refuses, so that its rows have no C
# loop of their own: they are compared with the C loop on the one-interface
# copy.  (pcap-ct is left out: it reads through the same libpcap as pypcap,
# at a hundredth of the speed.)
PCAPNG_READERS = [
    Reader("next_ex", "C: `pcap_next_ex` loop, pcapng", "c", file="small.pcapng"),
    Reader("ours_iter", "ours: `for ts, buf in p`, pcapng", "ours", file="small.pcapng"),
    Reader("ours_next_batch", "ours: `next_batch(1024)` until empty, `len(data)`, pcapng", "ours",
           file="small.pcapng"),
    Reader("ours_next_batch_np", "ours: `next_batch(4096)` + numpy view, caplen summed, pcapng", "ours",
           file="small.pcapng"),
    Reader("ours_next_batch_np_interfaces", "ours: `next_batch(4096, interfaces=True)` + numpy view, caplen "
           "summed, packets per interface, pcapng", "ours", file="small.pcapng"),
    Reader("ours_readinto_np", "ours: `readinto(records, data)` + numpy view, pcapng", "ours",
           file="small.pcapng"),
    Reader("ours_count", "ours: `dispatch(-1)`, no callback, pcapng", "ours", file="small.pcapng"),
    Reader("next_ex_filter", f"C: `pcap_next_ex` loop, BPF `{gen.FILTER}`, pcapng", "c", file="small.pcapng",
           filtered=True),
    Reader("ours_filter_count", f"ours: `setfilter('{gen.FILTER}')` + `dispatch(-1)`, pcapng", "ours",
           file="small.pcapng", filtered=True),
    Reader("ours_to_arrow", "ours: `p.to_arrow()`, pcapng (with interface_id and flags)", "ours",
           file="small.pcapng"),
    Reader("scapy_pcapng_to_arrow", "scapy: `RawPcapReader` (its pcapng reader), the same columns with the "
           "interface id into an Arrow table, pcapng", "scapy", file="small.pcapng"),
    Reader("pypcap_iter", "pypcap: `for ts, buf in p`, pcapng", "pypcap", file="small.pcapng"),
    Reader("pcapy_dispatch", "pcapy-ng: `dispatch(-1, cb)`, pcapng", "pcapy-ng", file="small.pcapng"),
    Reader("pcapy_next_batch_np", "pcapy-ng: `next_batch(4096)` + numpy view, pcapng", "pcapy-ng",
           file="small.pcapng"),
    Reader("libpcap_iter", "python-libpcap: `for n, t, buf in rpcap(path)`, pcapng", "python-libpcap",
           file="small.pcapng"),
    Reader("scapy_raw", "scapy: `RawPcapReader`, pcapng", "scapy", file="small.pcapng"),
    Reader("dpkt_reader", "dpkt: `pcapng.Reader`", "dpkt", file="small.pcapng"),
    Reader("ours_iter", "ours: `for ts, buf in p`, two interfaces", "ours", file="small.pcapng2"),
    Reader("ours_next_batch_np", "ours: `next_batch(4096)` + numpy view, caplen summed, two interfaces",
           "ours", file="small.pcapng2"),
    Reader("ours_next_batch_np_interfaces", "ours: `next_batch(4096, interfaces=True)` + numpy view, caplen "
           "summed, packets per interface, two interfaces", "ours", file="small.pcapng2"),
    Reader("ours_count", "ours: `dispatch(-1)`, no callback, two interfaces", "ours", file="small.pcapng2"),
    Reader("ours_filter_count", f"ours: `setfilter('{gen.FILTER}')` + `dispatch(-1)`, two interfaces "
           "(a program per link type)", "ours", file="small.pcapng2", filtered=True),
    Reader("ours_to_arrow", "ours: `p.to_arrow()`, two interfaces", "ours", file="small.pcapng2"),
    Reader("scapy_pcapng_to_arrow", "scapy: `RawPcapReader`, the same columns into an Arrow table, "
           "two interfaces", "scapy", file="small.pcapng2"),
]

LARGE_READERS = [
    Reader("next_ex", "C: `pcap_next_ex` loop", "c", file="large"),
    Reader("ours_iter", "ours: `for ts, buf in p`", "ours", file="large"),
    Reader("pypcap_iter", "pypcap: `for ts, buf in p`", "pypcap", file="large"),
]

# Writers (issue 21): the small file's packets written out, as pcapng
# (".pcapng") or classic pcap (".pcap").  "From memory": the packets read
# into memory before the clock starts (a list of (ts, bytes), the
# next_batch() batches, the to_arrow() table; C: an array), timed from
# opening the output to closing it.  "Copy": the file read and written,
# timed from opening the input to closing the output.  Every writer's file
# is read back afterwards (not timed) and must hold the file's packets and
# bytes.  pypcap 1.3 has no dumper; pcapy-ng's (libpcap's pcap_dump) stands
# for the bindings that write classic pcap.
WRITE_READERS = [
    Reader("dump_mem", "C: `pcap_dump` of each packet, classic pcap, from memory", "c", out=".pcap", memory=True),
    Reader("dump", "C: `pcap_loop(p, -1, pcap_dump, d)`, classic pcap, copy", "c", out=".pcap"),
    Reader("ours_write_ng", "ours: `d.write(ts, buf)` of each packet, pcapng, from memory", "ours",
           out=".pcapng", memory=True),
    Reader("ours_write_pcap", "ours: `d.write(ts, buf)` of each packet, classic pcap, from memory", "ours",
           out=".pcap", memory=True),
    Reader("ours_write_batch_ng", "ours: `d.write_batch(records, data)` of `next_batch(4096)`'s batches, pcapng, "
           "from memory", "ours", out=".pcapng", memory=True),
    Reader("ours_write_batch_pcap", "ours: `d.write_batch(records, data)` of `next_batch(4096)`'s batches, "
           "classic pcap, from memory", "ours", out=".pcap", memory=True),
    Reader("ours_write_table_ng", "ours: `d.write_table(table)` of `p.to_arrow()`'s table, pcapng, from memory",
           "ours", out=".pcapng", memory=True),
    Reader("ours_write_ng_gz", "ours: `d.write(ts, buf)` of each packet to a `.pcapng.gz` path (gzip level 6), "
           "from memory", "ours", out=".pcapng.gz", memory=True),
    Reader("scapy_write_ng", "scapy: `PcapNgWriter.write_packet(buf, sec=ts)` of each packet, pcapng, from memory",
           "scapy", out=".pcapng", memory=True),
    Reader("dpkt_write_ng", "dpkt: `pcapng.Writer.writepkts(packets)`, pcapng, from memory", "dpkt",
           out=".pcapng", memory=True),
    Reader("pcapy_dump_pcap", "pcapy-ng: `dumper.dump(hdr, buf)` of each packet (libpcap's `pcap_dump`), classic "
           "pcap, from memory", "pcapy-ng", out=".pcap", memory=True),
    Reader("ours_copy_dispatch_ng", "ours: `p.dispatch(-1, d)`, pcapng, copy", "ours", out=".pcapng"),
    Reader("ours_copy_loop_ng", "ours: `p.loop(0, d)`, pcapng, copy", "ours", out=".pcapng"),
    Reader("ours_copy_iter_ng", "ours: `for ts, buf in p: d.write(ts, buf)`, pcapng, copy", "ours", out=".pcapng"),
    Reader("ours_copy_next_batch_ng", "ours: `next_batch(4096)` + `d.write_batch(records, data)`, pcapng, copy",
           "ours", out=".pcapng"),
    Reader("ours_copy_readinto_ng", "ours: `readinto(records, data)` + `d.write_batch(..., count=k)` into the same "
           "buffers, pcapng, copy", "ours", out=".pcapng"),
    Reader("ours_copy_dump_open_ng", "ours: `p.dump_open(out)` of the pcapng copy + `p.dispatch(-1, d)` (its "
           "interfaces and each packet's options followed), pcapng, copy", "ours", file="small.pcapng", out=".pcapng"),
    Reader("ours_copy_dump_open_ng", "ours: `p.dump_open(out)` + `p.dispatch(-1, d)` of the two-interface pcapng "
           "(two link types), pcapng, copy", "ours", file="small.pcapng2", out=".pcapng"),
    Reader("ours_copy_dispatch_pcap", "ours: `p.dispatch(-1, d)`, classic pcap, copy", "ours", out=".pcap"),
    Reader("ours_copy_iter_pcap", "ours: `for ts, buf in p: d.write(ts, buf)`, classic pcap, copy", "ours",
           out=".pcap"),
    Reader("pcapy_copy_loop_pcap", "pcapy-ng: `loop(0, dumper.dump)`, classic pcap, copy", "pcapy-ng", out=".pcap"),
]

# Triage in C before Python (issue 22): the same task by ours and by
# pcapy-ng 2.1's loop_filtered (triage_tasks.py says what each does); each
# must keep exactly the packets and bytes a walk of the file finds.
TRIAGE_READERS = [
    Reader("ours_triage_addrset_iter", f"ours: `set_triage(Triage(addresses))`, {triage_tasks.ADDRESS_COUNT:,} "
           "IPv4 addresses (src or dst), `for ts, buf in p`", "ours", task="addrset"),
    Reader("ours_triage_addrset_np", "ours: the same address set, `next_batch(4096)` + numpy view, caplen summed",
           "ours", task="addrset"),
    Reader("pcapy_loop_filtered_addrset", f"pcapy-ng: `loop_filtered(0, cb, 1 << 2, addr_set)`, the same "
           f"{triage_tasks.ADDRESS_COUNT:,} addresses packed", "pcapy-ng", task="addrset"),
    Reader("ours_triage_flowhead_iter", f"ours: `set_triage(Triage(flow_head_packets={triage_tasks.FLOW_HEAD}, "
           "flow_bidirectional=False))`, `for ts, buf in p`", "ours", task="flowhead"),
    Reader("ours_triage_flowhead_np", "ours: the same flow heads, `next_batch(4096)` + numpy view, caplen summed",
           "ours", task="flowhead"),
    Reader("pcapy_loop_filtered_flowhead", f"pcapy-ng: `loop_filtered(0, cb, 1 << 1, b'', "
           f"{triage_tasks.FLOW_HEAD})`, the same flow heads", "pcapy-ng", task="flowhead"),
]

# Header fields as columns (issue 22): the 5-tuple (ip.src, ip.dst,
# ip.proto, the UDP/TCP ports) and the TCP flags of each packet of the small
# file, with and without its Community ID (v1, seed 0).  Each reader reports
# the sums of every field (gen.field_sums), checked against the generator's.
FIVE_TUPLE_FLAGS = ("ip", "src", "dst", "protocol", "src_port", "dst_port", "tcp_flags")
WITH_COMMUNITY_ID = FIVE_TUPLE_FLAGS + ("community_id",)
FIELDS_READERS = [
    Reader("ours_fields_cid", "ours: `arrow_batches(fields=[src, dst, protocol, src_port, dst_port, tcp_flags, "
           "community_id], data=False)`", "ours", fields=WITH_COMMUNITY_ID),
    Reader("ours_fields", "ours: the same without `community_id`", "ours", fields=FIVE_TUPLE_FLAGS),
    Reader("tshark_fields_cid", "`tshark -T fields -e ip.src ... -e tcp.flags -e communityid` "
           "(`--enable-protocol communityid`), its output into memory", "ours", fields=WITH_COMMUNITY_ID),
    Reader("tshark_fields", "`tshark -T fields` of the same fields without `communityid`", "ours",
           fields=FIVE_TUPLE_FLAGS),
    Reader("dpkt_fields_cid", "dpkt: `pcap.Reader` + `ethernet.Ethernet(buf)` per packet, the fields into lists, "
           "the Community ID with hashlib", "dpkt", fields=WITH_COMMUNITY_ID),
    Reader("dpkt_fields", "dpkt: the same without the Community ID", "dpkt", fields=FIVE_TUPLE_FLAGS),
]

ALL_READERS = (SMALL_READERS + FORMAT_READERS + PCAPNG_READERS + LARGE_READERS + WRITE_READERS + TRIAGE_READERS
               + FIELDS_READERS)

# Live capture on lo: (key, label, impl, immediate, options).  Options:
# count (datagrams, instead of --live-packets), snaplen, workers (processes
# joined to one PACKET_FANOUT group, FANOUT_HASH), flows (sender sockets).
LIVE_CONFIGS = [
    ("ours_default", "ours, default options", "ours", False, {}),
    ("pypcap_default", "pypcap, default options", "pypcap", False, {}),
    ("ours_immediate", "ours, `immediate=True`", "ours", True, {}),
    ("pypcap_immediate", "pypcap, `immediate=True`", "pypcap", True, {}),
    ("ours_fanout", "ours, default options, 2 processes in a `FANOUT_HASH` group, 16 flows", "ours", False,
     {"workers": 2, "flows": 16}),
    ("ours_burst", "ours, `immediate=True`, a burst of 2,000", "ours", True, {"count": 2000}),
    ("ours_burst_snaplen", "ours, `immediate=True, snaplen=256`, a burst of 2,000", "ours", True,
     {"count": 2000, "snaplen": 256}),
    ("pypcap_burst", "pypcap, `immediate=True`, a burst of 2,000", "pypcap", True, {"count": 2000}),
    # Two veth interfaces into one handle (issue 21): the C sender's frames
    # out of the other end of each pair, 300,000 into each (at most
    # --live-packets), in turn.
    ("ours_two_veths", "ours, `pcap.pcap([veth_a, veth_b])`, `next_batch(4096, interfaces=True)`", "ours", False,
     {"multi": True, "count": 300_000}),
]
# The veth pairs of that capture: (the end captured on, the end sent from).
VETHS = [("pcbenchA0", "pcbenchA1"), ("pcbenchB0", "pcbenchB1")]
