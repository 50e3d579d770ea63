/* Header fields of a packet, parsed in C: from the link layer (Ethernet,
 * Linux cooked v1 and v2, raw IPv4/IPv6, BSD loopback, PPP) through up to
 * two VLAN tags, IPv4 or IPv6 (extension headers skipped) to TCP, UDP,
 * SCTP, ICMP or ICMPv6, and the packet's Community ID (v1).
 *
 * One struct packet_fields per packet, a fixed record (pcap.FIELDS_DTYPE):
 * the batch API hands an array of them to numpy as it is, and the Arrow
 * path gathers the columns out of it (fields_column()).  Nothing here
 * calls Python or libpcap; a parse reads only the caplen bytes it is given.
 *
 * What a packet does not have, or does not hold whole within its caplen,
 * is absent (its FIELD_* bit clear in `present`; null in Arrow), never a
 * guessed number: a non-first fragment has no ports, a header cut short
 * has none of its fields, a packet that is not IP has no IP fields. */
#ifndef PACKET_FIELDS_H
#define PACKET_FIELDS_H

#include <stddef.h>
#include <stdint.h>

/* Which groups of fields a packet has: bits of packet_fields.present. */
enum {
    FIELD_ETH = 1 << 0,          /* eth_src, eth_dst (Ethernet link type) */
    FIELD_ETHERTYPE = 1 << 1,    /* ethertype */
    FIELD_VLAN = 1 << 2,         /* vlan_id: the outer 802.1Q/802.1ad tag */
    FIELD_VLAN_INNER = 1 << 3,   /* vlan_id_inner: a second tag */
    FIELD_IP = 1 << 4,           /* ip_version, src, dst, protocol, ttl, frag_offset, frag_flags */
    FIELD_IP_LEN = 1 << 5,       /* ip_len (not an IPv6 jumbogram's) */
    FIELD_PORTS = 1 << 6,        /* src_port, dst_port: TCP, UDP, SCTP */
    FIELD_TCP_FLAGS = 1 << 7,    /* tcp_flags */
    FIELD_ICMP = 1 << 8,         /* icmp_type, icmp_code: ICMP, ICMPv6 */
    FIELD_PAYLOAD = 1 << 9,      /* payload_offset, payload_len */
    FIELD_COMMUNITY_ID = 1 << 10,/* community_id */
    FIELD_FRAGMENT = 1 << 11,    /* a fragment (more fragments, or an offset): not a field, a fact */
};

/* One packet's fields: 112 bytes, numbers in host byte order, addresses
 * and MAC addresses in network order. */
struct packet_fields {
    uint32_t present;           /*   0  FIELD_* bits */
    uint8_t eth_dst[6];         /*   4 */
    uint8_t eth_src[6];         /*  10 */
    uint16_t ethertype;         /*  16  what the link layer says comes next, after any VLAN tags */
    uint16_t vlan_id;           /*  18  12 bits */
    uint16_t vlan_id_inner;     /*  20 */
    uint8_t ip_version;         /*  22  4 or 6 */
    uint8_t protocol;           /*  23  IPv4 protocol; IPv6: the next header after the extension headers */
    uint8_t src[16];            /*  24  IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
    uint8_t dst[16];            /*  40 */
    uint8_t ttl;                /*  56  TTL, hop limit */
    uint8_t frag_flags;         /*  57  IPv4: 0x4 reserved, 0x2 DF, 0x1 MF (ip.flags >> 5); IPv6: 0x1 M */
    uint16_t frag_offset;       /*  58  in bytes (ip.frag_offset); 0 without fragment header */
    uint32_t ip_len;            /*  60  the IP datagram's length: IPv4 total length, IPv6 40 + payload length */
    uint16_t src_port;          /*  64 */
    uint16_t dst_port;          /*  66 */
    uint16_t tcp_flags;         /*  68  12 bits: NS/AE, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN (tcp.flags) */
    uint8_t icmp_type;          /*  70 */
    uint8_t icmp_code;          /*  71 */
    uint32_t payload_offset;    /*  72  first byte after the last header parsed, from the packet's start */
    uint32_t payload_len;       /*  76  the datagram's bytes from there, as its headers say (tcp.len) */
    char community_id[32];      /*  80  "1:" and 28 base64 characters, NUL padded */
};
typedef char packet_fields_is_112_bytes[sizeof(struct packet_fields) == 112 ? 1 : -1];

/* What packet_fields_parse() computes beyond the headers. */
struct fields_options {
    int community_id;           /* nonzero: compute it (a SHA-1 a packet) */
    uint16_t seed;              /* the Community ID's seed */
};

/* Parse a packet of link type dlt (libpcap's DLT_* value) into *out,
 * which is written whole (absent fields zero). */
void packet_fields_parse(const unsigned char *packet, uint32_t caplen, int dlt,
                         const struct fields_options *options, struct packet_fields *out);

/* Whether dlt is a link type packet_fields_parse() reads. */
int packet_fields_linktype(int dlt);

/* The Community ID v1 of a flow, as the reference (corelight's
 * community-id-spec) makes it: addresses of `addr_len` bytes (4 or 16),
 * ports ignored when has_ports is 0; for ICMP and ICMPv6 (protocol 1, 58)
 * sport and dport are the type and code, mapped as the spec maps them.
 * Writes 30 characters and a NUL into out[31]... out[0]. */
void community_id_v1(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                     uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport, char out[32]);

/* One column out of n records: `width` bytes at `offset` in each record
 * of `stride` bytes, one after the other into column; and, where valid is
 * not NULL, Arrow's validity bitmap of those whose present has any of the
 * bits in `mask`.  Returns how many are valid. */
size_t fields_column(const unsigned char *records, size_t n, size_t stride, size_t offset, size_t width,
                     unsigned char *column, uint32_t mask, unsigned char *valid);

/* The community_id column as an Arrow string column: n + 1 offsets and
 * the characters (30 a valid packet, none for a null one). */
void fields_community_id_column(const unsigned char *records, size_t n, size_t stride, int32_t *offsets,
                                char *chars);

/* An address column as text (inet_ntop's, IPv4 dotted): n + 1 offsets
 * and the characters, at most 46 bytes a packet; `which` is 0 for src, 1
 * for dst.  Returns the characters written. */
size_t fields_address_text(const unsigned char *records, size_t n, size_t stride, int which, int32_t *offsets,
                           char *chars);

#endif
