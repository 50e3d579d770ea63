/* libFuzzer harness: arbitrary bytes as a savefile, through every piece of
 * the module's C that parses savefile bytes.
 *
 * The bytes are read twice as the module reads them, once from a regular
 * file (a memfd) and once from a pipe fed in pieces of varying size, so that
 * records and blocks arrive split anywhere: stream_open_ready, libpcap
 * opening the file through stream_file, then our classic or pcapng reader
 * (next, a count, a batch) in turns, or libpcap where our readers leave a
 * record to it or the whole file (framed by stream_frame on a pipe), until
 * the end.  savefile_boundaries then
 * walks the file and its answer is checked.  Build and run: tests/test_fuzz.py. */
#define _GNU_SOURCE     /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "packet_batch.h"
#include "pcap_stream.h"
#include "pcapng_reader.h"
#include "savefile_split.h"

#define BATCH_RECORDS 4
#define BATCH_DATA (BATCH_RECORDS * MAXIMUM_SNAPLEN)

/* Where the bytes come from: all at once from a file, or a pipe that is
 * written a piece at a time, each piece only when the reader asks. */
struct feeder {
    const uint8_t *data;
    size_t size, written;
    int write_fd;           /* -1: a file, or the pipe is closed */
    uint32_t rng;           /* piece sizes, from the bytes themselves */
};

static uint32_t next_random(struct feeder *f)
{
    f->rng = f->rng * 1103515245u + 12345u;
    return f->rng >> 16;
}

/* One more piece into the pipe, or its end once all is written. */
static void feed(struct feeder *f)
{
    static const size_t pieces[] = {1, 3, 16, 17, 100, 4096};
    size_t piece = pieces[next_random(f) % (sizeof pieces / sizeof pieces[0])];
    ssize_t n;

    if (f->write_fd < 0)
        return;
    if (piece > f->size - f->written)
        piece = f->size - f->written;
    n = piece ? write(f->write_fd, f->data + f->written, piece) : 0;
    if (n > 0)
        f->written += (size_t)n;
    if (f->written == f->size) {
        close(f->write_fd);
        f->write_fd = -1;
    }
}

/* Read every byte of the packet, so that a bound past the buffer shows. */
static void touch(const unsigned char *bytes, uint32_t caplen)
{
    volatile unsigned char sum = 0;
    uint32_t i;
    for (i = 0; i < caplen; i++)
        sum += bytes[i];
}

/* libpcap reads the next packet; on a pipe, once it has read all it was
 * shown, it is shown the units that have come whole since, as
 * _LibpcapSource.next does.  Returns 1 a packet, 0 wait, -1 the end. */
static int libpcap_next(struct savefile_stream *s, pcap_t *p)
{
    struct pcap_pkthdr *hdr;
    const unsigned char *bytes;
    size_t need;
    int rc;

    for (;;) {
        clearerr(pcap_file(p));
        rc = pcap_next_ex(p, &hdr, &bytes);
        if (rc == 1) {
            touch(bytes, hdr->caplen);
            return 1;
        }
        if (rc != PCAP_ERROR_BREAK || !s->is_pipe)
            return -1;
        need = stream_frame(s);
        if (s->limit <= s->pos && stream_may_grow(s)) {
            stream_fill(s, need > s->end - s->pos + 1 ? need : s->end - s->pos + 1);
            stream_frame(s);
        }
        if (s->limit <= s->pos)
            return stream_may_grow(s) ? 0 : -1;
    }
}

/* Our readers: classic records, or pcapng (every block). */
struct readers {
    int is_ng;
    struct record_reader classic;
    struct pcapng_reader ng;
    uint32_t snapshot;
};

static int reader_next(struct readers *rd, struct pcap_pkthdr **hdr, const unsigned char **bytes)
{
    return rd->is_ng ? pcapng_next(&rd->ng, hdr, bytes) : record_next(&rd->classic, hdr, bytes);
}

static size_t reader_fill(struct readers *rd, struct batch_fill *f, const struct bpf_program *prog, size_t limit)
{
    return rd->is_ng ? pcapng_fill(&rd->ng, f, limit) : record_fill(&rd->classic, f, prog, limit);
}

/* Our reader's next step, by turns the next record, a count (a batch with
 * no buffers) and a batch (with and without a filter), the odd record to
 * libpcap as _RecordSource does.  Returns 1 progress, 0 wait, -1 the end. */
static int record_step(struct readers *rd, struct savefile_stream *s, pcap_t *p, struct batch_fill *f,
                       const struct bpf_program *prog, uint32_t turn)
{
    struct pcap_pkthdr *hdr;
    const unsigned char *bytes;
    struct batch_fill counter;
    int64_t stamps[BATCH_RECORDS];
    uint32_t caplens[BATCH_RECORDS], wirelens[BATCH_RECORDS];
    int32_t offsets[BATCH_RECORDS + 1];
    uint32_t ids[BATCH_RECORDS], flags[BATCH_RECORDS];
    size_t i;
    int rc;

    if (turn % 3 == 1) {
        memset(&counter, 0, sizeof counter);
        counter.capacity = 1 + turn % 5;
        if (reader_fill(rd, &counter, turn % 2 ? prog : NULL, 1 + turn % 7) > 0) {
            if (counter.count > counter.capacity)
                abort();
            return 1;
        }
    }
    if (turn % 3 == 2) {
        f->count = f->used = 0;
        if (reader_fill(rd, f, turn % 2 ? prog : NULL, 1 + turn % 7) > 0) {
            if (f->too_large && f->too_large <= f->size)
                abort();    /* our readers keep what does not fit for the next batch */
            batch_columns(f->records, f->count, f->record_size, stamps, caplens, wirelens, offsets, ids, flags);
            for (i = 0; i < f->count; i++)
                touch(f->data + offsets[i], caplens[i]);
            return 1;
        }
    }
    rc = reader_next(rd, &hdr, &bytes);
    if (rc == RECORD_PACKET) {
        if ((rd->is_ng ? hdr->caplen > rd->ng.iface[rd->ng.packet_iface].max_caplen : hdr->caplen > rd->snapshot)
            || bytes < s->buf || bytes + hdr->caplen > s->buf + s->end)
            abort();
        touch(bytes, hdr->caplen);
        if (rd->is_ng)
            (void)pcapng_packet_flags(&rd->ng);
        return 1;
    }
    if (rc == RECORD_WAIT)
        return 0;
    if (rc == RECORD_END || rc == RECORD_ERROR || rd->is_ng)
        return -1;
    s->limit = s->end;
    clearerr(pcap_file(p));
    if (pcap_next_ex(p, &hdr, &bytes) != 1)
        return -1;
    touch(bytes, hdr->caplen);
    return 1;
}

static void read_savefile(int fd, struct feeder *feeder, struct batch_fill *f, const struct bpf_program *prog)
{
    struct savefile_stream s;
    struct readers rd;
    char errbuf[PCAP_ERRBUF_SIZE];
    FILE *fp;
    pcap_t *p;
    int rc, reader, linktype, precision;
    uint32_t snaplen;
    uint64_t tsresol;
    uint32_t turn = 0;

    if (stream_init(&s, fd) < 0)
        abort();
    while (!stream_open_ready(&s))
        feed(feeder);
    s.serve_all = !s.is_pipe;
    /* As _savefile_from_fd: libpcap opens the file, our pcapng reader reads
     * it again from the start (also a file libpcap refused, if it is sound). */
    s.hold = s.format == FORMAT_PCAPNG;
    fp = stream_file(&s, 0);
    if (fp == NULL)
        abort();
    precision = next_random(feeder) % 2 ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
    p = pcap_fopen_offline_with_tstamp_precision(fp, precision, errbuf);
    s.hold = 0;
    rd.is_ng = s.format == FORMAT_PCAPNG;
    if (rd.is_ng && pcapng_reader_init(&rd.ng, &s, precision) < 0)
        abort();
    if (p == NULL) {
        fclose(fp);
        s.pos = 0;
        if (!rd.is_ng || !pcapng_first_interface(&rd.ng, &linktype, &snaplen, &tsresol)) {
            if (rd.is_ng)
                pcapng_reader_free(&rd.ng);
            stream_free(&s);
            return;
        }
        p = pcap_open_dead(DLT_EN10MB, MAXIMUM_SNAPLEN);
        if (p == NULL)
            abort();
    }
    stream_opened(&s, p);
    if (rd.is_ng && link_type_post_processed(pcap_datalink(p), s.swapped) && fp != NULL && pcap_file(p) != NULL) {
        reader = 0;     /* libpcap reads it all */
    } else if (rd.is_ng) {
        s.pos = 0;
        reader = 1;
    } else {
        reader = record_reader_init(&rd.classic, &s, p);
    }
    rd.snapshot = rd.is_ng ? MAXIMUM_SNAPLEN : rd.classic.snapshot;
    if (reader)
        f->largest = rd.snapshot;
    do {
        rc = reader ? record_step(&rd, &s, p, f, prog, turn++) : libpcap_next(&s, p);
        if (rc == 0)
            feed(feeder);
    } while (rc >= 0);
    pcap_close(p);
    if (rd.is_ng)
        pcapng_reader_free(&rd.ng);
    stream_free(&s);
}

/* The byte ranges of the file, and what savefile_boundaries promises of
 * them: ascending record starts at or after their targets, within the file. */
static void split_savefile(int fd, size_t size)
{
    uint64_t targets[] = {0, size / 4, size / 3, size / 2, size - size / 8, size, (uint64_t)size + 100};
    size_t n = sizeof targets / sizeof targets[0], i;
    uint64_t out[sizeof targets / sizeof targets[0]], walked;

    if (savefile_boundaries(fd, targets, n, out, &walked) != 0)
        return;
    if (walked > size)
        abort();
    for (i = 0; i < n; i++) {
        if (out[i] > size || (out[i] < targets[i] && out[i] != size) || (i > 0 && out[i] < out[i - 1]))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char *records, *packets;
    static struct bpf_program prog;
    struct batch_fill f;
    struct feeder feeder;
    int fd, pipe_fds[2];

    if (records == NULL) {
        pcap_t *dead = pcap_open_dead(DLT_EN10MB, MAXIMUM_SNAPLEN);
        records = malloc(BATCH_RECORDS * sizeof(struct batch_record_ng));
        packets = malloc(BATCH_DATA);
        if (records == NULL || packets == NULL || dead == NULL
            || pcap_compile(dead, &prog, "udp or len > 100", 1, PCAP_NETMASK_UNKNOWN) < 0)
            abort();
        pcap_close(dead);
    }
    memset(&f, 0, sizeof f);
    f.records = records;
    f.capacity = BATCH_RECORDS;
    f.data = packets;
    f.size = BATCH_DATA;
    f.ns_scale = 1000;
    f.record_size = size % 2 ? sizeof(struct batch_record) : sizeof(struct batch_record_ng);

    memset(&feeder, 0, sizeof feeder);
    feeder.data = data;
    feeder.size = size;
    feeder.rng = (uint32_t)size * 2654435761u + (size ? data[size - 1] : 0);
    feeder.write_fd = -1;

    fd = memfd_create("savefile", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    read_savefile(fd, &feeder, &f, &prog);
    split_savefile(fd, size);
    close(fd);

    if (pipe2(pipe_fds, O_CLOEXEC) < 0 || fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK) < 0)
        abort();
    feeder.write_fd = pipe_fds[1];
    feed(&feeder);
    read_savefile(pipe_fds[0], &feeder, &f, &prog);
    if (feeder.write_fd >= 0)
        close(feeder.write_fd);
    close(pipe_fds[0]);
    return 0;
}
