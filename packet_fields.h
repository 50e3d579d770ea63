/* Header fields of a packet, parsed in C: from the link layer (Ethernet,
 * Linux cooked v1 and v2, raw IPv4/IPv6, BSD loopback, PPP) through up to
 * two VLAN tags, IPv4 or IPv6 (extension headers skipped) to TCP, UDP,
 * SCTP, ICMP or ICMPv6, and the packet's Community ID (v1).
 *
 * One struct packet_fields per packet, a fixed record (pcap.FIELDS_DTYPE):
 * the batch API hands an array of them to numpy as it is, and the Arrow
 * path puts each field in its own column (a fields_plan).  Nothing here
 * calls Python or libpcap; a parse reads only the caplen bytes it is given.
 *
 * A field the packet does not have, or does not hold whole within its
 * caplen, is absent (its FIELD_* bit clear in `present`; null in Arrow),
 * never a guessed number; each field counts on its own bytes: the ports
 * are there once the transport header's first 4 bytes are, TCP's flags
 * once its first 14, the payload once the whole header.  A non-first
 * fragment has no ports, a packet that is not IP no IP fields, and after
 * an IPv6 extension header cut short the protocol is unknown. */
#ifndef PACKET_FIELDS_H
#define PACKET_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "community_id.h"

/* Which groups of fields a packet has: bits of packet_fields.present. */
enum {
    FIELD_ETH = 1 << 0,          /* eth_src, eth_dst (Ethernet link type) */
    FIELD_ETHERTYPE = 1 << 1,    /* ethertype */
    FIELD_VLAN = 1 << 2,         /* vlan_id: the outer 802.1Q/802.1ad tag */
    FIELD_VLAN_INNER = 1 << 3,   /* vlan_id_inner: a second tag */
    FIELD_IP = 1 << 4,           /* ip_version, src, dst, ttl, frag_offset, frag_flags */
    FIELD_IP_LEN = 1 << 5,       /* ip_len (not an IPv6 jumbogram's) */
    FIELD_PORTS = 1 << 6,        /* src_port, dst_port: TCP, UDP, SCTP */
    FIELD_TCP_FLAGS = 1 << 7,    /* tcp_flags */
    FIELD_ICMP = 1 << 8,         /* icmp_type, icmp_code: ICMP, ICMPv6 */
    FIELD_PAYLOAD = 1 << 9,      /* payload_offset, payload_len */
    FIELD_COMMUNITY_ID = 1 << 10,/* community_id */
    FIELD_FRAGMENT = 1 << 11,    /* a fragment (more fragments, or an offset): not a field, a fact */
    FIELD_PROTOCOL = 1 << 12,    /* protocol: known once the IPv6 extension headers are passed */
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
    int community_id;           /* nonzero: say whether a packet has one (FIELD_COMMUNITY_ID) */
    uint16_t seed;              /* the Community ID's seed */
};

/* Parse a packet of link type dlt (libpcap's DLT_* value) into *out,
 * which is written whole (absent fields zero).  The Community ID's bit is
 * set where options ask for it and the packet has one; its text is left
 * to packet_fields_community_id() or a plan. */
void packet_fields_parse(const unsigned char *packet, uint32_t caplen, int dlt,
                         const struct fields_options *options, struct packet_fields *out);

/* Whether dlt is a link type packet_fields_parse() reads. */
int packet_fields_linktype(int dlt);

/* The Community ID of a parsed packet whose FIELD_COMMUNITY_ID bit is
 * set, into its own community_id. */
void packet_fields_community_id(struct packet_fields *f, uint16_t seed);

/* ---- columns ---------------------------------------------------------------
 * A plan says where each packet's fields go as the fill parses it: columns
 * of one field each (Arrow's layout), or whole records (numpy's).  The
 * Community IDs go to the plan's hasher (community_id.h): their text is
 * there once fields_plan_finish() returns. */
enum {
    COLUMN_FIXED,           /* width bytes at offset, a packet after another (and the slack); valid bits by mask */
    COLUMN_RECORD,          /* the whole struct packet_fields (community_id filled in later) */
    COLUMN_COMMUNITY_ID,    /* 30 characters a packet (offsets are 30 * i; a null one's are garbage) */
    COLUMN_ADDRESS_TEXT,    /* src (offset 24) or dst (40) as inet_ntop's text, offsets[i + 1] set */
};

/* A fixed column's values buffer has room for FIELD_COLUMN_SLACK bytes
 * past its capacity's: each packet's value is written as 16 bytes (one
 * move, whatever its width), the bytes past its own overwritten by the
 * packets after it.  (The 5-tuple and Community ID columns were read about
 * a tenth faster so than with a switch on the width.) */
#define FIELD_COLUMN_SLACK 16

struct field_column {
    int kind;
    uint32_t offset, width, mask;   /* mask: the one FIELD_* bit that says a packet has it */
    unsigned char *values;  /* capacity of them; text: up to 46 bytes a packet */
    int32_t *offsets;       /* address text: capacity + 1, offsets[0] = 0 set by the caller */
    size_t text_used;
    unsigned char *valid;   /* the validity bitmap (made by fields_plan_finish); NULL: none kept */
    size_t valid_count;
};

struct fields_plan {
    struct field_column *columns;
    size_t ncolumns;
    uint32_t *present;              /* each packet's present bits (capacity), for the bitmaps; or NULL */
    uint32_t absent;                /* the bits some packet lacks (zero before the first) */
    size_t count;                   /* packets put */
    struct fields_options options;  /* community_id: some column holds it */
    struct community_id_hasher hasher;  /* the Community IDs waiting for their hash */
};

/* Put one parsed packet, the index-th of the batch, where the plan says:
 * the packets of a batch in their order, 0 first (a fixed column's value
 * spills into the slots after its own). */
void fields_plan_put(struct fields_plan *plan, const struct packet_fields *f, size_t index);

/* Hash the Community IDs still waiting and make the validity bitmaps of
 * the packets put: before the columns are read.  (Also when the fill
 * failed: a worker thread may still be writing the columns until then.) */
void fields_plan_finish(struct fields_plan *plan);

#endif
