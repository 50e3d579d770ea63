/* libFuzzer harness: arbitrary bytes as a classic pcap savefile, read as
 * the module reads one (sources.pxi: _savefile_from_fd, _RecordSource,
 * _LibpcapSource), from a memfd and from a pipe fed in pieces.
 *
 * stream_open_ready, then libpcap opens the file through stream_file; then
 * record_next and record_fill (a count, batches of 24- and 40-byte records,
 * with and without the file's filter) in turns, libpcap reading the odd
 * record they leave to it, or libpcap reading the whole file (the modified
 * and older formats, rewritten link types) framed by stream_frame on a
 * pipe.  pcapng input goes as far as libpcap's open: fuzz_pcapng.c reads
 * it.  Build and run: tests/fuzzing.py. */
#include "fuzz_common.h"

#include <pcap.h>

#include "packet_batch.h"
#include "pcap_stream.h"

#define MAX_RECORDS 8
#define DATA_MAX (2 * MAXIMUM_SNAPLEN + 4096)
#define MAX_STEPS 100000

static unsigned char *record_block, *data_block;

struct classic_read {
    struct savefile_stream s;
    pcap_t *p;
    struct record_reader reader;
    int ours;                   /* record_next reads it (else libpcap, all of it) */
    int ended;                  /* _SavefileSource.ended */
    uint32_t snapshot;
    struct bpf_program prog;    /* the file's filter, once set */
    int prog_compiled, prog_set;
    size_t consumed;            /* records read so far */
};

/* _RecordSource._libpcap_record: the record at pos, read by libpcap. */
static int libpcap_record(struct classic_read *c, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    int rc;

    if (c->ended)
        return RECORD_END;
    c->s.limit = c->s.end;
    clearerr(pcap_file(c->p));
    rc = pcap_next_ex(c->p, hdr, data);
    if (rc == 1) {
        touch(*data, (*hdr)->caplen);
        return RECORD_PACKET;
    }
    c->ended = 1;
    return RECORD_END;
}

static int record(struct classic_read *c, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    int rc;

    if (c->ended)
        return RECORD_END;
    rc = record_next(&c->reader, hdr, data);

    if (rc == RECORD_PACKET) {
        struct savefile_stream *s = &c->s;
        PROMISE((*hdr)->caplen <= c->snapshot);
        PROMISE(*data == s->buf + s->pos - (*hdr)->caplen && s->pos <= s->end);
        touch(*data, (*hdr)->caplen);
    }
    if (rc == RECORD_LIBPCAP)
        rc = libpcap_record(c, hdr, data);
    c->consumed += rc == RECORD_PACKET;
    return rc;
}

/* _RecordSource.next: the next record that passes the filter.  Returns
 * RECORD_PACKET, RECORD_WAIT or RECORD_END. */
static int classic_next(struct classic_read *c, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    int rc, examined;

    for (examined = 0; examined < 3; examined++) {
        rc = record(c, hdr, data);
        if (rc != RECORD_PACKET)
            return rc == RECORD_WAIT ? RECORD_WAIT : RECORD_END;
        if (!c->prog_set || pcap_offline_filter(&c->prog, *hdr, *data))
            return RECORD_PACKET;
    }
    return RECORD_WAIT + 100;   /* _SKIPPED: ask again */
}

/* What a batch holds: records within capacity and snaplen, packets one
 * after the other in data, each passing the filter it was read with. */
static void check_batch(const struct classic_read *c, const struct batch_fill *f, const struct bpf_program *prog)
{
    size_t k, at = 0;
    struct batch_record_ng rec;
    struct pcap_pkthdr h;

    PROMISE(f->count <= f->capacity);
    PROMISE(f->too_large == 0 || f->too_large > f->size);
    if (f->data == NULL)
        return;
    PROMISE(f->used <= f->size);
    check_columns(f);
    for (k = 0; k < f->count; k++) {
        memset(&rec, 0, sizeof rec);
        memcpy(&rec, f->records + k * f->record_size, f->record_size);
        PROMISE(rec.base.offset == at && rec.base.caplen <= c->snapshot);
        PROMISE(rec.interface_id == 0 && rec.flags == 0 && rec.comment_len == 0 && rec.reserved == 0);
        at += rec.base.caplen;
        if (prog != NULL) {
            memset(&h, 0, sizeof h);
            h.caplen = rec.base.caplen;
            h.len = rec.base.wirelen;
            PROMISE(pcap_offline_filter(prog, &h, f->data + rec.base.offset));
        }
    }
    PROMISE(at == f->used);
}

/* _RecordSource.fill: record_fill without the GIL, else one record through
 * next().  Returns 1 progress, 0 wait, -1 the end. */
static int classic_fill(struct classic_read *c, struct batch_fill *f, size_t limit)
{
    const struct bpf_program *prog = c->prog_set ? &c->prog : NULL;
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    size_t looked = 0;
    int rc;

    if (!c->ended)
        looked = record_fill(&c->reader, f, prog, limit);
    c->consumed += looked;
    PROMISE(f->too_large == 0);      /* what does not fit waits for the next batch */
    check_batch(c, f, prog);
    if (looked)
        return 1;
    rc = classic_next(c, &hdr, &data);
    if (rc == RECORD_PACKET) {
        batch_put(f, hdr, data);
        check_batch(c, f, prog);
        return 1;
    }
    return rc == RECORD_WAIT ? 0 : rc == RECORD_END ? -1 : 1;
}

/* One read into a batch, as _deliver fills one: fill() again while the
 * batch has room, up to a few times, until the end or a wait.  Returns 1
 * progress, 0 wait, -1 the end. */
static int classic_deliver(struct classic_read *c, uint32_t choice)
{
    struct batch_fill f;
    size_t limit = choice & 8 ? 1 + (choice >> 4) % 7 : 65536;
    int calls = 1 + (choice >> 24) % 6, rc = 1;

    memset(&f, 0, sizeof f);
    f.ns_scale = 1000;
    f.largest = c->snapshot;
    f.record_size = choice % 3 == 2 ? sizeof(struct batch_record_ng) : sizeof(struct batch_record);
    f.capacity = 1 + (choice >> 8) % MAX_RECORDS;
    if (choice % 3 == 0) {
        if (choice & 16)
            f.capacity = (size_t)-1;    /* a count */
    } else {
        f.size = c->snapshot + (choice & 32 ? 0 : (choice >> 12) % (choice & 64 ? 64 : 4096));
        f.records = tail_of(record_block, MAX_RECORDS * sizeof(struct batch_record_ng), f.capacity * f.record_size);
        f.data = tail_of(data_block, DATA_MAX, f.size);
        memset(f.records, 0xA5, f.capacity * f.record_size);    /* (what the fill leaves unwritten shows) */
    }
    while (calls-- > 0 && batch_has_room(&f) && rc == 1) {
        size_t consumed = c->consumed, count = f.count;
        rc = classic_fill(c, &f, limit);
        /* Progress, or _deliver would ask again for ever. */
        PROMISE(rc != 1 || f.count != count || c->consumed != consumed);
    }
    return rc;
}

/* One turn of reading by the record reader.  Returns 1 progress, 0 wait,
 * -1 the end. */
static int classic_step(struct classic_read *c, struct feeder *feeder)
{
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    uint32_t choice = next_random(feeder);
    int rc;

    switch (choice % 3) {
    case 0:
        if (!c->prog_set && c->prog_compiled && choice & 16)
            c->prog_set = 1;        /* setfilter() between two reads */
        /* fall through */
    case 1:
        rc = classic_next(c, &hdr, &data);
        return rc == RECORD_PACKET || rc > RECORD_PACKET ? 1 : rc == RECORD_WAIT ? 0 : -1;
    default:
        return classic_deliver(c, next_random(feeder) | (uint32_t)next_random(feeder) << 16);
    }
}

static void read_classic(int fd, struct feeder *feeder)
{
    struct classic_read c;
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    char errbuf[PCAP_ERRBUF_SIZE];
    FILE *fp;
    uint32_t magic = 0;
    int rc, precision, steps = 0;

    memset(&c, 0, sizeof c);
    if (stream_init(&c.s, fd) < 0)
        abort();
    while (!stream_open_ready(&c.s))
        feed(feeder);
    if (c.s.format == FORMAT_PCAPNG) {
        stream_free(&c.s);      /* fuzz_pcapng.c's */
        return;
    }
    c.s.serve_all = !c.s.is_pipe;
    fp = stream_file(&c.s, 0);
    if (fp == NULL)
        abort();
    /* Opened in its own precision, as _savefile_precision says. */
    if (c.s.end - c.s.pos >= 4)
        memcpy(&magic, c.s.buf + c.s.pos, 4);
    precision = magic == PCAP_MAGIC_NANO || swap32(magic) == PCAP_MAGIC_NANO ? PCAP_TSTAMP_PRECISION_NANO
                                                                           : PCAP_TSTAMP_PRECISION_MICRO;
    c.p = pcap_fopen_offline_with_tstamp_precision(fp, precision, errbuf);
    if (c.p == NULL) {
        fclose(fp);
        stream_free(&c.s);
        return;
    }
    stream_opened(&c.s, c.p);
    c.ours = record_reader_init(&c.reader, &c.s, c.p);
    if (c.ours) {
        c.snapshot = c.reader.snapshot;
        PROMISE(c.snapshot <= MAXIMUM_SNAPLEN);
        c.prog_compiled = pcap_compile(c.p, &c.prog, "udp or len > 100", 1, PCAP_NETMASK_UNKNOWN) == 0;
        c.prog_set = c.prog_compiled && next_random(feeder) % 2;
    }
    do {
        rc = c.ours ? classic_step(&c, feeder) : libpcap_step(&c.s, c.p);
        if (rc == 0)
            feed(feeder);
        PROMISE(++steps < MAX_STEPS);
    } while (rc >= 0);
    if (c.ours) {
        /* No packet after the end, or after libpcap refused a record. */
        PROMISE(classic_next(&c, &hdr, &data) == RECORD_END);
    }
    if (c.prog_compiled)
        pcap_freecode(&c.prog);
    pcap_close(c.p);
    stream_free(&c.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (record_block == NULL) {
        record_block = malloc(MAX_RECORDS * sizeof(struct batch_record_ng));
        data_block = malloc(DATA_MAX);
        if (record_block == NULL || data_block == NULL)
            abort();
    }
    read_both_ways(data, size, read_classic);
    return 0;
}
