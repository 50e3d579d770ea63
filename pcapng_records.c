#include "pcapng_records.h"

#define OPT_ENDOFOPT 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

static uint16_t get16(const struct pcapng_reader *r, const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return r->swapped ? (uint16_t)(v << 8 | v >> 8) : v;
}

/* Note the interface of the Interface Description Block b (total bytes): its
 * packets are read here when its time stamps are plain microseconds or
 * nanoseconds from offset 0, and its link type is the first interface's
 * (libpcap 1.10 refuses another; 1.8 and 1.9 take it). */
static void note_interface(struct pcapng_reader *r, const unsigned char *b, uint32_t total)
{
    uint32_t n = r->interfaces++;
    uint64_t units = 1000000;       /* no if_tsresol: microseconds */
    int usable = total >= 20, seen_tsresol = 0;
    size_t at = 16, end = total - 4, len;
    uint16_t code;

    if (n >= PCAPNG_INTERFACES)
        return;
    if (usable && n == 0)
        r->linktype = get16(r, b + 8);
    if (usable && get16(r, b + 8) != r->linktype)
        usable = 0;
    while (usable && at + 4 <= end) {
        code = get16(r, b + at);
        len = get16(r, b + at + 2);
        if (code == OPT_ENDOFOPT)
            break;
        if (at + 4 + len > end) {
            usable = 0;
        } else if (code == OPT_IF_TSRESOL) {
            usable = !seen_tsresol && len == 1 && (b[at + 4] == 6 || b[at + 4] == 9);
            units = b[at + 4] == 9 ? 1000000000u : 1000000u;
            seen_tsresol = 1;
        } else if (code == OPT_IF_TSOFFSET) {
            usable = 0;
        }
        at += 4 + ((len + 3) & ~(size_t)3);
    }
    r->iface[n].units = usable ? units : 0;
    r->iface[n].ns_per_unit = units == 1000000u ? 1000 : 1;
}

int pcapng_reader_scan(struct pcapng_reader *r, struct savefile_stream *s)
{
    size_t at = 0;
    uint32_t total;

    memset(r, 0, sizeof(*r));
    r->s = s;
    r->swapped = s->swapped;
    if (s->format != FORMAT_PCAPNG)
        return 0;
    while (s->pos + at + PCAPNG_MIN_BLOCK <= s->limit) {
        total = pcapng_get32(r, s->buf + s->pos + at + 4);
        if (total < PCAPNG_MIN_BLOCK || total % 4 || s->pos + at + total > s->limit)
            break;
        if (pcapng_get32(r, s->buf + s->pos + at) == BT_IDB)
            note_interface(r, s->buf + s->pos + at, total);
        at += total;
    }
    return r->interfaces == 1 && r->iface[0].units != 0;
}

int pcapng_reader_init(struct pcapng_reader *r, pcap_t *p)
{
    r->snapshot = (uint32_t)pcap_snapshot(p);
    return !link_type_rewritten(pcap_datalink(p), r->swapped);
}

/* How many bytes after pos libpcap reads for its next packet: the blocks up
 * to and with the next packet block.  0 while a pipe has not brought them
 * all; at the end of the data, all there is. */
static size_t libpcap_span(struct pcapng_reader *r)
{
    struct savefile_stream *s = r->s;
    size_t at = 0;
    uint32_t type, total;

    for (;;) {
        if (stream_fill(s, at + 8) < at + 8)
            return stream_may_grow(s) ? 0 : s->end - s->pos;
        type = pcapng_get32(r, s->buf + s->pos + at);
        total = pcapng_get32(r, s->buf + s->pos + at + 4);
        if (total < PCAPNG_MIN_BLOCK || total % 4 || total > PCAPNG_MAX_BLOCK)
            return at + 8;                 /* libpcap refuses it at its header */
        if (stream_fill(s, at + total) < at + total)
            return stream_may_grow(s) ? 0 : s->end - s->pos;
        at += total;
        if (type == BT_EPB || type == BT_SPB || type == BT_PB)
            return at;
    }
}

int pcapng_next_slow(struct pcapng_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    size_t span, at;
    uint32_t type, total;

    span = libpcap_span(r);
    if (span == 0 && stream_may_grow(s))
        return RECORD_WAIT;
    if (s->pos == s->end && !s->err)
        return RECORD_END;
    /* All of the next packet is here now: read it here if it is plain. */
    total = pcapng_plain_epb(r, s->buf + s->pos, s->end - s->pos, &r->hdr);
    if (total) {
        *hdr = &r->hdr;
        *data = s->buf + s->pos + 28;
        s->pos += total;
        return RECORD_PACKET;
    }
    /* libpcap reads these blocks: note the interfaces among them first. */
    for (at = 0; at + PCAPNG_MIN_BLOCK <= span; at += total) {
        type = pcapng_get32(r, s->buf + s->pos + at);
        total = pcapng_get32(r, s->buf + s->pos + at + 4);
        if (total < PCAPNG_MIN_BLOCK || total % 4 || at + total > span)
            break;
        if (type == BT_SHB)
            r->libpcap_only = 1;       /* a new section: libpcap reads it all */
        else if (type == BT_IDB && !r->libpcap_only)
            note_interface(r, s->buf + s->pos + at, total);
    }
    if (r->libpcap_only)
        r->interfaces = 0;
    return RECORD_LIBPCAP;
}

size_t pcapng_fill(struct pcapng_reader *r, struct batch_fill *f, const struct bpf_program *prog, size_t limit)
{
    struct savefile_stream *s = r->s;
    size_t looked = 0, need;
    uint32_t total;
    struct pcap_pkthdr h;
    const unsigned char *bytes;

    while (looked < limit && batch_has_room(f)) {
        total = pcapng_plain_epb(r, s->buf + s->pos, s->end - s->pos, &h);
        if (total == 0) {
            /* Perhaps only not all here yet: read up to the whole block. */
            need = s->end - s->pos >= 8 ? pcapng_get32(r, s->buf + s->pos + 4) : PCAPNG_EPB_MIN;
            if (need <= s->end - s->pos || need > PCAPNG_MAX_BLOCK || stream_fill(s, need) < need)
                break;
            total = pcapng_plain_epb(r, s->buf + s->pos, s->end - s->pos, &h);
            if (total == 0)
                break;
        }
        bytes = s->buf + s->pos + 28;
        s->pos += total;
        looked++;
        if (prog == NULL || pcap_offline_filter(prog, &h, bytes))
            batch_put(f, &h, bytes);
    }
    return looked;
}
