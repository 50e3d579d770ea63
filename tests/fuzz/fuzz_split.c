/* libFuzzer harness for the split index (savefile_split.c): arbitrary bytes
 * as a savefile, classic or pcapng, through savefile_boundaries() and
 * pcapng_range_prefix(), with checks of what they promise.
 *
 * Both formats: the boundaries ascend, lie in the file, and each is at or
 * after its target (or is the file's size).  Classic: each is a record start
 * of the chain of record headers from byte 24, walked here again, or where
 * that chain ends.  pcapng: each range of the split, read by the module's
 * reader (pcapng_next(), as a handle reads) behind the prefix
 * pcapng_range_prefix() gives for its start, gives the whole file's packets
 * from there (the same bytes, time stamps, lengths, interface, interface
 * description and statistics, section), so that the ranges together are
 * the whole file read at once; the range where the whole file fails fails
 * in the same words after the same packets, and the ranges after it are
 * empty at the file's end; the walk ends where the whole read ends; a start
 * where no block starts is refused, one where a block starts is not.
 * Build and run: tests/test_fuzz.py. */
#define _GNU_SOURCE     /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pcap_stream.h"
#include "pcapng_reader.h"
#include "savefile_split.h"

#define MAX_PARTS 9

/* What reading gives of one packet: its fields, and hashes of its bytes and
 * of its interface's description and statistics blocks. */
struct seen {
    int64_t sec, frac;
    uint32_t caplen, len, iface, section;
    uint64_t data, idb, isb;
};

/* A read of a whole file or of a range: its packets, how it ended. */
struct reading {
    struct seen *packets;
    size_t count, room;
    int rc;                         /* RECORD_END or RECORD_ERROR */
    char err[PCAP_ERRBUF_SIZE];
    uint64_t consumed;              /* where the reader stopped */
};

static uint64_t hash(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h ^ n;
}

static int file_of(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    int fd = memfd_create("savefile", MFD_CLOEXEC);
    if (fd < 0 || (na && write(fd, a, na) != (ssize_t)na) || (nb && write(fd, b, nb) != (ssize_t)nb)
        || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    return fd;
}

/* Every packet of the pcapng file fd, read as a handle's reader reads. */
static void read_all(int fd, struct reading *out)
{
    struct savefile_stream s;
    struct pcapng_reader r;
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    const struct pcapng_interface *i;
    struct seen *k;
    int rc;

    memset(out, 0, sizeof *out);
    if (stream_init(&s, fd) < 0 || pcapng_reader_init(&r, &s, PCAP_TSTAMP_PRECISION_NANO) < 0)
        abort();
    while ((rc = pcapng_next(&r, &hdr, &data)) == RECORD_PACKET) {
        if (out->count == out->room) {
            out->room = out->room ? out->room * 2 : 16;
            out->packets = realloc(out->packets, out->room * sizeof *out->packets);
            if (out->packets == NULL)
                abort();
        }
        i = &r.iface[r.packet_iface];
        k = &out->packets[out->count++];
        k->sec = hdr->ts.tv_sec;
        k->frac = hdr->ts.tv_usec;
        k->caplen = hdr->caplen;
        k->len = hdr->len;
        k->iface = r.packet_iface;
        k->section = r.section;
        k->data = hash(data, hdr->caplen);
        k->idb = hash(i->idb, i->idb_len);
        k->isb = i->isb ? hash(i->isb, i->isb_len) : 0;
    }
    if (rc != RECORD_END && rc != RECORD_ERROR)
        abort();        /* a regular file never has the reader wait */
    out->rc = rc;
    memcpy(out->err, r.err, sizeof out->err);
    out->consumed = (uint64_t)lseek(fd, 0, SEEK_CUR) - (s.end - s.pos);
    pcapng_reader_free(&r);
    stream_free(&s);
}

static void check_boundaries(const uint64_t *targets, size_t n, const uint64_t *out, uint64_t walked, size_t size)
{
    size_t i;

    if (walked > size)
        abort();
    for (i = 0; i < n; i++)
        if (out[i] > size || (out[i] < targets[i] && out[i] != size) || (i > 0 && out[i] < out[i - 1]))
            abort();
}

/* Classic: the boundaries are record starts of the chain from byte 24. */
static void split_classic(int fd, const uint8_t *data, size_t size)
{
    struct classic_format format;
    struct classic_record rec;
    uint64_t targets[MAX_PARTS], out[MAX_PARTS], walked, pos, end;
    uint32_t magic;
    size_t n = 0, i;
    unsigned char *start;

    if (size < PCAP_FILE_HEADER)
        return;
    memcpy(&magic, data, 4);
    if (!classic_format_of(magic, &format))
        return;
    start = calloc(size + 1, 1);
    if (start == NULL)
        abort();
    for (pos = PCAP_FILE_HEADER; pos + format.record_header <= size; pos += format.record_header + rec.caplen) {
        classic_record_read(data + pos, format.swapped, &rec);
        if (rec.caplen > size - pos - format.record_header)
            break;
        start[pos] = 1;
    }
    end = pos;
    start[end] = 1;
    for (i = 0; i < MAX_PARTS - 1; i++)
        targets[n++] = PCAP_FILE_HEADER + (size - PCAP_FILE_HEADER) * (i + 1) / MAX_PARTS;
    targets[n++] = size + 1;
    if (savefile_boundaries(fd, targets, n, out, &walked) != 0)
        abort();
    check_boundaries(targets, n, out, walked, size);
    if (walked != end)
        abort();
    for (i = 0; i < n; i++)
        if (out[i] != size && !start[out[i]])
            abort();
    free(start);
}

static int same(const struct seen *a, const struct seen *b)
{
    return a->sec == b->sec && a->frac == b->frac && a->caplen == b->caplen && a->len == b->len
           && a->iface == b->iface && a->section == b->section && a->data == b->data && a->idb == b->idb
           && a->isb == b->isb;
}

/* The range from start to end read behind its prefix: the whole file's
 * packets from *next on, and its error if it fails.  Returns whether it
 * failed. */
static int check_range(int fd, const uint8_t *data, size_t size, uint64_t start, uint64_t end,
                       const struct reading *whole, size_t *next)
{
    struct range_prefix prefix;
    struct reading part;
    size_t i;
    int range_fd;

    if (pcapng_range_prefix(fd, start, &prefix) != 0)
        abort();        /* savefile_boundaries() gave it: a boundary */
    range_fd = file_of(prefix.bytes, prefix.size, data + start, end - start);
    range_prefix_free(&prefix);
    read_all(range_fd, &part);
    close(range_fd);
    if (*next + part.count > whole->count)
        abort();
    for (i = 0; i < part.count; i++)
        if (!same(&part.packets[i], &whole->packets[*next + i]))
            abort();
    *next += part.count;
    if (part.rc == RECORD_ERROR && (whole->rc != RECORD_ERROR || strcmp(part.err, whole->err) != 0
                                    || *next != whole->count || end != size))
        abort();
    free(part.packets);
    (void)size;
    return part.rc == RECORD_ERROR;
}

static void split_pcapng(int fd, const uint8_t *data, size_t size)
{
    static const size_t parts[] = {2, 3, MAX_PARTS};
    struct reading whole;
    struct range_prefix prefix;
    uint64_t targets[MAX_PARTS], out[MAX_PARTS + 1], walked, every_walked, *every, *all;
    size_t p, i, n, next, probes;
    unsigned char *is_start;
    int failed, rc;

    if (size < 4 || memcmp(data, "\x0a\x0d\x0d\x0a", 4) != 0)
        return;
    read_all(fd, &whole);
    /* Every block start the walk finds: a target at each byte. */
    every = malloc((size + 1) * sizeof *every);
    all = malloc((size + 1) * sizeof *all);
    is_start = calloc(size + 1, 1);
    if (every == NULL || all == NULL || is_start == NULL)
        abort();
    for (i = 0; i <= size; i++)
        every[i] = i;
    if (savefile_boundaries(fd, every, size + 1, all, &every_walked) != 0)
        abort();
    check_boundaries(every, size + 1, all, every_walked, size);
    for (i = 0; i <= size; i++)
        is_start[all[i]] = 1;
    if (every_walked != whole.consumed || !is_start[0] || !is_start[every_walked])
        abort();        /* the walk ends where reading the whole file ends */

    for (p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        n = parts[p];
        for (i = 0; i + 1 < n; i++) {
            targets[i] = size * (i + 1) / n;
            if (targets[i] == 0)
                targets[i] = 1;
        }
        if (savefile_boundaries(fd, targets, n - 1, out + 1, &walked) != 0)
            abort();
        check_boundaries(targets, n - 1, out + 1, walked, size);
        out[0] = 0;
        next = 0;
        failed = 0;
        for (i = 0; i < n; i++) {
            uint64_t end = i + 1 < n ? out[i + 1] : size;
            if (!is_start[out[i]])
                abort();
            if (failed && (out[i] != size || end != size))
                abort();        /* after the damage only empty ranges at the end */
            failed |= check_range(fd, data, size, out[i], end, &whole, &next);
        }
        if (next != whole.count || failed != (whole.rc == RECORD_ERROR))
            abort();
    }

    /* A start where no block starts is refused; one where a block starts is not. */
    for (probes = 0, i = (size_t)(whole.consumed * 2654435761u % (size + 1)); probes < 6; probes++) {
        i = (i + 1 + probes * 37) % (size + 1);
        rc = pcapng_range_prefix(fd, i, &prefix);
        if (rc != (is_start[i] || i == size ? 0 : -3))
            abort();
        if (rc == -3 && !(prefix.block_before < i && i < prefix.block_after && prefix.block_after <= size))
            abort();
        range_prefix_free(&prefix);
    }
    free(whole.packets);
    free(every);
    free(all);
    free(is_start);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = file_of(data, size, NULL, 0);

    split_classic(fd, data, size);
    split_pcapng(fd, data, size);
    close(fd);
    return 0;
}
