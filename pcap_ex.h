/* The small part of the binding that is easier to say in C than in Cython:
 * waiting on a descriptor with a bound, a monotonic clock, and printing the
 * addresses of pcap_findalldevs() whatever their family. */
#ifndef PCAP_EX_H
#define PCAP_EX_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>

/* Longest single wait with the GIL released.  Between two waits the caller
 * takes the GIL back to run Python's signal handlers and to notice
 * breakloop() or close() from other threads, so this bounds how late those
 * are seen. */
#define WAIT_SLICE_MS 50

/* Buffer timeout given to libpcap when timeout_ms is 0: how long a packet
 * may wait in a kernel ring block before the block is handed over. */
#define BUFFER_TIMEOUT_MS 100

/* Kernel buffer for immediate=True when buffer_size is 0. */
#define IMMEDIATE_BUFFER_SIZE (16 * 1024 * 1024)

/* Wait until fd is readable or timeout_ms has passed.  Returns 1 when
 * readable, 0 on timeout or when a signal interrupted the wait, -1 on any
 * other error (errno set).  Safe to call without the GIL. */
int wait_readable(int fd, int timeout_ms);

/* Open a savefile for libpcap to read, where the C library allows without
 * stdio's per-call locking: libpcap makes two fread() calls a packet of the
 * files it reads itself (pcapng), and every call into it happens under the
 * GIL.  Returns NULL with errno set on failure. */
FILE *open_savefile_stream(const char *path);

/* Reading the records of a classic pcap savefile (version 2.4, either byte
 * order, micro- or nanosecond magic) straight from a large buffer: libpcap
 * makes two buffered fread() calls and a header copy per packet, which cost
 * more than all the rest of reading a small packet.  libpcap still opens and
 * checks the file and handles every other format (pcapng, old versions, pipes,
 * link types whose headers it rewrites). */
struct savefile_reader {
    int fd;
    int swapped;                /* file written in the other byte order */
    int nano;                   /* nanosecond timestamps in the file */
    int broken;                 /* a damaged record was reported: at the end */
    unsigned int snapshot;      /* libpcap's snapshot length for the file */
    unsigned char *buf;
    size_t size, pos, end;      /* capacity; next record; end of valid bytes */
    long long offset;           /* file offset of buf[end] */
    struct pcap_pkthdr hdr;
};

/* Take over a savefile that libpcap has opened from fp and whose file header
 * it has read.  Returns 1 when the reader is ready, 0 when the file is better
 * left to libpcap, -1 when out of memory. */
int savefile_reader_init(struct savefile_reader *r, pcap_t *p, FILE *fp);

#define RECORD_HEADER 16
/* libpcap's largest snapshot length for the link types the reader takes. */
#define MAX_CAPLEN 262144

/* The next record: 1 with *hdr and *data set (valid until the next call), 0
 * at the end of the file, -1 on a damaged file or a read error (message in
 * errbuf, PCAP_ERRBUF_SIZE bytes). */
int savefile_reader_next_slow(struct savefile_reader *r, struct pcap_pkthdr **hdr,
                              const unsigned char **data, char *errbuf);

static inline uint32_t swap32(uint32_t v)
{
    return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >> 8) & 0xff00) | (v >> 24);
}

/* The common case, inline: a whole, well-formed record in the buffer. */
static inline int savefile_reader_next(struct savefile_reader *r, struct pcap_pkthdr **hdr,
                                       const unsigned char **data, char *errbuf)
{
    uint32_t f[4];
    size_t avail = r->end - r->pos;

    if (avail >= RECORD_HEADER && !r->broken) {
        memcpy(f, r->buf + r->pos, RECORD_HEADER);
        if (r->swapped) {
            f[0] = swap32(f[0]); f[1] = swap32(f[1]);
            f[2] = swap32(f[2]); f[3] = swap32(f[3]);
        }
        if (f[2] <= r->snapshot && avail >= RECORD_HEADER + (size_t)f[2]) {
            r->hdr.ts.tv_sec = (time_t)f[0];
            r->hdr.ts.tv_usec = (suseconds_t)f[1];
            r->hdr.caplen = f[2];
            r->hdr.len = f[3];
            *hdr = &r->hdr;
            *data = r->buf + r->pos + RECORD_HEADER;
            r->pos += RECORD_HEADER + (size_t)f[2];
            return 1;
        }
    }
    return savefile_reader_next_slow(r, hdr, data, errbuf);
}

void savefile_reader_free(struct savefile_reader *r);

/* Whether fp reads from something other than a regular file (a pipe, a
 * FIFO, a terminal), where a read can wait. */
int is_stream(FILE *fp);

/* Milliseconds on the monotonic clock. */
double monotonic_ms(void);

/* Whether name is a network interface of this machine. */
int is_interface_name(const char *name);

/* Print a socket address from pcap_findalldevs() as text: dotted IPv4,
 * IPv6, or a colon-separated hardware address for AF_PACKET.  Returns the
 * address family, or -1 when the family is not printable (buf is then ""). */
int sockaddr_to_text(const struct sockaddr *sa, char *buf, size_t buflen);

#endif
