/* libFuzzer harness: arbitrary bytes as a pcapng savefile, read as the
 * module reads one (sources.pxi: _savefile_from_fd, _PcapngSource), from a
 * memfd and from a pipe fed in pieces.
 *
 * stream_open_ready, pcapng_first_interface (the precision), then libpcap
 * opens the file through stream_file (and where it refuses it,
 * pcapng_first_interface says whether our reader reads it all the same,
 * over a dead handle); then our reader, in either precision, by turns:
 * next, a count, batches of 24- and 40-byte records (with and without a
 * comments buffer) filled over several calls as _deliver fills them,
 * interfaces() (pcapng_read_ahead), a filter set between two reads, with a
 * program compiled per link type for each interface when the reader says
 * RECORD_INTERFACE.  Or libpcap reads it all, where it rewrites the link
 * type's packets.  After every turn the promises are checked: packets within
 * the buffer and their interface's max_caplen, batches within their
 * capacity, size and comments room, a packet that does not fit waiting for
 * the next batch (too large only for an empty one), progress on every
 * fill, no packet after the end or an error, and every field Python reads
 * (pcapng.pxi: the packet's block and options, each interface's
 * description and statistics blocks) whole and in the section's byte order.
 * Build and run: tests/fuzzing.py. */
#include "fuzz_common.h"

#include <pcap.h>

#include "packet_batch.h"
#include "pcap_stream.h"
#include "pcapng_reader.h"
#include "savefile_writer.h"

#define MAX_RECORDS 8
#define DATA_MAX (2 * MAXIMUM_SNAPLEN + 4096)
#define SLICE 3                 /* records next() passes over before it returns (_SLICE's role) */

enum {
    NG_SKIPPED = 100,           /* next(): only packets the filter refused, this time */
    NG_FULL                     /* fill(): the next packet does not fit what is left of the batch */
};

#define COMMENTS_MAX 4096

static unsigned char *record_block, *data_block, *comments_block;

/* ---- filter programs, per link type and snapshot length ------------------ */

struct program {
    int dlt, snaplen, ok;
    struct bpf_program prog;
};

static struct program programs[64];
static size_t n_programs;

static int compile_snaplen(uint32_t snaplen)
{
    return snaplen == 0 || snaplen > MAXIMUM_SNAPLEN ? (int)MAXIMUM_SNAPLEN : (int)snaplen;
}

/* The filter compiled for a link type as _compile_for does (bpf(expr, dlt,
 * snaplen): a dead handle of it), kept across inputs; NULL when it does not
 * compile, which ends the module's read. */
static const struct bpf_program *program_for(int dlt, uint32_t snaplen)
{
    static const char *const exprs[] = {"udp or len > 100", "len > 100"};
    struct program *e;
    pcap_t *dead;
    size_t k;

    for (k = 0; k < n_programs; k++) {
        if (programs[k].dlt == dlt && programs[k].snaplen == compile_snaplen(snaplen))
            return programs[k].ok ? &programs[k].prog : NULL;
    }
    if (n_programs == sizeof programs / sizeof programs[0]) {
        for (k = 0; k < n_programs; k++) {
            if (programs[k].ok)
                pcap_freecode(&programs[k].prog);
        }
        n_programs = 0;
    }
    e = &programs[n_programs++];
    e->dlt = dlt;
    e->snaplen = compile_snaplen(snaplen);
    e->ok = 0;
    dead = pcap_open_dead(dlt, e->snaplen);
    for (k = 0; dead != NULL && !e->ok && k < sizeof exprs / sizeof exprs[0]; k++)
        e->ok = pcap_compile(dead, &e->prog, exprs[k], 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (dead != NULL)
        pcap_close(dead);
    return e->ok ? &e->prog : NULL;
}

/* ---- the source ------------------------------------------------------------ */

struct ng_read {
    struct savefile_stream s;
    struct pcapng_reader r;
    pcap_t *p;
    size_t largest;             /* pcap_snapshot(): what a batch's data must hold */
    int ns_scale;
    int ended;                  /* _SavefileSource.ended */
    int reader_rc;              /* RECORD_END or RECORD_ERROR once the reader said so */
    struct pcap_pkthdr *held_hdr;   /* a packet that did not fit a batch: the next read's first */
    const unsigned char *held_data;
    size_t consumed;            /* packets the reader handed out so far */
};

static uint32_t get32(const struct pcapng_reader *r, const unsigned char *p)
{
    return pcapng_get32(r, p);
}

/* Every interface as Python reads it (pcapng.pxi: _describe, _statistics). */
static void check_interfaces(const struct ng_read *ng)
{
    const struct pcapng_reader *r = &ng->r;
    const struct pcapng_interface *i;
    uint32_t k;

    PROMISE(r->count <= r->room && (r->count == 0 || r->iface != NULL));
    PROMISE(!r->filtering || r->unfiltered <= r->count);
    PROMISE(r->ready <= r->count && (!r->filtering || r->ready <= r->unfiltered));
    for (k = 0; k < r->count; k++) {
        i = &r->iface[k];
        PROMISE(i->idb != NULL && i->idb_len >= 20 && i->idb_len % 4 == 0);
        PROMISE(get32(r, i->idb) == BT_IDB && get32(r, i->idb + 4) == i->idb_len);
        touch(i->idb, i->idb_len);
        PROMISE((i->isb == NULL) == (i->isb_len == 0));
        if (i->isb != NULL) {
            PROMISE(i->isb_len >= 24 && i->isb_len % 4 == 0);
            PROMISE(get32(r, i->isb) == BT_ISB && get32(r, i->isb + 4) == i->isb_len && get32(r, i->isb + 8) == k);
            touch(i->isb, i->isb_len);
        }
        PROMISE(i->tsresol >= 1 && i->max_caplen >= 1);
        PROMISE(i->scale == SCALE_NONE || i->scale == SCALE_BIN || i->factor >= 1);
        PROMISE(!r->filtering || k >= r->ready || i->prog != NULL);
    }
}

/* The packet last read as Python reads it (_pcapng_packet_options): its
 * whole block in the buffer, in the section's byte order, its options
 * after its packet and before its trailer. */
/* The packet's options as a pcapng copy writes them (the dumper's
 * _write_from): whole options in our byte order, ending in opt_endofopt,
 * no more bytes than the block holds (and an obsolete Packet Block's drop
 * count); and the Enhanced Packet Block the writer makes of them whole. */
static void check_copied_options(const struct pcapng_reader *r)
{
    static unsigned char opts[PCAPNG_MAX_BLOCK];
    static const unsigned char data[4] = {1, 2, 3, 4};
    struct savefile_writer w;
    size_t n = pcapng_packet_options_native(r, NULL, 0), at = 0;
    uint32_t total;

    PROMISE(n % 4 == 0 && n <= r->packet_len + 12 + 4);
    PROMISE(pcapng_packet_options_native(r, opts, n) == n);
    while (n && at + 4 <= n) {
        uint16_t head[2];
        memcpy(head, opts + at, 4);
        if (head[0] == 0)
            break;
        at += 4 + (((size_t)head[1] + 3) & ~(size_t)3);
    }
    PROMISE(n == 0 || at + 4 == n);
    PROMISE(writer_init(&w, -1, 1, 1000000000, 4096) == 0);
    PROMISE(writer_add_interface(&w, 2) == 0);
    PROMISE(writer_packet(&w, 0, 1, 2, sizeof data, sizeof data, data, opts, n, 1) == 0);
    memcpy(&total, w.buf + 4, 4);
    PROMISE(total == w.used && total == PCAPNG_EPB_MIN + 4 + n + (n ? 8 : 12) && total % 4 == 0);
    PROMISE(memcmp(w.buf + total - 4, &total, 4) == 0);
    writer_free(&w);
}

static void check_packet(const struct ng_read *ng)
{
    const struct pcapng_reader *r = &ng->r;
    const struct savefile_stream *s = &ng->s;
    const unsigned char *b = r->packet_block;
    uint32_t len = r->packet_len, head;

    if (r->packet_type == 0)
        return;
    PROMISE(r->packet_type == BT_EPB || r->packet_type == BT_SPB || r->packet_type == BT_PB);
    head = r->packet_type == BT_SPB ? 12 : PCAPNG_EPB_DATA;
    PROMISE(b >= s->buf && len <= s->end && b - s->buf <= (ptrdiff_t)(s->end - len));
    PROMISE(len % 4 == 0 && len >= head + 4);
    PROMISE(get32(r, b) == r->packet_type && get32(r, b + 4) == len);
    PROMISE(r->packet_options >= head && r->packet_options <= len - 4);
    if (r->packet_type != BT_SPB)
        PROMISE(r->packet_options == PCAPNG_EPB_DATA + ((get32(r, b + 20) + 3) & ~3u));
    PROMISE(r->packet_iface < r->count);
    touch(b, len);
    (void)pcapng_packet_flags(r);
    check_copied_options(r);
}

static void check(const struct ng_read *ng)
{
    check_interfaces(ng);
    check_packet(ng);
}

/* A packet just handed out by pcapng_next(). */
static void check_handed_out(const struct ng_read *ng, const struct pcap_pkthdr *hdr, const unsigned char *data)
{
    const struct pcapng_reader *r = &ng->r;
    const struct savefile_stream *s = &ng->s;

    PROMISE(r->packet_type != 0 && hdr == &r->hdr);
    PROMISE(data == r->packet_block + (r->packet_type == BT_SPB ? 12 : PCAPNG_EPB_DATA));
    PROMISE(data + hdr->caplen <= r->packet_block + r->packet_options);
    PROMISE(r->packet_block + r->packet_len == s->buf + s->pos);
    PROMISE(r->packet_iface < r->count && hdr->caplen <= r->iface[r->packet_iface].max_caplen);
    check(ng);
    touch(data, hdr->caplen);
}

/* set_filter(): a program for each interface so far, or (raised) none. */
static void set_filter(struct ng_read *ng)
{
    struct pcapng_reader *r = &ng->r;
    uint32_t k;

    for (k = 0; k < r->count; k++) {
        if (program_for(r->iface[k].dlt, r->iface[k].snaplen) == NULL)
            return;
    }
    for (k = 0; k < r->count; k++)
        r->iface[k].prog = program_for(r->iface[k].dlt, r->iface[k].snaplen);
    r->unfiltered = r->ready = r->count;
    r->filtering = 1;
}

/* _filter_interfaces(): the interfaces described since; -1 (the read
 * ended) when the filter does not compile for one. */
static int filter_interfaces(struct ng_read *ng)
{
    struct pcapng_reader *r = &ng->r;
    uint32_t k;

    for (k = r->unfiltered; k < r->count; k++) {
        r->iface[k].prog = program_for(r->iface[k].dlt, r->iface[k].snaplen);
        if (r->iface[k].prog == NULL) {
            ng->ended = 1;
            return -1;
        }
    }
    r->unfiltered = r->ready = r->count;
    return 0;
}

/* _PcapngSource.next: RECORD_PACKET, RECORD_WAIT, RECORD_END,
 * RECORD_ERROR or NG_SKIPPED. */
static int ng_next(struct ng_read *ng, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    int rc, examined = 0;

    if (ng->held_hdr != NULL) {
        /* Nothing was read since: its bytes are where they were. */
        *hdr = ng->held_hdr;
        *data = ng->held_data;
        ng->held_hdr = NULL;
        ng->held_data = NULL;
        PROMISE(*data >= ng->s.buf && *data + (*hdr)->caplen <= ng->s.buf + ng->s.pos);
        touch(*data, (*hdr)->caplen);
        return RECORD_PACKET;
    }
    if (ng->ended)
        return RECORD_END;
    while (examined < SLICE) {
        rc = pcapng_next(&ng->r, hdr, data);
        if (rc == RECORD_PACKET) {
            ng->consumed++;
            PROMISE(ng->reader_rc == 0);        /* no packet after the end or an error */
            check_handed_out(ng, *hdr, *data);
            if (pcapng_passes(&ng->r, ng->r.packet_iface, *hdr, *data))
                return RECORD_PACKET;
            examined++;
            continue;
        }
        check(ng);
        if (rc == RECORD_INTERFACE) {
            PROMISE(ng->r.filtering && ng->r.unfiltered < ng->r.count);
            if (filter_interfaces(ng) < 0)
                return RECORD_END;      /* (raised: the compile failed) */
            continue;
        }
        PROMISE(rc == RECORD_WAIT || rc == RECORD_END || rc == RECORD_ERROR);
        if (rc == RECORD_WAIT)
            return rc;
        PROMISE(ng->reader_rc == 0 || ng->reader_rc == rc);
        ng->reader_rc = rc;
        ng->ended = 1;
        return rc;
    }
    return NG_SKIPPED;
}

/* What a batch holds: records within capacity, packets one after the other
 * in data within its size; those from `added` on (this fill's, of the
 * section being read: a batch may hold packets of sections before) each of
 * an interface of the section, within its max_caplen and passing its
 * filter. */
static void check_batch(const struct ng_read *ng, const struct batch_fill *f, size_t added)
{
    const struct pcapng_reader *r = &ng->r;
    struct batch_record_ng rec;
    struct pcap_pkthdr h;
    size_t k, at = 0, comments = 0;

    PROMISE(f->count <= f->capacity);
    if (f->data == NULL)
        return;
    PROMISE(f->used <= f->size && f->comments_used <= f->comments_size);
    check_columns(f);
    for (k = 0; k < f->count; k++) {
        memset(&rec, 0, sizeof rec);
        memcpy(&rec, f->records + k * f->record_size, f->record_size);
        PROMISE(rec.base.offset == at);
        at += rec.base.caplen;
        if (f->record_size != sizeof(struct batch_record_ng))
            continue;
        PROMISE(rec.reserved == 0 && (f->comments != NULL || rec.comment_len == 0));
        comments += rec.comment_len;
        if (k < added)
            continue;
        PROMISE(rec.interface_id < r->count && rec.base.caplen <= r->iface[rec.interface_id].max_caplen);
        if (r->filtering) {
            memset(&h, 0, sizeof h);
            h.caplen = rec.base.caplen;
            h.len = rec.base.wirelen;
            PROMISE(pcap_offline_filter(r->iface[rec.interface_id].prog, &h, f->data + rec.base.offset));
        }
    }
    PROMISE(at == f->used && comments == f->comments_used);
    if (f->comments != NULL)
        touch(f->comments, f->comments_used);
}

/* _PcapngSource.fill: pcapng_fill without the GIL, else one packet through
 * next(), held for the next batch when pcapng_put() says it does not fit
 * this one (NG_FULL).  Returns what next() does, RECORD_PACKET for
 * progress, RECORD_ERROR for comments too long for an empty batch. */
static int ng_fill(struct ng_read *ng, struct batch_fill *f, size_t limit)
{
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    size_t looked = 0, count = f->count;
    int rc;

    if (ng->held_hdr == NULL && !ng->ended) {
        looked = pcapng_fill(&ng->r, f, limit);
        ng->consumed += looked;
        PROMISE(looked <= limit && (ng->reader_rc == 0 || f->count == count));
        check(ng);
        check_batch(ng, f, count);
    }
    if (!looked) {
        rc = ng_next(ng, &hdr, &data);
        if (rc != RECORD_PACKET)
            return rc;
        count = f->count;
        if (!pcapng_put(&ng->r, f, hdr, data)) {
            /* It waits for the next batch: only one that held packets. */
            PROMISE(count > 0 && f->count == count && !f->too_large && !f->comments_too_large);
            ng->held_hdr = hdr;
            ng->held_data = data;
            return NG_FULL;
        }
        check_batch(ng, f, count);
    }
    /* Too large (raised) only for an empty batch, and the last of the fill. */
    PROMISE(!f->too_large || (f->too_large > f->size && f->count == 0));
    PROMISE(!f->comments_too_large || (f->comments_too_large > f->comments_size && f->count == 0));
    if (f->comments_too_large) {
        ng->ended = 1;
        return RECORD_ERROR;
    }
    return RECORD_PACKET;
}

/* interfaces(): the blocks already here read ahead, the packet last read
 * left where it was (Python may still read its options). */
static void ng_interfaces(struct ng_read *ng)
{
    struct pcapng_reader *r = &ng->r;
    const unsigned char *buf = ng->s.buf, *block = r->packet_block;
    unsigned char copy[64];
    size_t n = r->packet_type ? (r->packet_len < sizeof copy ? r->packet_len : sizeof copy) : 0;
    uint32_t type = r->packet_type, flags = pcapng_packet_flags(r);

    if (ng->held_hdr != NULL || ng->ended)
        return;
    if (n)
        memcpy(copy, block, n);
    pcapng_read_ahead(r);
    check(ng);
    PROMISE(ng->s.buf == buf);
    if (r->packet_type != 0) {
        PROMISE(r->packet_type == type && r->packet_block == block && (n == 0 || memcmp(copy, block, n) == 0));
        PROMISE(pcapng_packet_flags(r) == flags);
    }
}

/* One read into a batch, as _deliver fills one: fill() again while the
 * batch has room, up to `calls` times (a count, or a number of packets,
 * ends it sooner), until the end or a wait, or a packet too large for it
 * (raised).  Returns what the last fill() did. */
static int ng_deliver(struct ng_read *ng, uint32_t choice)
{
    struct batch_fill f;
    size_t limit = choice & 8 ? 1 + (choice >> 4) % 7 : 65536;
    int calls = 1 + (choice >> 24) % 6, rc = RECORD_PACKET;

    memset(&f, 0, sizeof f);
    f.ns_scale = ng->ns_scale;
    f.largest = ng->largest;
    f.record_size = choice % 3 == 2 ? sizeof(struct batch_record_ng) : sizeof(struct batch_record);
    if (choice % 3 == 0 || ng->largest > DATA_MAX - 4096) {
        /* A count (also where no data buffer is that large). */
        f.capacity = choice & 16 ? (size_t)-1 : 1 + (choice >> 8) % MAX_RECORDS;
    } else {
        f.capacity = 1 + (choice >> 8) % MAX_RECORDS;
        f.size = ng->largest + (choice & 32 ? 0 : (choice >> 12) % (choice & 64 ? 64 : 4096));
        f.records = tail_of(record_block, MAX_RECORDS * sizeof(struct batch_record_ng), f.capacity * f.record_size);
        f.data = tail_of(data_block, DATA_MAX, f.size);
    }
    if (f.records != NULL)
        memset(f.records, 0xA5, f.capacity * f.record_size);    /* (what the fill leaves unwritten shows) */
    if (f.records != NULL && f.record_size == sizeof(struct batch_record_ng) && choice & 128) {
        f.comments_size = (choice >> 16) % 2 ? (choice >> 17) % 24 : COMMENTS_MAX;
        f.comments = tail_of(comments_block, COMMENTS_MAX, f.comments_size);
    }
    while (calls-- > 0 && batch_has_room(&f) && !f.too_large) {
        size_t consumed = ng->consumed, count = f.count;
        rc = ng_fill(ng, &f, limit);
        check(ng);
        if ((rc != RECORD_PACKET && rc != NG_SKIPPED) || f.too_large)
            break;      /* (full; too large: raised; comments too large: raised, and the end) */
        /* Progress, or _deliver would ask again for ever. */
        PROMISE(f.count != count || ng->consumed != consumed);
    }
    return rc == NG_FULL ? RECORD_PACKET : rc;
}

/* One turn of reading.  Returns 1 progress, 0 wait, -1 the end. */
static int ng_step(struct ng_read *ng, struct feeder *feeder)
{
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    uint32_t choice = next_random(feeder);
    int rc;

    switch (choice % 4) {
    case 0:
        if (!ng->r.filtering && choice & 16)
            set_filter(ng);     /* setfilter() between two reads */
        /* fall through */
    case 1:
        rc = ng_next(ng, &hdr, &data);
        break;
    case 2:
        ng_interfaces(ng);
        return ng->ended ? -1 : 1;
    default:
        rc = ng_deliver(ng, next_random(feeder) | (uint32_t)next_random(feeder) << 16);
        break;
    }
    check(ng);
    return rc == RECORD_WAIT ? 0 : rc == RECORD_END || rc == RECORD_ERROR ? -1 : 1;
}

/* _savefile_from_fd for pcapng, then reading to the end. */
static void read_pcapng(int fd, struct feeder *feeder)
{
    static struct ng_read ng;
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    struct batch_fill f;
    char errbuf[PCAP_ERRBUF_SIZE];
    FILE *fp;
    size_t start, steps = 0, max_steps = 16 * feeder->size + 10000;
    const unsigned char *buf;
    size_t pos, end;
    int precision, linktype, dead = 0, rc;
    uint32_t snaplen;
    uint64_t tsresol;

    memset(&ng, 0, sizeof ng);
    if (stream_init(&ng.s, fd) < 0)
        abort();
    while (!stream_open_ready(&ng.s))
        feed(feeder);
    if (ng.s.format != FORMAT_PCAPNG) {
        stream_free(&ng.s);     /* fuzz_classic.c's */
        return;
    }
    precision = next_random(feeder) % 2 ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
    ng.ns_scale = precision == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
    if (pcapng_reader_init(&ng.r, &ng.s, precision) < 0)
        abort();
    /* _savefile_precision: the first interface's if_tsresol, before libpcap
     * opens the file; it consumes nothing. */
    buf = ng.s.buf;
    pos = ng.s.pos;
    end = ng.s.end;
    (void)pcapng_first_interface(&ng.r, &linktype, &snaplen, &tsresol);
    PROMISE(ng.s.buf == buf && ng.s.pos == pos && ng.s.end == end && tsresol >= 1);
    ng.r.err[0] = 0;
    ng.s.serve_all = !ng.s.is_pipe;
    start = ng.s.pos;
    ng.s.hold = 1;
    fp = stream_file(&ng.s, 0);
    if (fp == NULL)
        abort();
    ng.p = pcap_fopen_offline_with_tstamp_precision(fp, precision, errbuf);
    ng.s.hold = 0;
    if (ng.p == NULL) {
        /* Refused: read all the same when the first blocks are sound (the
         * module asks only for libpcap's sound refusals; any will do here). */
        fclose(fp);
        ng.s.pos = start;
        buf = ng.s.buf;
        pos = ng.s.pos;
        end = ng.s.end;
        rc = pcapng_first_interface(&ng.r, &linktype, &snaplen, &tsresol);
        PROMISE(ng.s.buf == buf && ng.s.pos == pos && ng.s.end == end);
        if (!rc) {
            PROMISE(ng.r.err[0] != 0);
            pcapng_reader_free(&ng.r);
            stream_free(&ng.s);
            return;
        }
        PROMISE(linktype >= -1 && (linktype >= 0 || snaplen == 0));
        ng.p = pcap_open_dead_with_tstamp_precision(linktype < 0 ? DLT_NULL : dlt_of_linktype(linktype),
                                                    compile_snaplen(snaplen), precision);
        if (ng.p == NULL)
            abort();
        dead = 1;
    }
    stream_opened(&ng.s, ng.p);
    ng.largest = (size_t)pcap_snapshot(ng.p);
    if (!dead && link_type_post_processed(pcap_datalink(ng.p), ng.s.swapped)) {
        do {    /* libpcap reads it all */
            rc = libpcap_step(&ng.s, ng.p);
            if (rc == 0)
                feed(feeder);
            PROMISE(++steps < max_steps);
        } while (rc >= 0);
    } else {
        ng.s.pos = start;
        pcapng_read_ahead(&ng.r);
        check(&ng);
        if (next_random(feeder) % 3 == 0)
            set_filter(&ng);
        do {
            rc = ng_step(&ng, feeder);
            if (rc == 0)
                feed(feeder);
            PROMISE(++steps < max_steps);
        } while (rc >= 0);
        /* No packet after the end or an error: the module's next() and
         * fill(), and the reader itself when it said so. */
        PROMISE(ng_next(&ng, &hdr, &data) != RECORD_PACKET);
        memset(&f, 0, sizeof f);
        f.capacity = (size_t)-1;
        f.record_size = sizeof(struct batch_record);
        PROMISE(ng_fill(&ng, &f, 65536) != RECORD_PACKET || f.count == 0);
        if (ng.reader_rc != 0) {
            PROMISE(pcapng_next(&ng.r, &hdr, &data) == ng.reader_rc);
            PROMISE(pcapng_fill(&ng.r, &f, 65536) == 0 && f.count == 0);
        }
        check(&ng);
    }
    pcap_close(ng.p);
    pcapng_reader_free(&ng.r);
    stream_free(&ng.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (record_block == NULL) {
        record_block = malloc(MAX_RECORDS * sizeof(struct batch_record_ng));
        data_block = malloc(DATA_MAX);
        comments_block = malloc(COMMENTS_MAX);
        if (record_block == NULL || data_block == NULL || comments_block == NULL)
            abort();
    }
    read_both_ways(data, size, read_pcapng);
    return 0;
}
