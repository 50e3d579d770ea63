/* Triage: keep or drop a packet in C before Python sees it, from its
 * parsed header fields (packet_fields.h):
 *
 *   prefixes    IPv4 and IPv6 prefixes, each "keep" or "drop"; an address
 *               takes the action of the longest prefix that holds it
 *               (sorted disjoint intervals, found through a multibit trie
 *               over their starts and a short binary search)
 *   ports       a set of TCP/UDP/SCTP ports (a bitmap), keep or drop
 *   flow head   the first N packets and/or B bytes (wire lengths) of each
 *               flow, in a bounded set-associative table
 *
 * A packet goes through the stages in that order and is dropped by the
 * first that drops it; a stage left unset keeps everything.  Nothing here
 * calls Python or libpcap; a struct triage is used by one thread at a time. */
#ifndef TRIAGE_H
#define TRIAGE_H

#include <stddef.h>
#include <stdint.h>

#include "packet_fields.h"

typedef unsigned __int128 triage_key;   /* an address as a number: IPv4 in the low 32 bits */

enum { TRIAGE_NONE = 0, TRIAGE_KEEP = 1, TRIAGE_DROP = 2 };        /* a prefix's action, a default */
enum { TRIAGE_SRC = 1, TRIAGE_DST = 2, TRIAGE_EITHER = 3 };        /* which addresses or ports */

/* One prefix, as given to prefix_table_build(). */
struct prefix_entry {
    triage_key start;       /* the network address (host bits clear) */
    uint8_t len;            /* prefix length */
    uint8_t action;         /* TRIAGE_KEEP or TRIAGE_DROP */
};

/* Sorted disjoint intervals covering the whole address space of `width`
 * bits, each with the action of the longest prefix over it (TRIAGE_NONE
 * where none is). */
struct prefix_table {
    unsigned width;         /* 32 or 128 */
    size_t n;               /* intervals; 0: no prefix at all */
    uint32_t *starts4;      /* width 32 */
    triage_key *starts6;    /* width 128 */
    uint8_t *actions;
    /* The index, a multibit trie over the intervals' starts: node 0
     * holds every key; a node's keys share their first `from` bits, and
     * its intervals' starts (but the first) the next ones up to `pos`
     * (`common`): a key below those is in interval lo, above in hi, else
     * its next `bits` bits name a slot, a child node or at most
     * INDEX_LEAF intervals to search.  Each node parts its intervals in
     * about as many slots, so that a lookup reads a few nodes and a
     * cache line of starts, however the prefixes cluster. */
    struct index_node *nodes;
    size_t nodes_used, nodes_size;
    struct index_slot *slots;
    size_t slots_used, slots_size;
};

#define INDEX_LEAF 8
#define INDEX_CHILD UINT32_MAX      /* index_slot.lo of a child: hi is its node */
#define INDEX_ACTION (UINT32_MAX - 1)   /* index_slot.lo of a slot whose keys have one action: hi */

struct index_node {
    triage_key common;
    uint32_t lo, hi;
    uint32_t slots;         /* the first of its 1 << bits */
    uint8_t from, pos, bits;
};

struct index_slot {
    uint32_t lo, hi;
};

/* Build t from n prefixes (sorted in place).  Returns 0; -1 out of memory;
 * -2 when one prefix is given twice with opposite actions (*conflict: its
 * place in the sorted entries). */
int prefix_table_build(struct prefix_table *t, unsigned width, struct prefix_entry *entries, size_t n,
                       size_t *conflict);
void prefix_table_free(struct prefix_table *t);

/* The same for IPv4 prefixes given as prefix_key4() numbers (sorted in
 * place; *conflict: a place in the sorted keys). */
uint64_t prefix_key4(uint32_t start, unsigned len, unsigned action);
int prefix_table_build4(struct prefix_table *t, uint64_t *keys, size_t n, size_t *conflict);
int prefix_lookup4(const struct prefix_table *t, uint32_t addr);        /* TRIAGE_* */
int prefix_lookup6(const struct prefix_table *t, triage_key addr);

/* Parse "a.b.c.d[/len]" or an IPv6 address with an optional "/len" (len
 * characters of text).  Returns 4 or 6 with *start and *plen set; 0 when
 * it is no prefix; -1 when the length is out of range; -2 when host bits
 * are set (what ipaddress.ip_network() refuses). */
int prefix_parse(const char *text, size_t len, triage_key *start, unsigned *plen);

/* A flow: both addresses, both ports (0 without), the protocol; only its
 * 64-bit hash is kept (flow_hash()). */
struct flow_key {
    uint8_t a[16], b[16];
    uint16_t pa, pb;
    uint8_t proto, version;
};

#define FLOW_WAYS 4         /* flows of a set: a flow lives in one set, found by its hash */

/* One set, one cache line: the hashes of its flows (0: an empty way) and
 * their counts, the most recently seen first. */
struct flow_set {
    uint64_t key[FLOW_WAYS];
    uint32_t packets[FLOW_WAYS];    /* seen, saturating */
    uint32_t bytes[FLOW_WAYS];      /* wire bytes seen, saturating */
};

/* At most `capacity` flows, told apart by a 64-bit hash of their key (two
 * flows share one count with a chance of about 2^-64 a pair).  When a new
 * flow finds its set full, the one of that set seen least recently is
 * forgotten (`evicted`): should it come back, it is a new flow and its
 * head passes again. */
struct flow_table {
    size_t sets;            /* a power of two */
    struct flow_set *table;
    uint64_t flows;         /* ways in use */
    uint64_t evicted;
};

/* What a triage does, and what it has done. */
struct triage {
    struct prefix_table v4, v6;
    int prefix_match;           /* TRIAGE_SRC, _DST, _EITHER; 0: no prefixes */
    int prefix_default;         /* the action of an address no prefix holds */
    uint8_t *ports;             /* 8192 bytes, a bit a port; NULL: no port set */
    int port_action, port_match;
    uint32_t head_packets;      /* 0: no limit */
    uint32_t head_bytes;        /* 0: no limit */
    int flow_heads;             /* nonzero: the flow head stage is on */
    int bidirectional;          /* both directions of a conversation are one flow */
    int non_ip;                 /* TRIAGE_KEEP, _DROP: every packet that is not IP; TRIAGE_NONE: the stages decide */
    struct flow_table flows;
    uint64_t *pending4;                 /* IPv4 prefixes added, not yet built (prefix_key4()) */
    struct prefix_entry *pending6;      /* IPv6 */
    size_t pending_n[2], pending_size[2];   /* IPv4, IPv6 */
    uint64_t kept, dropped;
    uint64_t dropped_non_ip, dropped_prefix, dropped_port, dropped_flow;
};

/* Add the prefix of `len` characters of text (prefix_parse()) with
 * `action`, for triage_build_prefixes().  Returns 4 or 6; what
 * prefix_parse() returns for a bad one; -3 out of memory. */
int triage_add_prefix(struct triage *t, const char *text, size_t len, int action);

/* Build the tables of the prefixes added.  Returns 0; -1 out of memory;
 * -2 when a prefix was added with both actions (its text in conflict). */
int triage_build_prefixes(struct triage *t, char conflict[64]);

/* The action of the longest prefix holding the address of `len`
 * characters of text (TRIAGE_*), or -1 when it is no address. */
int triage_lookup(const struct triage *t, const char *text, size_t len);

/* Set up the flow table for `capacity` flows (rounded up to a power of
 * two, at least FLOW_WAYS; 16 bytes a flow).  Returns 0, or -1 out of memory. */
int flow_table_init(struct flow_table *ft, size_t capacity);
void flow_table_clear(struct flow_table *ft);
void flow_table_free(struct flow_table *ft);

/* Whether the packet whose fields are f, `wirelen` bytes on the wire, is
 * kept; counts it either way. */
int triage_decide(struct triage *t, const struct packet_fields *f, uint32_t wirelen);

/* Parse a packet of link type dlt and decide (the fields are not kept). */
int triage_packet(struct triage *t, const unsigned char *packet, uint32_t caplen, uint32_t wirelen, int dlt);

void triage_free(struct triage *t);

#endif
