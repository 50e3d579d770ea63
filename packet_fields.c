/* Header fields of a packet (packet_fields.h): the parse, the Community
 * ID (SHA-1 of one block: with the CPU's SHA instructions where it has
 * them, else in plain C) and the columns gathered out of the records. */
#include "packet_fields.h"

#include <pcap.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

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

/* ---- SHA-1 of a message of at most 55 bytes (one block) ---------------- */

static inline uint32_t rol32(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static void sha1_block_portable(uint32_t state[5], const unsigned char block[64])
{
    uint32_t w[80], a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f, k, t;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = be32(block + 4 * i);
    for (i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

#ifdef HAVE_SHA_NI
/* The same with the SHA extensions, for `count` (1 or 2) blocks at once:
 * four rounds an instruction, and two hashes interleaved so that one's
 * rounds run while the other's wait.  The message words go four to a
 * register, the first in the highest lane; m[k] is words 4k..4k+3, from
 * k = 4 on made of the four before it. */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha1_blocks_sha_ni(uint32_t *state[2], const unsigned char *block[2], int count)
{
    const __m128i reverse = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd[2], abcd0[2], e0[2], x[2], prev[2], m[2][4];
    int j, k;
    for (j = 0; j < count; j++) {
        abcd0[j] = abcd[j] = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state[j]), 0x1B);
        e0[j] = _mm_set_epi32((int)state[j][4], 0, 0, 0);
        for (k = 0; k < 4; k++)
            m[j][k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block[j] + 16 * k)), reverse);
        prev[j] = abcd[j];
        abcd[j] = _mm_sha1rnds4_epu32(abcd[j], _mm_add_epi32(e0[j], m[j][0]), 0);
    }
#define SHA1_GROUP(k, func)                                                                            \
    for (j = 0; j < count; j++) {                                                                      \
        if ((k) >= 4)                                                                                  \
            m[j][(k) & 3] = _mm_sha1msg2_epu32(                                                        \
                _mm_xor_si128(_mm_sha1msg1_epu32(m[j][(k) & 3], m[j][((k) + 1) & 3]), m[j][((k) + 2) & 3]), \
                m[j][((k) + 3) & 3]);                                                                  \
        x[j] = _mm_sha1nexte_epu32(prev[j], m[j][(k) & 3]);                                            \
        prev[j] = abcd[j];                                                                             \
        abcd[j] = _mm_sha1rnds4_epu32(abcd[j], x[j], func);                                            \
    }
    SHA1_GROUP(1, 0) SHA1_GROUP(2, 0) SHA1_GROUP(3, 0) SHA1_GROUP(4, 0)
    SHA1_GROUP(5, 1) SHA1_GROUP(6, 1) SHA1_GROUP(7, 1) SHA1_GROUP(8, 1) SHA1_GROUP(9, 1)
    SHA1_GROUP(10, 2) SHA1_GROUP(11, 2) SHA1_GROUP(12, 2) SHA1_GROUP(13, 2) SHA1_GROUP(14, 2)
    SHA1_GROUP(15, 3) SHA1_GROUP(16, 3) SHA1_GROUP(17, 3) SHA1_GROUP(18, 3) SHA1_GROUP(19, 3)
#undef SHA1_GROUP
    for (j = 0; j < count; j++) {
        e0[j] = _mm_sha1nexte_epu32(prev[j], e0[j]);
        abcd[j] = _mm_shuffle_epi32(_mm_add_epi32(abcd[j], abcd0[j]), 0x1B);
        _mm_storeu_si128((__m128i *)state[j], abcd[j]);
        state[j][4] = (uint32_t)_mm_extract_epi32(e0[j], 3);
    }
}

static int cpu_has_sha(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    if (!(b & (1u << 29)))      /* SHA */
        return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & (1u << 19)) && (c & (1u << 9));     /* SSE4.1, SSSE3 */
}
#endif

static void sha1_blocks_portable(uint32_t *state[2], const unsigned char *block[2], int count)
{
    int j;
    for (j = 0; j < count; j++)
        sha1_block_portable(state[j], block[j]);
}

typedef void (*sha1_blocks_fn)(uint32_t *state[2], const unsigned char *block[2], int count);

static sha1_blocks_fn sha1_blocks_impl;     /* chosen at the first use */
static int base64_ready;

static void base64_pairs_init(void);

int fields_sha1_hardware(int use)
{
    if (!base64_ready) {
        base64_pairs_init();
        base64_ready = 1;
    }
#ifdef HAVE_SHA_NI
    if (use < 0)
        use = cpu_has_sha();
    if (use && !cpu_has_sha())
        return -1;
    sha1_blocks_impl = use ? sha1_blocks_sha_ni : sha1_blocks_portable;
    return use;
#else
    if (use > 0)
        return -1;
    sha1_blocks_impl = sha1_blocks_portable;
    return 0;
#endif
}

/* Pad a message of at most 55 bytes, already at the start of block, to
 * SHA-1's one block. */
static void sha1_pad(unsigned char block[64], size_t len)
{
    uint64_t bits = (uint64_t)len * 8;
    int i;
    memset(block + len, 0, 64 - len);
    block[len] = 0x80;
    for (i = 0; i < 8; i++)
        block[63 - i] = (unsigned char)(bits >> (8 * i));
}

static const uint32_t SHA1_INIT[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};

/* The digests of one or two padded blocks. */
static void sha1_digests(const unsigned char *block[2], unsigned char *digest[2], int count)
{
    uint32_t s0[5], s1[5];
    uint32_t *state[2] = {s0, s1};
    int i, j;
    if (sha1_blocks_impl == NULL)
        fields_sha1_hardware(-1);
    memcpy(s0, SHA1_INIT, sizeof s0);
    memcpy(s1, SHA1_INIT, sizeof s1);
    sha1_blocks_impl(state, block, count);
    for (j = 0; j < count; j++)
        for (i = 0; i < 5; i++) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            uint32_t be = __builtin_bswap32(state[j][i]);
            memcpy(digest[j] + 4 * i, &be, 4);
#else
            digest[j][4 * i] = (unsigned char)(state[j][i] >> 24);
            digest[j][4 * i + 1] = (unsigned char)(state[j][i] >> 16);
            digest[j][4 * i + 2] = (unsigned char)(state[j][i] >> 8);
            digest[j][4 * i + 3] = (unsigned char)state[j][i];
#endif
        }
}

void fields_sha1(const unsigned char *message, size_t len, unsigned char digest[20])
{
    unsigned char block[64];
    const unsigned char *blocks[2] = {block, block};
    unsigned char *digests[2] = {digest, digest};
    memcpy(block, message, len);        /* (len <= 55: the caller's promise) */
    sha1_pad(block, len);
    sha1_digests(blocks, digests, 1);
}

/* ---- Community ID v1 ----------------------------------------------------- */

/* The ICMP type answering `type` (the spec's table, after Zeek's
 * ICMP4_counterpart/ICMP6_counterpart), or -1 when the message is one-way. */
static int icmp_counterpart(uint8_t protocol, uint8_t type)
{
    if (protocol == 1) {
        switch (type) {
        case 8: return 0;
        case 0: return 8;
        case 13: return 14;
        case 14: return 13;
        case 15: return 16;
        case 16: return 15;
        case 10: return 9;
        case 9: return 10;
        case 17: return 18;
        case 18: return 17;
        }
    } else {
        switch (type) {
        case 128: return 129;
        case 129: return 128;
        case 133: return 134;
        case 134: return 133;
        case 135: return 136;
        case 136: return 135;
        case 130: return 131;
        case 131: return 130;
        case 139: return 140;
        case 140: return 139;
        case 144: return 145;
        case 145: return 144;
        }
    }
    return -1;
}

static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The padded SHA-1 block of a flow's Community ID: the seed, the
 * addresses and ports in order (the smaller endpoint first, but for a
 * one-way ICMP message), the protocol, a zero, the ports. */
static void community_id_block(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                               uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport,
                               unsigned char block[64])
{
    const uint8_t *a = saddr, *b = daddr;
    uint16_t pa = sport, pb = dport;
    int one_way = 0, order;
    size_t n = 0;
    if (has_ports && (protocol == 1 || protocol == 58)) {
        int other = icmp_counterpart(protocol, (uint8_t)sport);
        if (other >= 0)
            pb = (uint16_t)other;
        else
            one_way = 1;    /* type and code as they are, and no reordering */
    }
    order = addr_len == 4 ? memcmp(a, b, 4) : memcmp(a, b, 16);
    if (!one_way && (order > 0 || (order == 0 && pa > pb))) {
        uint16_t t = pa;
        a = daddr;
        b = saddr;
        pa = pb;
        pb = t;
    }
    block[n++] = (unsigned char)(seed >> 8);
    block[n++] = (unsigned char)seed;
    memcpy(block + n, a, addr_len);
    n += addr_len;
    memcpy(block + n, b, addr_len);
    n += addr_len;
    block[n++] = protocol;
    block[n++] = 0;
    if (has_ports) {
        block[n++] = (unsigned char)(pa >> 8);
        block[n++] = (unsigned char)pa;
        block[n++] = (unsigned char)(pb >> 8);
        block[n++] = (unsigned char)pb;
    }
    sha1_pad(block, n);
}

/* Base64's characters for each 12 bits, two at a time (made at the first
 * fields_sha1_hardware()). */
static char BASE64_PAIRS[4096][2];

static void base64_pairs_init(void)
{
    int v;
    for (v = 0; v < 4096; v++) {
        BASE64_PAIRS[v][0] = BASE64[v >> 6];
        BASE64_PAIRS[v][1] = BASE64[v & 63];
    }
}

/* "1:" and the base64 of a digest: 30 characters. */
static void community_id_text(const unsigned char digest[20], char *out)
{
    int i;
    out[0] = '1';
    out[1] = ':';
    for (i = 0; i < 7; i++) {   /* 20 bytes: six groups of three, then two and '=' */
        uint32_t v = (uint32_t)digest[3 * i] << 16 | (uint32_t)digest[3 * i + 1] << 8 |
                     (i < 6 ? digest[3 * i + 2] : 0);
        memcpy(out + 2 + 4 * i, BASE64_PAIRS[v >> 12], 2);
        memcpy(out + 4 + 4 * i, BASE64_PAIRS[v & 4095], 2);
    }
    out[29] = '=';
}

void community_id_v1(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                     uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport, char out[32])
{
    unsigned char block[64], digest[20];
    const unsigned char *blocks[2] = {block, block};
    unsigned char *digests[2] = {digest, digest};
    community_id_block(seed, saddr, daddr, addr_len, protocol, has_ports, sport, dport, block);
    sha1_digests(blocks, digests, 1);
    community_id_text(digest, out);
    out[30] = out[31] = 0;
}

/* The block of a parsed packet's Community ID. */
static void packet_community_block(const struct packet_fields *f, uint16_t seed, unsigned char block[64])
{
    int icmp = f->protocol == 1 || f->protocol == 58;
    int has_ports = icmp || f->protocol == 6 || f->protocol == 17 || f->protocol == 132;
    uint16_t sport = icmp ? f->icmp_type : f->src_port, dport = icmp ? f->icmp_code : f->dst_port;
    if (f->ip_version == 4)
        community_id_block(seed, f->src + 12, f->dst + 12, 4, f->protocol, has_ports, sport, dport, block);
    else
        community_id_block(seed, f->src, f->dst, 16, f->protocol, has_ports, sport, dport, block);
}

void packet_fields_community_id(struct packet_fields *f, uint16_t seed)
{
    unsigned char block[64], digest[20];
    const unsigned char *blocks[2] = {block, block};
    unsigned char *digests[2] = {digest, digest};
    if (!(f->present & FIELD_COMMUNITY_ID))
        return;
    packet_community_block(f, seed, block);
    sha1_digests(blocks, digests, 1);
    community_id_text(digest, f->community_id);
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

void packet_fields_parse(const unsigned char *pkt, uint32_t caplen, int dlt,
                         const struct fields_options *options, struct packet_fields *out)
{
    size_t cap = caplen, at = 0, hlen = 0;
    uint16_t type = 0;
    int family = 0, tags;
    memset(out, 0, sizeof *out);
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

/* Hash the waiting Community ID and, when `block` is not NULL, the one of
 * `block` with it; write their text. */
static void plan_hash(struct fields_plan *plan, const unsigned char *block, char *out)
{
    unsigned char d0[20], d1[20];
    const unsigned char *blocks[2] = {plan->pending_block, block};
    unsigned char *digests[2] = {d0, d1};
    sha1_digests(blocks, digests, block != NULL ? 2 : 1);
    community_id_text(d0, plan->pending_out);
    if (block != NULL)
        community_id_text(d1, out);
    plan->pending_out = NULL;
}

static void plan_community_id(struct fields_plan *plan, const struct packet_fields *f, char *out)
{
    unsigned char block[64];
    if (plan->pending_out == NULL) {
        packet_community_block(f, plan->options.seed, plan->pending_block);
        plan->pending_out = out;
        return;
    }
    packet_community_block(f, plan->options.seed, block);
    plan_hash(plan, block, out);
}

void fields_plan_finish(struct fields_plan *plan)
{
    size_t i, j, n = plan->count;
    if (plan->pending_out != NULL)
        plan_hash(plan, NULL, NULL);
    if (plan->present == NULL)
        return;
    /* The bitmaps in one pass a column, eight packets a byte. */
    for (i = 0; i < plan->ncolumns; i++) {
        struct field_column *c = &plan->columns[i];
        size_t count = 0;
        if (c->valid == NULL)
            continue;
        for (j = 0; j < n; j += 8) {
            unsigned bits = 0, k;
            for (k = 0; k < 8 && j + k < n; k++)
                bits |= (unsigned)((plan->present[j + k] & c->mask) != 0) << k;
            c->valid[j >> 3] = (unsigned char)bits;
            count += (size_t)__builtin_popcount(bits);
        }
        c->valid_count = count;
    }
}

void fields_plan_put(struct fields_plan *plan, const struct packet_fields *f, size_t index)
{
    const unsigned char *src = (const unsigned char *)f;
    size_t i;
    if (plan->present != NULL)
        plan->present[index] = f->present;
    if (index >= plan->count)
        plan->count = index + 1;
    for (i = 0; i < plan->ncolumns; i++) {
        struct field_column *c = &plan->columns[i];
        switch (c->kind) {
        case COLUMN_FIXED:
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
