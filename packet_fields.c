/* Header fields of a packet (packet_fields.h): the parse, the Community
 * ID (SHA-1 of one block: with the CPU's SHA instructions where it has
 * them, else in plain C) and the columns gathered out of the records. */
#include "packet_fields.h"
#include "community_id.h"

#include <pcap.h>
#include <stdio.h>
#include <string.h>


#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#define LINKTYPE_RAW 101        /* what a savefile says for raw IP, where a DLT_RAW differs */

static inline uint16_t be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the Community ID of a parsed packet (community_id.c) ---------------- */

/* The flow of a parsed packet's Community ID. */
static void packet_flow(const struct packet_fields *f, uint16_t seed, struct community_id_flow *flow)
{
    int icmp = f->protocol == 1 || f->protocol == 58;
    flow->has_ports = icmp || f->protocol == 6 || f->protocol == 17 || f->protocol == 132;
    flow->sport = icmp ? f->icmp_type : f->src_port;
    flow->dport = icmp ? f->icmp_code : f->dst_port;
    flow->seed = seed;
    flow->protocol = f->protocol;
    if (f->ip_version == 4) {
        flow->addr_len = 4;
        memcpy(flow->saddr, f->src + 12, 4);
        memcpy(flow->daddr, f->dst + 12, 4);
    } else {
        flow->addr_len = 16;
        memcpy(flow->saddr, f->src, 16);
        memcpy(flow->daddr, f->dst, 16);
    }
}

static void flow_community_id(const struct community_id_flow *flow, char *out)
{
    char text[32];
    community_id_v1(flow->seed, flow->saddr, flow->daddr, flow->addr_len, flow->protocol, flow->has_ports,
                    flow->sport, flow->dport, text);
    memcpy(out, text, 30);
}

void packet_fields_community_id(struct packet_fields *f, uint16_t seed)
{
    struct community_id_flow flow;
    if (!(f->present & FIELD_COMMUNITY_ID))
        return;
    packet_flow(f, seed, &flow);
    flow_community_id(&flow, f->community_id);
}

/* ---- the parse ------------------------------------------------------------ */

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The transport header at t (the datagram ends at end, the capture at
 * cap; end >= t).  A fragment other than the first has none. */
static void parse_transport(const unsigned char *pkt, size_t t, size_t end, size_t cap,
                            struct packet_fields *out)
{
    size_t have = (end < cap ? end : cap) - t, hlen = 0;
    const unsigned char *p = pkt + t;
    switch (out->protocol) {
    case 6:
        if (have >= 4) {
            out->src_port = be16(p);
            out->dst_port = be16(p + 2);
            out->present |= FIELD_PORTS;
        }
        if (have >= 14) {
            out->tcp_flags = be16(p + 12) & 0x0FFF;
            out->present |= FIELD_TCP_FLAGS;
            hlen = (size_t)(p[12] >> 4) * 4;
            if (hlen < 20 || hlen > have)
                return;         /* a bad or cut data offset: where the payload starts is unknown */
        } else {
            return;
        }
        break;
    case 17:
    case 132:
        if (have >= 4) {
            out->src_port = be16(p);
            out->dst_port = be16(p + 2);
            out->present |= FIELD_PORTS;
        }
        hlen = out->protocol == 17 ? 8 : 12;
        break;
    case 1:
    case 58:
        if (have >= 2) {
            out->icmp_type = p[0];
            out->icmp_code = p[1];
            out->present |= FIELD_ICMP;
        }
        hlen = 8;
        break;
    default:
        hlen = 0;
    }
    if (hlen > have)
        return;
    out->payload_offset = (uint32_t)(t + hlen);
    out->payload_len = (uint32_t)(end - t - hlen);
    out->present |= FIELD_PAYLOAD;
}

/* IPv4 at offset at of the packet (caplen cap). */
static void parse_ipv4(const unsigned char *pkt, size_t at, size_t cap, struct packet_fields *out)
{
    const unsigned char *p = pkt + at;
    size_t ihl, total, end;
    uint16_t frag;
    if (cap - at < 20 || p[0] >> 4 != 4)
        return;
    ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20)
        return;
    out->ip_version = 4;
    memcpy(out->src, V4_MAPPED, 12);
    memcpy(out->src + 12, p + 12, 4);
    memcpy(out->dst, V4_MAPPED, 12);
    memcpy(out->dst + 12, p + 16, 4);
    out->ttl = p[8];
    frag = be16(p + 6);
    out->frag_flags = (uint8_t)(frag >> 13);
    out->frag_offset = (uint16_t)((frag & 0x1FFF) * 8);
    out->protocol = p[9];
    total = be16(p + 2);
    out->ip_len = (uint32_t)total;
    out->present |= FIELD_IP | FIELD_PROTOCOL | FIELD_IP_LEN;
    if (frag & 0x3FFF)
        out->present |= FIELD_FRAGMENT;
    if (total < ihl || ihl > cap - at)
        return;                 /* options cut short, or a length shorter than the header */
    end = at + total;
    if (out->frag_offset) {     /* a later fragment: the bytes are the middle of a datagram */
        out->payload_offset = (uint32_t)(at + ihl);
        out->payload_len = (uint32_t)(total - ihl);
        out->present |= FIELD_PAYLOAD;
        return;
    }
    parse_transport(pkt, at + ihl, end, cap, out);
}

/* IPv6 at offset at, its extension headers followed to the protocol. */
static void parse_ipv6(const unsigned char *pkt, size_t at, size_t cap, struct packet_fields *out)
{
    const unsigned char *p = pkt + at;
    size_t plen, end, t, hlen;
    uint8_t next;
    int known;
    if (cap - at < 40 || p[0] >> 4 != 6)
        return;
    out->ip_version = 6;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    out->ttl = p[7];
    plen = be16(p + 4);
    next = p[6];
    out->ip_len = (uint32_t)(40 + plen);
    out->present |= FIELD_IP;
    /* (A length of 0 before a hop-by-hop header is a jumbogram's: its
     * length is in an option, and its headers are read to the capture's end.) */
    known = plen || next != 0;
    if (known)
        out->present |= FIELD_IP_LEN;
    end = known ? at + 40 + plen : cap;
    t = at + 40;
    /* (Each header is 8 bytes or more: the chain ends within the capture.) */
    for (;;) {
        switch (next) {
        case 0:     /* hop-by-hop */
        case 43:    /* routing */
        case 60:    /* destination options */
        case 135:   /* mobility */
        case 139:   /* HIP */
        case 140:   /* shim6 */
            if (end - t < 2 || cap - t < 2)
                return;
            hlen = ((size_t)pkt[t + 1] + 1) * 8;
            break;
        case 51:    /* authentication header */
            if (end - t < 2 || cap - t < 2)
                return;
            hlen = ((size_t)pkt[t + 1] + 2) * 4;
            break;
        case 44:    /* fragment */
            if (end - t < 8 || cap - t < 8)
                return;
            out->frag_offset = (uint16_t)(be16(pkt + t + 2) & 0xFFF8);
            out->frag_flags = pkt[t + 3] & 1;
            out->present |= FIELD_FRAGMENT;
            hlen = 8;
            break;
        default:
            goto done;
        }
        if (hlen > cap - t || hlen > end - t)
            return;             /* cut short: the protocol after it is unknown */
        next = pkt[t];
        t += hlen;
        if (out->frag_offset) {
            out->protocol = next;
            out->present |= FIELD_PROTOCOL;
            out->payload_offset = (uint32_t)t;
            out->payload_len = (uint32_t)(end - t);
            if (known)
                out->present |= FIELD_PAYLOAD;
            return;
        }
    }
done:
    out->protocol = next;
    out->present |= FIELD_PROTOCOL;
    if (known)
        parse_transport(pkt, t, end, cap, out);
}

int packet_fields_linktype(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case LINKTYPE_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_PPP:
    case DLT_PPP_SERIAL:
    case DLT_C_HDLC:
        return 1;
    }
    return 0;
}

static int is_vlan(uint16_t type)
{
    return type == 0x8100 || type == 0x88A8 || type == 0x9100;
}

/* What a BSD loopback header's address family says: 4, 6, or 0. */
static int loopback_family(uint32_t af)
{
    if (af == 2)
        return 4;
    if (af == 24 || af == 28 || af == 30)   /* AF_INET6 of NetBSD/OpenBSD, FreeBSD, macOS */
        return 6;
    return 0;
}

/* A PPP protocol number at p (1 or 2 bytes, address and control skipped):
 * 4, 6 or 0; *len the bytes of the header. */
static int ppp_family(const unsigned char *p, size_t have, size_t *len)
{
    size_t at = 0;
    uint16_t proto;
    if (have >= 2 && p[0] == 0xFF && p[1] == 0x03)
        at = 2;
    if (have <= at)
        return 0;
    if (p[at] & 1) {            /* a compressed (one byte) protocol field */
        proto = p[at];
        at += 1;
    } else {
        if (have < at + 2)
            return 0;
        proto = be16(p + at);
        at += 2;
    }
    *len = at;
    return proto == 0x21 ? 4 : proto == 0x57 ? 6 : 0;
}

/* Zero a parse's output with seven 16-byte stores: a memset() of its 112
 * bytes compiles to `rep stos`, whose start-up a profile put at a seventh
 * of the whole parse of an Ethernet/IPv4/UDP packet. */
static inline void fields_clear(struct packet_fields *out)
{
    uint64_t zero[sizeof *out / 8] = {0};
    memcpy(out, zero, sizeof zero);
}

void packet_fields_parse(const unsigned char *pkt, uint32_t caplen, int dlt,
                         const struct fields_options *options, struct packet_fields *out)
{
    size_t cap = caplen, at = 0, hlen = 0;
    uint16_t type = 0;
    int family = 0, tags;
    fields_clear(out);
    switch (dlt) {
    case DLT_EN10MB:
        if (cap < 14)
            return;
        memcpy(out->eth_dst, pkt, 6);
        memcpy(out->eth_src, pkt + 6, 6);
        out->present |= FIELD_ETH;
        type = be16(pkt + 12);
        at = 14;
        goto ethertype;
    case DLT_LINUX_SLL:
        if (cap < 16)
            return;
        type = be16(pkt + 14);
        at = 16;
        if (be16(pkt + 2) == 824)   /* ARPHRD_NETLINK: a netlink family, not an ethertype */
            return;
        goto ethertype;
    case DLT_LINUX_SLL2:
        if (cap < 20)
            return;
        type = be16(pkt);
        at = 20;
        if (be16(pkt + 8) == 824)
            return;
        goto ethertype;
    case DLT_RAW:
    case LINKTYPE_RAW:
        if (cap < 1)
            return;
        family = pkt[0] >> 4;
        break;
    case DLT_IPV4:
        family = 4;
        break;
    case DLT_IPV6:
        family = 6;
        break;
    case DLT_NULL:
    case DLT_LOOP:
        if (cap < 4)
            return;
        {
            uint32_t af = be32(pkt);
            if (dlt == DLT_NULL && (af & 0xFFFF0000u))   /* written little-endian, as most hosts do */
                af = (uint32_t)pkt[0] | (uint32_t)pkt[1] << 8 | (uint32_t)pkt[2] << 16 | (uint32_t)pkt[3] << 24;
            family = loopback_family(af);
        }
        at = 4;
        break;
    case DLT_PPP:
    case DLT_PPP_SERIAL:
        family = ppp_family(pkt, cap, &hlen);
        at = hlen;
        break;
    case DLT_C_HDLC:
        if (cap < 4)
            return;
        type = be16(pkt + 2);
        at = 4;
        out->ethertype = type;
        out->present |= FIELD_ETHERTYPE;
        family = type == 0x0800 ? 4 : type == 0x86DD ? 6 : 0;
        break;
    default:
        return;
    }
    goto ip;

ethertype:
    for (tags = 0; is_vlan(type); tags++) {
        if (cap - at < 4)
            return;             /* a tag cut short: what follows is unknown */
        if (tags == 0) {
            out->vlan_id = be16(pkt + at) & 0x0FFF;
            out->present |= FIELD_VLAN;
        } else if (tags == 1) {
            out->vlan_id_inner = be16(pkt + at) & 0x0FFF;
            out->present |= FIELD_VLAN_INNER;
        } else {
            return;             /* a third tag: no column holds it */
        }
        type = be16(pkt + at + 2);
        at += 4;
    }
    if (type < 0x0600)          /* an 802.3 length: LLC follows */
        return;
    out->ethertype = type;
    out->present |= FIELD_ETHERTYPE;
    family = type == 0x0800 ? 4 : type == 0x86DD ? 6 : 0;

ip:
    if (family == 4)
        parse_ipv4(pkt, at, cap, out);
    else if (family == 6)
        parse_ipv6(pkt, at, cap, out);
    if (options != NULL && options->community_id && (out->present & FIELD_PROTOCOL)) {
        /* TCP, UDP and SCTP need their ports, ICMP its type and code (not
         * there in a later fragment, or a header cut short); the others
         * are hashed without. */
        int ported = out->protocol == 6 || out->protocol == 17 || out->protocol == 132;
        int icmp = out->protocol == 1 || out->protocol == 58;    /* (by number, as the reference decides) */
        if ((ported && !(out->present & FIELD_PORTS)) || (icmp && !(out->present & FIELD_ICMP)))
            return;
        out->present |= FIELD_COMMUNITY_ID;
    }
}

/* ---- columns --------------------------------------------------------------- */

static size_t ipv4_text(const uint8_t *a, char *out)
{
    return (size_t)sprintf(out, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* RFC 5952's form, as inet_ntop() writes it: the longest run of two or
 * more zero groups (the first of equal ones) as "::", hex in lower case,
 * and an IPv4-mapped or -compatible tail dotted as glibc writes it. */
static size_t ipv6_text(const uint8_t *a, char *out)
{
    uint16_t g[8];
    int i, best = -1, best_len = 0, run = -1, run_len = 0;
    size_t n = 0;
    for (i = 0; i < 8; i++)
        g[i] = be16(a + 2 * i);
    for (i = 0; i < 8; i++) {
        if (g[i] == 0) {
            if (run < 0) {
                run = i;
                run_len = 0;
            }
            run_len++;
            if (run_len > best_len) {
                best = run;
                best_len = run_len;
            }
        } else {
            run = -1;
        }
    }
    if (best_len < 2)
        best = -1;
    for (i = 0; i < 8; i++) {
        if (i == best) {
            out[n++] = ':';
            if (i + best_len == 8)
                out[n++] = ':';
            i += best_len - 1;
            continue;
        }
        if (i)
            out[n++] = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xFFFF))) {
            n += ipv4_text(a + 12, out + n);
            break;
        }
        n += (size_t)sprintf(out + n, "%x", g[i]);
    }
    out[n] = 0;
    return n;
}

/* Hand a packet's Community ID to the plan's hasher, its text to go to out
 * (or hash it here when the hasher's ring is full). */
static void plan_community_id(struct fields_plan *plan, const struct packet_fields *f, char *out)
{
    struct community_id_flow *slot = community_id_hasher_slot(&plan->hasher, out), flow;
    if (slot != NULL) {
        packet_flow(f, plan->options.seed, slot);
        community_id_hasher_commit(&plan->hasher);
        return;
    }
    packet_flow(f, plan->options.seed, &flow);
    flow_community_id(&flow, out);
}

void fields_plan_finish(struct fields_plan *plan)
{
    size_t i, j, n = plan->count;
    community_id_hasher_finish(&plan->hasher);
    if (plan->present == NULL)
        return;
    /* The bitmaps in one pass a column, eight packets a byte. */
    for (i = 0; i < plan->ncolumns; i++) {
        struct field_column *c = &plan->columns[i];
        size_t count = 0;
        if (c->valid == NULL)
            continue;
        if (!(plan->absent & c->mask)) {
            /* (Every packet has it: the common case, a byte a time.) */
            memset(c->valid, 0xFF, n / 8);
            if (n % 8)
                c->valid[n / 8] = (unsigned char)((1u << (n % 8)) - 1);
            c->valid_count = n;
            continue;
        }
        for (j = 0; j < n; j += 8) {
            unsigned bits = 0, k, one;
            for (k = 0; k < 8 && j + k < n; k++) {
                one = (plan->present[j + k] & c->mask) != 0;
                bits |= one << k;
                count += one;
            }
            c->valid[j >> 3] = (unsigned char)bits;
        }
        c->valid_count = count;
    }
}

void fields_plan_put(struct fields_plan *plan, const struct packet_fields *f, size_t index)
{
    const unsigned char *src = (const unsigned char *)f;
    size_t i;
    if (plan->present != NULL) {
        plan->present[index] = f->present;
        plan->absent |= ~f->present;
    }
    if (index >= plan->count)
        plan->count = index + 1;
    for (i = 0; i < plan->ncolumns; i++) {
        struct field_column *c = &plan->columns[i];
        switch (c->kind) {
        case COLUMN_FIXED:
            if (c->offset <= sizeof *f - FIELD_COLUMN_SLACK) {
                memcpy(c->values + index * c->width, src + c->offset, FIELD_COLUMN_SLACK);
                break;
            }
            /* (Each width its own copy: a memcpy of a constant size is a move.) */
            switch (c->width) {
            case 1: c->values[index] = src[c->offset]; break;
            case 2: memcpy(c->values + index * 2, src + c->offset, 2); break;
            case 4: memcpy(c->values + index * 4, src + c->offset, 4); break;
            case 6: memcpy(c->values + index * 6, src + c->offset, 6); break;
            case 16: memcpy(c->values + index * 16, src + c->offset, 16); break;
            default: memcpy(c->values + index * c->width, src + c->offset, c->width);
            }
            break;
        case COLUMN_RECORD:
            memcpy(c->values + index * sizeof *f, f, sizeof *f);
            if (f->present & FIELD_COMMUNITY_ID)
                plan_community_id(plan, f, (char *)c->values + index * sizeof *f +
                                  offsetof(struct packet_fields, community_id));
            break;
        case COLUMN_COMMUNITY_ID:
            if (f->present & FIELD_COMMUNITY_ID)
                plan_community_id(plan, f, (char *)c->values + index * 30);
            else
                memset(c->values + index * 30, 0, 30);     /* (a null's bytes: no stale memory) */
            break;
        case COLUMN_ADDRESS_TEXT:
            if (f->present & FIELD_IP) {
                const uint8_t *a = src + c->offset;
                c->text_used += f->ip_version == 4 ? ipv4_text(a + 12, (char *)c->values + c->text_used)
                                                   : ipv6_text(a, (char *)c->values + c->text_used);
            }
            c->offsets[index + 1] = (int32_t)c->text_used;
            break;
        }
    }
}
