#define _GNU_SOURCE     /* fopencookie */
#include "pcap_stream.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_BUFFER (64 * 1024)

/* libpcap's largest pcapng block before it has seen an unusual link type
 * (INITIAL_MAX_BLOCKSIZE in sf-pcapng.c), and its largest classic caplen for
 * most link types (MAXIMUM_SNAPLEN; max_snaplen_for_dlt in pcap-common.c). */
#define PCAPNG_MAX_BLOCK (16u * 1024 * 1024)
#define MAXIMUM_SNAPLEN 262144u

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

int stream_init(struct savefile_stream *s, int fd)
{
    struct stat st;

    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->is_pipe = !(fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
    s->buf = malloc(STREAM_BUFFER);
    if (s->buf == NULL)
        return -1;
    s->size = STREAM_BUFFER;
    return 0;
}

void stream_free(struct savefile_stream *s)
{
    free(s->buf);
    s->buf = NULL;
}

/* Room to read more of the `want` bytes wanted after pos: move the
 * unconsumed bytes to the front, or grow the buffer.  A regular file is read
 * in large pieces.  Returns 0, or -1 out of memory. */
static int make_room(struct savefile_stream *s, size_t want)
{
    size_t have = s->end - s->pos;
    size_t room = want > have ? want - have : 0;
    size_t least = s->is_pipe ? 4096 : STREAM_BUFFER / 2;

    if (room < least)
        room = least;
    if (s->size - s->end < room && s->pos > 0) {
        memmove(s->buf, s->buf + s->pos, have);
        s->end = have;
        s->limit = s->limit > s->pos ? s->limit - s->pos : 0;
        s->pos = 0;
    }
    if (s->size - s->end < room) {
        size_t bigger = s->size * 2 > s->end + room ? s->size * 2 : s->end + room;
        unsigned char *b = realloc(s->buf, bigger);
        if (b == NULL)
            return -1;
        s->buf = b;
        s->size = bigger;
    }
    return 0;
}

static int readable_now(int fd)
{
    struct pollfd pfd;
    int rc;

    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    do
        rc = poll(&pfd, 1, 0);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

size_t stream_fill(struct savefile_stream *s, size_t want)
{
    ssize_t got;

    while (s->end - s->pos < want && !s->eof && !s->err) {
        if (make_room(s, want) < 0) {
            s->err = ENOMEM;
            break;
        }
        /* A readable pipe gives what it holds at once: read() cannot wait. */
        if (s->is_pipe && !readable_now(s->fd))
            break;
        got = read(s->fd, s->buf + s->end, s->size - s->end);
        if (got < 0) {
            if (errno == EINTR)
                continue;   /* nothing was consumed: read again */
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            s->err = errno;
            break;
        }
        if (got == 0)
            s->eof = 1;
        s->end += (size_t)got;
    }
    return s->end - s->pos;
}

static uint32_t get32(const struct savefile_stream *s, const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return s->swapped ? swap32(v) : v;
}

/* The size of the unit at u, given `avail` bytes of it: its header size
 * while the header is incomplete.  A unit whose length libpcap rejects as
 * soon as it has read the header ends at its header, so that libpcap reports
 * it at once, as it would reading the pipe itself. */
static size_t unit_size(const struct savefile_stream *s, const unsigned char *u, size_t avail)
{
    if (s->format == FORMAT_PCAP) {
        uint32_t caplen, wirelen;
        if (avail < s->record_header)
            return s->record_header;
        caplen = get32(s, u + 8);
        wirelen = get32(s, u + 12);
        if (s->lengths_swapped == 1 || (s->lengths_swapped == 2 && caplen > wirelen))
            caplen = wirelen;
        if (caplen > s->max_caplen)
            return s->record_header;
        return s->record_header + caplen;
    } else {
        uint32_t total;
        if (avail < 8)
            return 8;
        total = get32(s, u + 4);
        /* (A length that is not a multiple of 4 is refused at the header
         * from libpcap 1.9 on, read whole by 1.8: wait for all of it.) */
        if (total < 12 || total > PCAPNG_MAX_BLOCK)
            return 8;
        return total;
    }
}

size_t stream_frame(struct savefile_stream *s)
{
    size_t size, avail;

    if (s->limit < s->pos)
        s->limit = s->pos;
    for (;;) {
        avail = s->end - s->limit;
        size = unit_size(s, s->buf + s->limit, avail);
        if (size > avail)
            break;
        s->limit += size;
    }
    if (!stream_may_grow(s)) {
        s->limit = s->end;   /* what is left goes to libpcap, which names what is missing */
        return 0;
    }
    return s->limit > s->pos ? 0 : size;
}

int stream_open_ready(struct savefile_stream *s)
{
    size_t avail = stream_fill(s, 24);
    size_t at, size;
    uint32_t magic, type;

    if (avail < 4 && stream_may_grow(s))
        return 0;
    if (avail < 4) {
        s->limit = s->end;   /* all there is: libpcap says what it makes of it */
        return 1;
    }
    memcpy(s->head, s->buf + s->pos, avail < sizeof(s->head) ? avail : sizeof(s->head));
    memcpy(&magic, s->buf + s->pos, 4);
    switch (magic) {
    case 0xa1b2c3d4: case 0xa1b23c4d: case 0xa1b2cd34:
    case 0xd4c3b2a1: case 0x4d3cb2a1: case 0x34cdb2a1:
        s->format = FORMAT_PCAP;
        s->swapped = (magic & 0xff) == 0xa1;
        s->record_header = (magic == 0xa1b2cd34 || magic == 0x34cdb2a1) ? 24 : 16;
        s->max_caplen = MAXIMUM_SNAPLEN;
        if (avail < 24 && stream_may_grow(s))
            return 0;
        s->limit = s->pos + (avail < 24 ? avail : 24);
        return 1;
    case BT_SHB:
        break;
    default:
        s->limit = s->pos + 4;   /* libpcap knows no other format */
        return 1;
    }
    s->format = FORMAT_PCAPNG;
    if (avail < 12) {
        if (stream_may_grow(s))
            return 0;
        s->limit = s->end;
        return 1;
    }
    memcpy(&magic, s->buf + s->pos + 8, 4);
    if (magic != BYTE_ORDER_MAGIC && swap32(magic) != BYTE_ORDER_MAGIC) {
        s->limit = s->pos + 12;
        return 1;
    }
    s->swapped = magic != BYTE_ORDER_MAGIC;
    /* The section header, then the blocks up to the first interface (or the
     * first packet, which libpcap refuses there).  Offsets from pos: a fill
     * may move the bytes. */
    at = 0;
    for (;;) {
        avail = stream_fill(s, at + 8) - at;
        if (at + 8 > s->end - s->pos)
            break;
        size = unit_size(s, s->buf + s->pos + at, avail);
        if (at == 0 && get32(s, s->buf + s->pos + 4) < 28) {
            s->limit = s->pos + 12;   /* a section header too short: refused at once */
            return 1;
        }
        if (at == 0 && size == 8) {
            /* A huge section header: libpcap 1.10.5 and later refuse it at
             * once, earlier ones read on to the end of the file. */
            stream_fill(s, s->end - s->pos + 1);
            break;
        }
        if (size == 8) {   /* a length libpcap refuses: it reads no further */
            s->limit = s->pos + at + 8;
            return 1;
        }
        if (stream_fill(s, at + size) < at + size)
            break;
        type = get32(s, s->buf + s->pos + at);
        at += size;
        if (type == BT_IDB || type == BT_EPB || type == BT_SPB || type == BT_PB) {
            s->limit = s->pos + at;
            return 1;
        }
    }
    if (stream_may_grow(s))
        return 0;
    s->limit = s->end;
    return 1;
}

void stream_opened(struct savefile_stream *s, pcap_t *p)
{
    int major = pcap_major_version(p), minor = pcap_minor_version(p);

    if (s->format != FORMAT_PCAP)
        return;
    if (major == 2)
        s->lengths_swapped = minor < 3 ? 1 : minor == 3 ? 2 : 0;
    else
        s->lengths_swapped = major == 543;
    switch (pcap_datalink(p)) {
#ifdef DLT_DBUS
    case DLT_DBUS: s->max_caplen = 128u * 1024 * 1024; break;
#endif
#ifdef DLT_EBHSCR
    case DLT_EBHSCR: s->max_caplen = 8u * 1024 * 1024; break;
#endif
#ifdef DLT_USBPCAP
    case DLT_USBPCAP: s->max_caplen = 1024u * 1024; break;
#endif
    default: s->max_caplen = MAXIMUM_SNAPLEN; break;
    }
}

/* ---- the FILE libpcap reads ------------------------------------------- */

static ssize_t serve(void *cookie, char *out, size_t n)
{
    struct savefile_stream *s = cookie;
    size_t avail;

    if (s->serve_all) {
        avail = stream_fill(s, n < STREAM_BUFFER ? n : STREAM_BUFFER);
    } else {
        if (!stream_may_grow(s) || s->limit < s->pos)
            s->limit = stream_may_grow(s) ? s->pos : s->end;   /* once the pipe has ended, all of it */
        avail = s->limit - s->pos;
    }
    if (avail == 0 && s->err) {
        errno = s->err;
        return -1;
    }
    if (n > avail)
        n = avail;
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static int leave_open(void *cookie)
{
    (void)cookie;
    return 0;
}

FILE *stream_file(struct savefile_stream *s, int buffered)
{
    FILE *fp;
#if defined(__GLIBC__) || defined(__linux__)
    cookie_io_functions_t io = {serve, NULL, NULL, leave_open};
    fp = fopencookie(s, "rb", io);
#else
    fp = funopen(s, (int (*)(void *, char *, int))serve, NULL, NULL, leave_open);
#endif
    if (fp != NULL)
        setvbuf(fp, NULL, buffered ? _IOFBF : _IONBF, STREAM_BUFFER);
    return fp;
}

/* ---- classic records -------------------------------------------------- */

int link_type_rewritten(int dlt, int swapped)
{
    switch (dlt) {
    /* Link types whose records libpcap changes after reading them
     * (pcapint_post_process and swap_pseudo_headers, libpcap 1.8 to 1.10):
     * pseudo-headers in the writer's byte order, and a length fix for Linux
     * USB.  Types with their own caplen limit (max_snaplen_for_dlt) too. */
    case DLT_USB_LINUX_MMAPPED:
#ifdef DLT_DBUS
    case DLT_DBUS:
#endif
#ifdef DLT_EBHSCR
    case DLT_EBHSCR:
#endif
#ifdef DLT_USBPCAP
    case DLT_USBPCAP:
#endif
        return 1;
    case DLT_PFLOG: case DLT_LINUX_SLL: case DLT_USB_LINUX: case DLT_NFLOG:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
        return swapped;
    default:
        return 0;
    }
}

int record_reader_init(struct record_reader *r, struct savefile_stream *s, pcap_t *p)
{
    uint32_t magic;

    memset(r, 0, sizeof(*r));
    if (s->format != FORMAT_PCAP || pcap_major_version(p) != 2 || pcap_minor_version(p) != 4)
        return 0;
    memcpy(&magic, s->head, 4);
    if (magic == 0xa1b2cd34 || magic == 0x34cdb2a1)
        return 0;   /* the modified format: longer record headers */
    if (link_type_rewritten(pcap_datalink(p), s->swapped))
        return 0;
    r->s = s;
    r->swapped = s->swapped;
    r->snapshot = (uint32_t)pcap_snapshot(p);
    r->max_caplen = MAXIMUM_SNAPLEN;
    return 1;
}

int record_next_slow(struct record_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    uint32_t f[4];
    size_t need;

    if (stream_fill(s, RECORD_HEADER) < RECORD_HEADER) {
        if (stream_may_grow(s))
            return RECORD_WAIT;
        /* The end: clean, or a record cut short or a read error, which
         * libpcap reports in its own words. */
        return s->pos == s->end && !s->err ? RECORD_END : RECORD_LIBPCAP;
    }
    record_fields(r, s->buf + s->pos, f);
    if (f[2] > r->max_caplen)
        return RECORD_LIBPCAP;       /* libpcap refuses it once it has read the header */
    need = RECORD_HEADER + (size_t)f[2];
    if (stream_fill(s, need) < need)
        return stream_may_grow(s) ? RECORD_WAIT : RECORD_LIBPCAP;
    if (f[2] > r->snapshot)
        return RECORD_LIBPCAP;       /* libpcap cuts it to the snapshot length */
    r->hdr.ts.tv_sec = (time_t)f[0];
    r->hdr.ts.tv_usec = (suseconds_t)f[1];
    r->hdr.caplen = f[2];
    r->hdr.len = f[3];
    *hdr = &r->hdr;
    *data = s->buf + s->pos + RECORD_HEADER;
    s->pos += need;
    return RECORD_PACKET;
}

/* ---- byte ranges of a classic savefile ------------------------------------ */

int savefile_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked)
{
    unsigned char head[24], *buf;
    uint64_t pos, size, base;
    size_t have = 0, at = 0, next = 0, hdrlen;
    uint32_t magic, caplen;
    int swapped;
    ssize_t got;
    struct stat st;
    const size_t chunk = 1 << 20;

    if (fstat(fd, &st) < 0)
        return -1;
    size = (uint64_t)st.st_size;
    if (pread(fd, head, 24, 0) != 24) {
        errno = EINVAL;
        return -2;
    }
    memcpy(&magic, head, 4);
    swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u || magic == 0x34cdb2a1u;
    if (swapped)
        magic = swap32(magic);
    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
        hdrlen = 16;
    else if (magic == 0xa1b2cd34u)
        hdrlen = 24;
    else {
        errno = EINVAL;
        return -2;
    }
    buf = malloc(chunk);
    if (buf == NULL)
        return -1;
    /* Walk the chain of records from the first: each record header's caplen
     * says where the next starts.  A range boundary is the first record start
     * at or after its target; a record whose header or body the file cuts
     * short ends the walk, and what is left belongs to the last range. */
    pos = 24;
    base = 24;
    while (next < n) {
        if (at + hdrlen > have) {
            /* refill from pos, keeping nothing: pos is a record start */
            base = pos;
            got = pread(fd, buf, chunk, (off_t)base);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                free(buf);
                return -1;
            }
            have = (size_t)got;
            at = 0;
            if (have < hdrlen)
                break;              /* the end, or a header cut short */
        }
        while (next < n && targets[next] <= pos)
            out[next++] = pos;
        if (next == n)
            break;
        memcpy(&caplen, buf + at + 8, 4);
        if (swapped)
            caplen = swap32(caplen);
        if ((uint64_t)hdrlen + caplen > size - pos)
            break;                  /* the body is cut short */
        pos += hdrlen + caplen;
        if (pos - base <= have)
            at = (size_t)(pos - base);
        else
            have = 0, at = 0;       /* past the buffer: read from pos */
        if (have == 0 && pos >= size)
            break;
    }
    while (next < n)
        out[next++] = size;         /* nothing starts there: empty ranges at the end */
    *walked = pos;
    free(buf);
    return 0;
}
