#include "pcapng_reader.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define OPT_ENDOFOPT 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14
#define OPT_EPB_FLAGS 2

/* libpcap's largest block once it knows the largest packet
 * (MAX_BLOCKSIZE_FOR_SNAPLEN in sf-pcapng.c). */
#define MAX_BLOCK_FOR(caplen) (8u + 20u + (caplen) + 131072u + 4u)

static uint16_t get16(const struct pcapng_reader *r, const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return r->swapped ? (uint16_t)(v << 8 | v >> 8) : v;
}

static uint64_t get64(const struct pcapng_reader *r, const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    if (r->swapped)
        v = (uint64_t)swap32((uint32_t)v) << 32 | swap32((uint32_t)(v >> 32));
    return v;
}

int pcapng_reader_init(struct pcapng_reader *r, struct savefile_stream *s, int precision)
{
    memset(r, 0, sizeof(*r));
    r->s = s;
    r->swapped = s->swapped;
    r->units = precision == PCAP_TSTAMP_PRECISION_NANO ? 1000000000u : 1000000u;
    r->max_block = PCAPNG_MAX_BLOCK;
    return 0;
}

static void forget_interfaces(struct pcapng_reader *r)
{
    uint32_t i;

    for (i = 0; i < r->count; i++) {
        free(r->iface[i].idb);
        free(r->iface[i].isb);
    }
    r->count = 0;
    r->ready = 0;
    r->unfiltered = 0;
    r->changes++;
}

void pcapng_reader_free(struct pcapng_reader *r)
{
    forget_interfaces(r);
    free(r->iface);
    r->iface = NULL;
    r->room = 0;
}

/* The DLT_ of this platform for a LINKTYPE_ (linktype_to_dlt in libpcap's
 * pcap-common.c): the same number but for these. */
int dlt_of_linktype(int linktype)
{
    switch (linktype) {
    case 100: return DLT_ATM_RFC1483;
    case 101: return DLT_RAW;
    case 102: return DLT_SLIP_BSDOS;
    case 103: return DLT_PPP_BSDOS;
#ifdef DLT_PFSYNC
    case 246: return DLT_PFSYNC;
#endif
#ifdef DLT_PKTAP
    case 258: return DLT_PKTAP;
#endif
#ifdef DLT_FR
    case 107: return DLT_FR;
#endif
#ifdef DLT_HDLC
    case 112: return DLT_HDLC;
#endif
#ifdef DLT_C_HDLC
    case 104: return DLT_C_HDLC;
#endif
#ifdef DLT_LOOP
    case 108: return DLT_LOOP;
#endif
#ifdef DLT_ENC
    case 109: return DLT_ENC;
#endif
    default: return linktype;
    }
}

static int fail(struct pcapng_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct pcapng_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return RECORD_ERROR;
}

static int too_short(struct pcapng_reader *r, uint32_t type)
{
    return fail(r, "block of type %u in pcapng dump file is too short", type);
}

/* The time stamp units and offset of an interface from the options of its
 * description block b (total bytes): Wireshark's reading, the first valid
 * if_tsresol and if_tsoffset, with libpcap's limits on if_tsresol.  Returns
 * 0, or RECORD_ERROR. */
static int interface_options(struct pcapng_reader *r, const unsigned char *b, uint32_t total,
                             struct pcapng_interface *i)
{
    uint32_t at = 16, end = total - 4, len, padded;
    uint16_t code;
    int seen_tsresol = 0, seen_tsoffset = 0, binary = 0;
    unsigned char v;

    i->tsresol = 1000000;
    i->tsoffset = 0;
    while (at < end) {
        if (end - at < 4)
            return too_short(r, BT_IDB);
        code = get16(r, b + at);
        len = get16(r, b + at + 2);
        padded = (len + 3) & ~3u;
        if (end - at - 4 < padded)
            return too_short(r, BT_IDB);
        if (code == OPT_ENDOFOPT)
            break;
        if (code == OPT_IF_TSRESOL && len == 1 && !seen_tsresol) {
            seen_tsresol = 1;
            v = b[at + 4];
            if (v & 0x80) {
                if ((v & 0x7f) > 63)
                    return fail(r, "Interface Description Block if_tsresol option resolution 2^-%u is too high",
                                v & 0x7f);
                binary = 1;
                i->tsresol = (uint64_t)1 << (v & 0x7f);
            } else {
                if (v > 19)
                    return fail(r, "Interface Description Block if_tsresol option resolution 10^-%u is too high",
                                v);
                i->tsresol = 1;
                while (v--)
                    i->tsresol *= 10;
            }
        } else if (code == OPT_IF_TSOFFSET && len == 8 && !seen_tsoffset) {
            seen_tsoffset = 1;
            i->tsoffset = (int64_t)get64(r, b + at + 4);
        }
        at += 4 + padded;
    }
    if (i->tsresol == r->units) {
        i->scale = SCALE_NONE;
    } else if (binary) {
        i->scale = SCALE_BIN;
    } else if (i->tsresol > r->units) {
        i->scale = SCALE_DOWN_DEC;
        i->factor = i->tsresol / r->units;
    } else {
        i->scale = SCALE_UP_DEC;
        i->factor = r->units / i->tsresol;
    }
    return 0;
}

static unsigned char *copy_block(const unsigned char *b, uint32_t total)
{
    unsigned char *c = malloc(total);
    if (c != NULL)
        memcpy(c, b, total);
    return c;
}

static int add_interface(struct pcapng_reader *r, const unsigned char *b, uint32_t total)
{
    struct pcapng_interface *i;
    uint32_t max_caplen;

    if (total < 20)
        return too_short(r, BT_IDB);
    if (r->count == r->room) {
        uint32_t room = r->room ? r->room * 2 : 4;
        struct pcapng_interface *more = room > r->room ? realloc(r->iface, room * sizeof *more) : NULL;
        if (more == NULL)
            return fail(r, "out of memory for per-interface information (%u interfaces)", r->count + 1);
        r->iface = more;
        r->room = room;
    }
    i = &r->iface[r->count];
    memset(i, 0, sizeof *i);
    i->linktype = get16(r, b + 8);
    i->dlt = dlt_of_linktype(i->linktype);
    i->snaplen = pcapng_get32(r, b + 12);
    i->max_caplen = max_caplen_for_dlt(i->dlt);
    if (interface_options(r, b, total, i) < 0)
        return RECORD_ERROR;
    if (link_type_post_processed(i->dlt, r->swapped))
        return fail(r, "interface %u has link type %d in a section of %s byte order, whose packets libpcap "
                       "rewrites; this reader reads that link type only for the first interface of a file",
                    r->count, i->linktype, r->swapped ? "the other" : "this");
    /* (Copied last: an interface refused is not counted, and forget_interfaces() would not free it.) */
    i->idb = copy_block(b, total);
    if (i->idb == NULL)
        return fail(r, "out of memory");
    i->idb_len = total;
    max_caplen = i->max_caplen;
    if (MAX_BLOCK_FOR(max_caplen) > r->max_block)
        r->max_block = MAX_BLOCK_FOR(max_caplen);
    r->count++;
    if (!r->filtering)
        r->ready = r->count;    /* (filtering: once it has its program) */
    r->changes++;
    return 0;
}

static int note_statistics(struct pcapng_reader *r, const unsigned char *b, uint32_t total)
{
    uint32_t id;
    struct pcapng_interface *i;

    if (total < 24)
        return 0;       /* (libpcap passes over every statistics block) */
    id = pcapng_get32(r, b + 8);
    if (id >= r->count)
        return 0;
    i = &r->iface[id];
    free(i->isb);
    i->isb = copy_block(b, total);
    i->isb_len = i->isb ? total : 0;
    if (i->isb == NULL)
        return fail(r, "out of memory");
    r->changes++;
    return 0;
}

static int section_swapped(const unsigned char *p);

/* A section header at p (whole): its byte order, and a fresh section. */
static int new_section(struct pcapng_reader *r, const unsigned char *p, uint32_t total)
{
    int swapped = section_swapped(p);   /* (whole_block made sure it is one of the two) */
    uint16_t major;

    if (total < PCAPNG_MIN_SHB)
        return too_short(r, BT_SHB);
    memcpy(&major, p + 12, 2);
    if (swapped)
        major = (uint16_t)(major << 8 | major >> 8);
    if (major != 1)
        return fail(r, "unknown pcapng savefile major version number %u", major);
    /* The section's byte order from here only, with its interfaces: the
     * ones before, and the packet last read, are in the other section's.
     * That packet is forgotten with them (Python reads its options in the
     * reader's byte order, and it names an interface that is gone). */
    forget_interfaces(r);
    r->swapped = swapped;
    r->packet_type = 0;
    r->section++;
    return 0;
}

/* The byte order of the section header at p (at least 12 bytes): whether it
 * is the other one, or -1 for a bad byte-order magic. */
static int section_swapped(const unsigned char *p)
{
    uint32_t magic;
    memcpy(&magic, p + 8, 4);
    if (magic == BYTE_ORDER_MAGIC)
        return 0;
    if (swap32(magic) == BYTE_ORDER_MAGIC)
        return 1;
    return -1;
}

/* stream_fill() for the reader.  Bytes that move (to the front of the
 * buffer, or into a larger one) take the block of the packet last handed
 * out with them: that packet is forgotten, as Python may still read its
 * options from packet_block. */
static size_t fill(struct pcapng_reader *r, size_t want)
{
    struct savefile_stream *s = r->s;
    const unsigned char *buf = s->buf;
    size_t pos = s->pos, avail = stream_fill(s, want);

    if (s->buf != buf || s->pos != pos)
        r->packet_type = 0;
    return avail;
}

/* Make the whole block at pos available: its total length, or 0 with *rc
 * set (RECORD_WAIT, RECORD_END, RECORD_ERROR). */
static uint32_t whole_block(struct pcapng_reader *r, int *rc)
{
    struct savefile_stream *s = r->s;
    size_t avail = fill(r, PCAPNG_MIN_BLOCK);
    uint32_t total, v;
    int swapped = r->swapped, order, bad_magic = 0;

    if (avail < PCAPNG_BLOCK_HEADER) {
        if (stream_may_grow(s)) {
            *rc = RECORD_WAIT;
        } else if (s->err) {
            *rc = fail(r, "error reading dump file: %s", strerror(s->err));
        } else if (avail == 0) {
            *rc = RECORD_END;
        } else {
            *rc = fail(r, "truncated pcapng dump file; tried to read %zu bytes, only got %zu",
                       (size_t)PCAPNG_BLOCK_HEADER, avail);
        }
        return 0;
    }
    if (pcapng_get32(r, s->buf + s->pos) == BT_SHB) {
        /* A section header says its byte order after its length (the
         * reader takes it in new_section(): until then the packet
         * last read is still of the section before). */
        if (avail < PCAPNG_MIN_BLOCK && stream_may_grow(s)) {
            *rc = RECORD_WAIT;
            return 0;
        }
        order = avail >= PCAPNG_MIN_BLOCK ? section_swapped(s->buf + s->pos) : -1;
        if (order >= 0)
            swapped = order;    /* (the reader's once new_section has read it) */
        else
            bad_magic = 1;      /* reported once the block is read, as libpcap does */
    }
    memcpy(&v, s->buf + s->pos + 4, 4);
    total = swapped ? swap32(v) : v;
    if (total < PCAPNG_MIN_BLOCK) {
        *rc = fail(r, "block in pcapng dump file has a length of %u < %zu", total, (size_t)PCAPNG_MIN_BLOCK);
        return 0;
    }
    if (total % 4) {
        *rc = fail(r, "block in pcapng dump file has a length of %u that is not a multiple of 4", total);
        return 0;
    }
    if (total > r->max_block) {
        *rc = fail(r, "pcapng block size %u > maximum %u", total, r->max_block);
        return 0;
    }
    avail = fill(r, total);
    if (avail < total) {
        if (stream_may_grow(s))
            *rc = RECORD_WAIT;
        else if (s->err)
            *rc = fail(r, "error reading dump file: %s", strerror(s->err));
        else
            *rc = fail(r, "truncated pcapng dump file; tried to read %zu bytes, only got %zu",
                       (size_t)total - PCAPNG_BLOCK_HEADER, avail - PCAPNG_BLOCK_HEADER);
        return 0;
    }
    /* (libpcap opens a file without looking at its first trailer.) */
    memcpy(&v, s->buf + s->pos + total - 4, 4);
    if ((swapped ? swap32(v) : v) != total && !(r->section == 0 && s->pos == 0)) {
        *rc = fail(r, "block total length in header and trailer don't match");
        return 0;
    }
    if (bad_magic) {
        *rc = fail(r, "the file has a section with a bad byte order magic field");
        return 0;
    }
    return total;
}

int pcapng_first_interface(struct pcapng_reader *r, int *linktype, uint32_t *snaplen, uint64_t *tsresol)
{
    struct savefile_stream *s = r->s;
    size_t at = 0;
    uint32_t total, type;
    struct pcapng_interface i;

    *linktype = -1;
    *snaplen = 0;
    *tsresol = 1000000;
    if (s->end - s->pos < PCAPNG_MIN_SHB) {
        fail(r, "the file is too short to be a pcapng file");
        return 0;
    }
    if (section_swapped(s->buf + s->pos) < 0) {
        fail(r, "the file has a section with a bad byte order magic field");
        return 0;
    }
    r->swapped = section_swapped(s->buf + s->pos);
    if (get16(r, s->buf + s->pos + 12) != 1 || (get16(r, s->buf + s->pos + 14) != 0
                                               && get16(r, s->buf + s->pos + 14) != 2)) {
        fail(r, "unsupported pcapng savefile version %u.%u", get16(r, s->buf + s->pos + 12),
             get16(r, s->buf + s->pos + 14));
        return 0;
    }
    while (s->pos + at + PCAPNG_MIN_BLOCK <= s->end) {
        type = pcapng_get32(r, s->buf + s->pos + at);
        total = pcapng_get32(r, s->buf + s->pos + at + 4);
        if (total < PCAPNG_MIN_BLOCK || total % 4 || total > s->end - s->pos - at
            || (at > 0 && pcapng_get32(r, s->buf + s->pos + at + total - 4) != total)) {
            fail(r, "block total length in header and trailer don't match");
            return 0;
        }
        if (type == BT_EPB || type == BT_SPB || type == BT_PB) {
            fail(r, "the capture file has a packet block before any Interface Description Blocks");
            return 0;
        }
        if (type == BT_IDB) {
            if (total < 20) {
                too_short(r, BT_IDB);
                return 0;
            }
            memset(&i, 0, sizeof i);
            if (interface_options(r, s->buf + s->pos + at, total, &i) < 0)
                return 0;
            *linktype = get16(r, s->buf + s->pos + at + 8);
            *snaplen = pcapng_get32(r, s->buf + s->pos + at + 12);
            *tsresol = i.tsresol;
            return 1;
        }
        at += total;
    }
    if (s->pos + at != s->end) {
        fail(r, "truncated pcapng dump file");
        return 0;
    }
    return 1;
}

/* The packet of the packet block at p (Enhanced, when pcapng_epb()
 * declined it; Simple; obsolete Packet Block): fills r->hdr and the
 * packet_* fields.  Returns RECORD_PACKET or RECORD_ERROR. */
static int packet_block(struct pcapng_reader *r, const unsigned char *p, uint32_t type, uint32_t total)
{
    uint32_t id, caplen, head, room;
    uint64_t t = 0;
    const struct pcapng_interface *i;

    if (type == BT_EPB || type == BT_PB) {
        /* The same fields but the interface id: 32 bits, or 16 and a drop count. */
        if (total < PCAPNG_EPB_MIN)
            return too_short(r, type);
        id = type == BT_EPB ? pcapng_get32(r, p + 8) : get16(r, p + 8);
        t = (uint64_t)pcapng_get32(r, p + 12) << 32 | pcapng_get32(r, p + 16);
        caplen = pcapng_get32(r, p + 20);
        r->hdr.len = pcapng_get32(r, p + 24);
        head = PCAPNG_EPB_DATA;
    } else {
        if (total < 16)
            return too_short(r, type);
        id = 0;
        r->hdr.len = pcapng_get32(r, p + 8);
        caplen = r->hdr.len;
        head = 12;
    }
    if (id >= r->count)
        return fail(r, "a packet arrived on interface %u, but there's no Interface Description Block "
                       "for that interface", id);
    i = &r->iface[id];
    if (type == BT_SPB) {
        /* Cut to the interface's snapshot length, as the writer cut it. */
        uint32_t snap = i->snaplen == 0 || i->snaplen > INT_MAX ? i->max_caplen : i->snaplen;
        if (caplen > snap)
            caplen = snap;
    }
    if (caplen > i->max_caplen)
        return fail(r, "invalid packet capture length %u, bigger than maximum of %u", caplen, i->max_caplen);
    room = total - head - 4;
    if (caplen > room)
        return too_short(r, type);
    pcapng_stamp(r, i, t, &r->hdr);
    r->hdr.caplen = caplen;
    r->packet_iface = id;
    r->packet_type = type;
    r->packet_section = r->section;
    r->packet_block = p;
    r->packet_len = total;
    r->packet_options = type == BT_SPB ? total - 4 : head + ((caplen + 3) & ~3u);
    if (r->packet_options > total - 4)
        r->packet_options = total - 4;
    return RECORD_PACKET;
}

static int is_packet_block(uint32_t type)
{
    return type == BT_EPB || type == BT_SPB || type == BT_PB;
}

/* What a block other than a packet block at p (whole) changes: 0, or
 * RECORD_ERROR. */
static int read_other(struct pcapng_reader *r, const unsigned char *p, uint32_t type, uint32_t total)
{
    switch (type) {
    case BT_SHB:
        return new_section(r, p, total);
    case BT_IDB:
        return add_interface(r, p, total);
    case BT_ISB:
        return note_statistics(r, p, total);
    default:
        return 0;   /* name resolution, secrets, custom, unknown: passed over */
    }
}

/* Read the block at pos unless it is a packet block: 1 if it was read, 0
 * if it is a packet (or not whole yet, or the end), RECORD_ERROR. */
static int other_block(struct pcapng_reader *r)
{
    struct savefile_stream *s = r->s;
    uint32_t total, type;
    const unsigned char *p;
    int rc = 0;

    total = whole_block(r, &rc);
    if (total == 0)
        return rc == RECORD_ERROR ? RECORD_ERROR : 0;
    p = s->buf + s->pos;
    type = pcapng_get32(r, p);
    if (is_packet_block(type))
        return 0;
    rc = read_other(r, p, type, total);
    if (rc < 0)
        return rc;
    s->pos += total;
    return 1;
}

void pcapng_read_ahead(struct pcapng_reader *r)
{
    struct savefile_stream *s = r->s;

    /* Only blocks already whole in the buffer: reading more could move
     * the bytes of the packet last handed out.  (A damaged block stays
     * where it is, for the next read to report.)  Not into the next
     * section once a packet of this one has been read: the interfaces are
     * those of the packet last read, whose interface_id indexes them,
     * whatever the buffer holds past it. */
    int stop_at_section = r->packet_type != 0 && r->packet_section == r->section;

    while (s->end - s->pos >= PCAPNG_MIN_BLOCK && pcapng_get32(r, s->buf + s->pos + 4) <= s->end - s->pos
           && pcapng_get32(r, s->buf + s->pos + 4) >= PCAPNG_MIN_BLOCK
           && !(stop_at_section && pcapng_get32(r, s->buf + s->pos) == BT_SHB) && other_block(r) == 1)
        ;
}

int pcapng_next_slow(struct pcapng_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    uint32_t total, type;
    const unsigned char *p;
    int rc = 0;

    for (;;) {
        if (r->filtering && r->unfiltered < r->count)
            return RECORD_INTERFACE;
        rc = other_block(r);
        if (rc < 0)
            return rc;
        if (rc == 1)
            continue;
        total = whole_block(r, &rc);
        if (total == 0)
            return rc;
        p = s->buf + s->pos;
        type = pcapng_get32(r, p);
        rc = packet_block(r, p, type, total);
        if (rc != RECORD_PACKET)
            return rc;
        *hdr = &r->hdr;
        *data = p + (type == BT_SPB ? 12 : PCAPNG_EPB_DATA);
        s->pos += total;
        return RECORD_PACKET;
    }
}

#define OPT_COMMENT 1

/* The next option of the packet last read from *at (its options'
 * start first): 1 with *code, *value and *len, *at moved past it; 0 at
 * the end of its options (opt_endofopt, or one cut short). */
static int packet_option(const struct pcapng_reader *r, uint32_t *at, uint16_t *code, const unsigned char **value,
                         uint32_t *len)
{
    const unsigned char *b = r->packet_block;
    uint32_t end = r->packet_len - 4;

    if ((r->packet_type != BT_EPB && r->packet_type != BT_PB) || *at >= end || end - *at < 4)
        return 0;
    *code = get16(r, b + *at);
    *len = get16(r, b + *at + 2);
    if (*code == OPT_ENDOFOPT || end - *at - 4 < ((*len + 3) & ~3u))
        return 0;
    *value = b + *at + 4;
    *at += 4 + ((*len + 3) & ~3u);
    return 1;
}

/* The comments of the packet last read, one after the other with '\n'
 * between, copied to out when it has room: their length. */
static size_t packet_comments(const struct pcapng_reader *r, unsigned char *out, size_t room)
{
    uint32_t at = r->packet_options, len;
    uint16_t code;
    const unsigned char *value;
    size_t need = 0;

    while (packet_option(r, &at, &code, &value, &len)) {
        if (code != OPT_COMMENT)
            continue;
        if (need && out != NULL && need < room)
            out[need] = '\n';
        need += need ? 1 : 0;
        if (out != NULL && need + len <= room)
            memcpy(out + need, value, len);
        need += len;
    }
    return need;
}

int pcapng_put(struct pcapng_reader *r, struct batch_fill *f, const struct pcap_pkthdr *h,
               const unsigned char *bytes)
{
    size_t need = 0;
    uint32_t len;
    unsigned char *rec;
    int no_options;

    int data_full = f->data != NULL && h->caplen > f->size - f->used;

    if (f->fields != NULL || f->triage != NULL)
        f->dlt = r->iface[r->packet_iface].dlt;
    if (f->records == NULL || f->record_size == sizeof(struct batch_record)) {
        if (data_full && f->count > 0)
            return 0;
        batch_put(f, h, bytes);
        return 1;
    }
    /* (A block without options has no flags or comments: no walk for them.) */
    no_options = r->packet_options >= r->packet_len - 4;
    if (f->comments != NULL && !no_options)
        need = packet_comments(r, NULL, 0);
    if ((data_full || need > f->comments_size - f->comments_used) && f->count > 0)
        return 0;
    if (need > f->comments_size - f->comments_used || need > UINT32_MAX) {
        f->comments_too_large = need;
        return 1;
    }
    if (batch_put_meta(f, h, bytes, r->packet_iface, no_options ? 0 : pcapng_packet_flags(r)) && need) {
        packet_comments(r, f->comments + f->comments_used, need);
        f->comments_used += need;
        len = (uint32_t)need;
        rec = f->records + (f->count - 1) * f->record_size;
        memcpy(rec + offsetof(struct batch_record_ng, comment_len), &len, sizeof len);
    }
    return 1;
}

int pcapng_next_block(struct pcapng_reader *r, uint32_t *type, uint32_t *total)
{
    struct savefile_stream *s = r->s;
    const unsigned char *p;
    int rc = 0;

    *total = whole_block(r, &rc);
    if (*total == 0)
        return rc;
    p = s->buf + s->pos;
    *type = pcapng_get32(r, p);
    rc = is_packet_block(*type) ? packet_block(r, p, *type, *total) : read_other(r, p, *type, *total);
    if (rc < 0)
        return rc;
    s->pos += *total;
    return RECORD_BLOCK;
}

uint32_t pcapng_packet_flags(const struct pcapng_reader *r)
{
    uint32_t at = r->packet_options, len;
    uint16_t code;
    const unsigned char *value;

    while (packet_option(r, &at, &code, &value, &len)) {
        if (code == OPT_EPB_FLAGS && len == 4)
            return pcapng_get32(r, value);
    }
    return 0;
}

size_t pcapng_fill(struct pcapng_reader *r, struct batch_fill *f, size_t limit)
{
    struct savefile_stream *s = r->s;
    size_t looked = 0, need;
    uint32_t total;
    struct pcap_pkthdr h;
    const unsigned char *bytes;

    while (looked < limit && batch_has_room(f)) {
        total = pcapng_epb(r, s->buf + s->pos, s->end - s->pos, &h);
        if (total == 0) {
            /* Perhaps only not all here yet: read up to the whole block. */
            need = s->end - s->pos >= 8 ? pcapng_get32(r, s->buf + s->pos + 4) : PCAPNG_EPB_MIN;
            if (need <= s->end - s->pos || need > r->max_block || fill(r, need) < need)
                break;
            total = pcapng_epb(r, s->buf + s->pos, s->end - s->pos, &h);
            if (total == 0)
                break;
        }
        bytes = s->buf + s->pos + PCAPNG_EPB_DATA;
        if (pcapng_passes(r, r->packet_iface, &h, bytes) && !pcapng_put(r, f, &h, bytes))
            break;      /* it waits for the next batch */
        s->pos += total;
        looked++;
        if (f->too_large || f->comments_too_large)
            break;      /* the caller raises: nothing after it goes in */
    }
    return looked;
}

/* An option's value bytes in our byte order: fields of known width of the
 * packet options pcapng defines, and the Private Enterprise Number that
 * custom options begin with; others are bytes, copied as they are. */
static void option_native(const struct pcapng_reader *r, uint16_t code, const unsigned char *value, uint32_t len,
                          unsigned char *out)
{
    memcpy(out, value, len);
    if (!r->swapped)
        return;
    if ((code == OPT_EPB_FLAGS || code == 6 /* epb_queue */) && len == 4) {
        uint32_t v = pcapng_get32(r, value);
        memcpy(out, &v, 4);
    } else if ((code == 4 /* epb_dropcount */ || code == 5 /* epb_packetid */) && len == 8) {
        uint64_t v = get64(r, value);
        memcpy(out, &v, 8);
    } else if ((code == 2988 || code == 2989 || code == 19372 || code == 19373) && len >= 4) {
        uint32_t v = pcapng_get32(r, value);
        memcpy(out, &v, 4);
    }
}

size_t pcapng_packet_options_native(const struct pcapng_reader *r, unsigned char *out, size_t room)
{
    uint32_t at = r->packet_options, len;
    uint16_t code, head[2];
    const unsigned char *value;
    size_t need = 0;

    while (packet_option(r, &at, &code, &value, &len)) {
        size_t padded = (len + 3) & ~(size_t)3;
        if (out != NULL && need + 4 + padded <= room) {
            head[0] = code;
            head[1] = (uint16_t)len;
            memcpy(out + need, head, 4);
            option_native(r, code, value, len, out + need + 4);
            memset(out + need + 4 + len, 0, padded - len);
        }
        need += 4 + padded;
    }
    if (r->packet_type == BT_PB) {
        uint16_t drops = get16(r, r->packet_block + 10);
        if (drops != 0xFFFF) {
            uint64_t v = drops;
            if (out != NULL && need + 12 <= room) {
                head[0] = 4;
                head[1] = 8;
                memcpy(out + need, head, 4);
                memcpy(out + need + 4, &v, 8);
            }
            need += 12;
        }
    }
    if (need) {
        if (out != NULL && need + 4 <= room)
            memset(out + need, 0, 4);
        need += 4;
    }
    return need;
}
