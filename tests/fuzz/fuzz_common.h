/* What the libFuzzer harnesses share: the input as the module meets a
 * savefile, once as a regular file (a memfd) and once as a pipe written a
 * piece at a time, each piece only when the reader asks for more; and the
 * checks that a packet's bytes, and a batch's, are really there.  Header-only: each harness
 * is one .c file built with the module's C sources (tests/fuzzing.py). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#define _GNU_SOURCE     /* memfd_create, pipe2 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "packet_batch.h"

/* A broken promise: say which, and crash so that libFuzzer keeps the input. */
#define PROMISE(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: promise broken: %s\n", __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

/* Where the bytes come from: all at once from a file, or a pipe that is
 * written a piece at a time. */
struct feeder {
    const uint8_t *data;
    size_t size, written;
    int write_fd;           /* -1: a file, or the pipe is closed */
    uint32_t rng;           /* piece sizes and the harness's choices, from the bytes themselves */
};

static inline uint32_t next_random(struct feeder *f)
{
    f->rng = f->rng * 1103515245u + 12345u;
    return f->rng >> 16;
}

/* One more piece into the pipe, or its end once all is written. */
static inline void feed(struct feeder *f)
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

/* Read every byte of a range, so that a bound past the buffer shows. */
static inline void touch(const unsigned char *bytes, size_t n)
{
    volatile unsigned char sum = 0;
    size_t i;
    for (i = 0; i < n; i++)
        sum += bytes[i];
}

/* Memory that ends exactly where n bytes of it end, so that AddressSanitizer
 * catches a write one byte past n: the tail of a block of `max`. */
static inline unsigned char *tail_of(unsigned char *block, size_t max, size_t n)
{
    PROMISE(n <= max);
    return block + (max - n);
}

/* The records of a batch as columns (batch_columns, Arrow's layout): the
 * same fields, each packet's bytes within data. */
static inline void check_columns(const struct batch_fill *f)
{
    static int64_t stamps[64];
    static uint32_t caplens[64], wirelens[64], ids[64], flags[64];
    static int32_t offsets[65];
    struct batch_record_ng rec;
    size_t k;

    if (f->count > 64)
        return;
    batch_columns(f->records, f->count, f->record_size, stamps, caplens, wirelens, offsets, ids, flags);
    PROMISE(offsets[0] == 0);
    for (k = 0; k < f->count; k++) {
        memset(&rec, 0, sizeof rec);
        memcpy(&rec, f->records + k * f->record_size, f->record_size);
        PROMISE(stamps[k] == rec.base.timestamp_ns && caplens[k] == rec.base.caplen
                && wirelens[k] == rec.base.wirelen && ids[k] == rec.interface_id && flags[k] == rec.flags);
        PROMISE(offsets[k + 1] - offsets[k] == (int32_t)caplens[k] && (size_t)offsets[k + 1] <= f->used);
        touch(f->data + offsets[k], caplens[k]);
    }
}

typedef void (*read_savefile_fn)(int fd, struct feeder *feeder);

/* The input read by `read` from a memfd, then from a pipe fed in pieces. */
static inline void read_both_ways(const uint8_t *data, size_t size, read_savefile_fn read_savefile)
{
    struct feeder feeder;
    int fd, pipe_fds[2];

    memset(&feeder, 0, sizeof feeder);
    feeder.data = data;
    feeder.size = size;
    feeder.rng = (uint32_t)size * 2654435761u + (size ? data[size - 1] : 0);
    feeder.write_fd = -1;

    fd = memfd_create("savefile", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    read_savefile(fd, &feeder);
    close(fd);

    if (pipe2(pipe_fds, O_CLOEXEC) < 0 || fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK) < 0)
        abort();
    feeder.written = 0;
    feeder.write_fd = pipe_fds[1];
    feed(&feeder);
    read_savefile(pipe_fds[0], &feeder);
    if (feeder.write_fd >= 0)
        close(feeder.write_fd);
    close(pipe_fds[0]);
}

/* libpcap reads the next packet; on a pipe, once it has read all it was
 * shown, it is shown the units that have come whole since, as
 * _LibpcapSource.next does.  Returns 1 a packet, 0 wait, -1 the end. */
static inline int libpcap_step(struct savefile_stream *s, pcap_t *p)
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

#endif
