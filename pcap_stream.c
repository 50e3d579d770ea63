#define _GNU_SOURCE     /* fopencookie */
#include "pcap_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <io.h>
#define read _read
#else
#include <unistd.h>
#endif

#include "pcapng_reader.h"   /* dlt_of_linktype */
#include "wait.h"

#ifndef STREAM_BUFFER   /* (the fuzzer's is small, so that blocks and records cross its end) */
#define STREAM_BUFFER (64 * 1024)   /* the stream's first buffer, and a regular file's reads */
#endif
#define FILE_BUFFER (64 * 1024)     /* the stdio buffer of a pcapng FILE */

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
    free(s->file_buffer);
    s->buf = NULL;
    s->file_buffer = NULL;
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
    if (s->size - s->end < room && s->pos > 0 && !s->hold) {
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

size_t stream_fill(struct savefile_stream *s, size_t want)
{
    ssize_t got;

    while (s->end - s->pos < want && !s->eof && !s->err) {
        if (make_room(s, want) < 0) {
            s->err = ENOMEM;
            break;
        }
        /* A readable pipe gives what it holds at once: read() cannot wait. */
        if (s->is_pipe && wait_readable(s->fd, 0) <= 0)
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

/* A 32-bit field of a pcapng block, in our byte order. */
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
        struct classic_record rec;
        uint32_t caplen;
        if (avail < s->record_header)
            return s->record_header;
        classic_record_read(u, s->swapped, &rec);
        caplen = rec.caplen;
        if (s->lengths_swapped == 1 || (s->lengths_swapped == 2 && caplen > rec.len))
            caplen = rec.len;
        if (caplen > s->max_caplen)
            return s->record_header;
        return s->record_header + caplen;
    } else {
        uint32_t total;
        if (avail < PCAPNG_BLOCK_HEADER)
            return PCAPNG_BLOCK_HEADER;
        total = get32(s, u + 4);
        /* (A length that is not a multiple of 4 is refused at the header
         * from libpcap 1.9 on, read whole by 1.8: wait for all of it.) */
        if (total < PCAPNG_MIN_BLOCK || total > PCAPNG_MAX_BLOCK)
            return PCAPNG_BLOCK_HEADER;
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
    size_t avail = stream_fill(s, PCAP_FILE_HEADER);
    size_t at, size;
    uint32_t magic, type;
    struct classic_format classic;

    if (avail < 4 && stream_may_grow(s))
        return 0;
    if (avail < 4) {
        s->limit = s->end;   /* all there is: libpcap says what it makes of it */
        return 1;
    }
    memcpy(&magic, s->buf + s->pos, 4);
    if (classic_format_of(magic, &classic)) {
        s->format = FORMAT_PCAP;
        s->swapped = classic.swapped;
        s->record_header = classic.record_header;
        s->max_caplen = MAXIMUM_SNAPLEN;
        if (avail < PCAP_FILE_HEADER && stream_may_grow(s))
            return 0;
        s->limit = s->pos + (avail < PCAP_FILE_HEADER ? avail : PCAP_FILE_HEADER);
        return 1;
    }
    if (magic != BT_SHB) {
        s->limit = s->pos + 4;   /* libpcap knows no other format */
        return 1;
    }
    s->format = FORMAT_PCAPNG;
    if (avail < PCAPNG_MIN_BLOCK) {
        if (stream_may_grow(s))
            return 0;
        s->limit = s->end;
        return 1;
    }
    memcpy(&magic, s->buf + s->pos + 8, 4);
    if (magic != BYTE_ORDER_MAGIC && swap32(magic) != BYTE_ORDER_MAGIC) {
        s->limit = s->pos + PCAPNG_MIN_BLOCK;
        return 1;
    }
    s->swapped = magic != BYTE_ORDER_MAGIC;
    /* The section header, then the blocks up to the first interface (or the
     * first packet, which libpcap refuses there).  Offsets from pos: a fill
     * may move the bytes. */
    at = 0;
    for (;;) {
        avail = stream_fill(s, at + PCAPNG_BLOCK_HEADER) - at;
        if (at + PCAPNG_BLOCK_HEADER > s->end - s->pos)
            break;
        size = unit_size(s, s->buf + s->pos + at, avail);
        if (at == 0 && get32(s, s->buf + s->pos + 4) < PCAPNG_MIN_SHB) {
            s->limit = s->pos + PCAPNG_MIN_BLOCK;   /* a section header too short: refused at once */
            return 1;
        }
        if (at == 0 && size == PCAPNG_BLOCK_HEADER) {
            /* A huge section header: libpcap 1.10.5 and later refuse it at
             * once, earlier ones read on to the end of the file. */
            stream_fill(s, s->end - s->pos + 1);
            break;
        }
        if (size == PCAPNG_BLOCK_HEADER) {   /* a length libpcap refuses: it reads no further */
            s->limit = s->pos + at + PCAPNG_BLOCK_HEADER;
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
    /* (A dead handle from stream_open_dead() has no version: the stream
     * noted the file's.) */
    int major = s->major ? s->major : pcap_major_version(p);
    int minor = s->major ? s->minor : pcap_minor_version(p);

    if (s->format != FORMAT_PCAP)
        return;
    s->major = major;
    s->minor = minor;
    if (major == 2)
        s->lengths_swapped = minor < 3 ? 1 : minor == 3 ? 2 : 0;
    else
        s->lengths_swapped = major == 543;
    s->max_caplen = max_caplen_for_dlt(pcap_datalink(p));
}

/* ---- the FILE libpcap reads ------------------------------------------- */

#if STREAM_HAS_FILE

/* The FILE's read: what the stream holds, so that libpcap's fread() never
 * waits; on a pipe only up to limit (whole units) until the pipe ends, a
 * regular file read on demand. */
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

#if defined(STREAM_FUNOPEN)
/* funopen()'s read takes and returns int (macOS and the BSDs, funopen(3)). */
static int serve_funopen(void *cookie, char *out, int n)
{
    return (int)serve(cookie, out, n > 0 ? (size_t)n : 0);
}
#endif

/* The FILE's close, from pcap_close(): the stream and its descriptor are
 * the module's, freed and closed by the source that owns them. */
static int leave_open(void *cookie)
{
    (void)cookie;
    return 0;
}

FILE *stream_file(struct savefile_stream *s, int buffered)
{
    FILE *fp;
#if defined(STREAM_FOPENCOOKIE)
    cookie_io_functions_t io = {serve, NULL, NULL, leave_open};
    fp = fopencookie(s, "rb", io);
#else
    fp = funopen(s, serve_funopen, NULL, NULL, leave_open);
#endif
    if (fp == NULL)
        return NULL;
    /* Unbuffered where our readers read records from the stream itself and
     * hand libpcap only the odd one: both must see the same position, with
     * nothing read ahead into a FILE buffer.  Buffered where libpcap reads
     * the whole file (pcapng our reader cannot follow), which it freads in
     * several small pieces a block: unbuffered, every piece is a call
     * through the cookie (pcapng was read 28 times slower than libpcap
     * reads a plain file).  Our own buffer, because glibc sizes the one it
     * allocates by BUFSIZ.  (setvbuf must come before any I/O on the FILE.) */
    if (buffered) {
        s->file_buffer = malloc(FILE_BUFFER);
        if (s->file_buffer == NULL) {
            fclose(fp);
            return NULL;
        }
        setvbuf(fp, s->file_buffer, _IOFBF, FILE_BUFFER);
    } else {
        setvbuf(fp, NULL, _IONBF, 0);
    }
    return fp;
}

#else   /* no FILE over the stream: Windows, the simulated build */

FILE *stream_file(struct savefile_stream *s, int buffered)
{
    (void)s;
    (void)buffered;
    errno = ENOTSUP;
    return NULL;
}

/* A 16-bit field of a classic file header, in our byte order. */
static uint16_t get16(const struct savefile_stream *s, const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return s->swapped ? (uint16_t)((v >> 8) | (v << 8)) : v;
}

pcap_t *stream_open_dead(struct savefile_stream *s, int precision, char *errbuf)
{
    const unsigned char *h = s->buf + s->pos;
    size_t avail = s->end - s->pos;
    unsigned int major, minor;
    uint32_t snaplen, linktype, most;
    int dlt;
    pcap_t *p;

    errbuf[0] = '\0';
    if (s->format == FORMAT_PCAPNG)
        return NULL;
    if (s->format != FORMAT_PCAP) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, avail < 4 ? "truncated dump file; tried to read 4 file header "
                 "bytes, only got %u" : "unknown file format", (unsigned)avail);
        return NULL;
    }
    if (avail < PCAP_FILE_HEADER) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "truncated dump file; tried to read %u file header bytes, only got %u",
                 (unsigned)PCAP_FILE_HEADER, (unsigned)avail);
        return NULL;
    }
    major = get16(s, h + 4);
    minor = get16(s, h + 6);
    if (major != 2 || minor != 4 || s->record_header != RECORD_HEADER) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "a classic savefile of version %u.%u%s: on %s the module reads "
                 "only version 2.4 itself, and libpcap cannot read from its buffer", major, minor,
                 s->record_header != RECORD_HEADER ? " in the modified format" : "", PLATFORM_NAME);
        return NULL;
    }
    snaplen = get32(s, h + 16);
    linktype = get32(s, h + 20) & 0x03FFFFFFu;   /* LT_LINKTYPE(): the FCS bits above are not the type */
    dlt = dlt_of_linktype((int)linktype);
    most = max_caplen_for_dlt(dlt);
    if (snaplen == 0 || snaplen > most)
        snaplen = most;   /* as libpcap's sf-pcap.c does */
    p = pcap_open_dead_with_tstamp_precision(dlt, (int)snaplen, (unsigned)precision);
    if (p == NULL) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    s->pos += PCAP_FILE_HEADER;
    s->limit = s->pos;
    s->major = 2;
    s->minor = 4;
    return p;
}

void record_refusal(const struct record_reader *r, char *errbuf)
{
    const struct savefile_stream *s = r->s;
    size_t avail = s->end - s->pos;
    struct classic_record rec;

    if (s->err) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "error reading dump file: %s", strerror(s->err));
        return;
    }
    if (avail < RECORD_HEADER) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "truncated dump file; tried to read %u header bytes, only got %u",
                 (unsigned)RECORD_HEADER, (unsigned)avail);
        return;
    }
    classic_record_read(s->buf + s->pos, r->swapped, &rec);
    if (rec.caplen > r->max_caplen)
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "invalid packet capture length %u, bigger than maximum of %u",
                 rec.caplen, r->max_caplen);
    else if (avail - RECORD_HEADER < rec.caplen)
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "truncated dump file; tried to read %u captured bytes, only got %u",
                 rec.caplen, (unsigned)(avail - RECORD_HEADER));
    else
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "a packet of %u captured bytes, more than the file's snapshot length "
                 "%u", rec.caplen, r->snapshot);
}

int record_cut(struct record_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    struct classic_record rec;

    if (s->end - s->pos < RECORD_HEADER)
        return 0;
    classic_record_read(s->buf + s->pos, r->swapped, &rec);
    if (rec.caplen <= r->snapshot || rec.caplen > r->max_caplen || s->end - s->pos - RECORD_HEADER < rec.caplen)
        return 0;
    /* As sf-pcap.c does: the first snapshot-length bytes, the rest passed over. */
    record_take(r, &rec, hdr, data);
    r->hdr.caplen = r->snapshot;
    return 1;
}

#endif

/* ---- classic records -------------------------------------------------- */

int link_type_post_processed(int dlt, int swapped)
{
    switch (dlt) {
    /* pcapint_post_process() and swap_pseudo_headers(), libpcap 1.8 to
     * 1.10: pseudo-headers in the writer's byte order, and a length fix for
     * Linux USB. */
    case DLT_USB_LINUX_MMAPPED:
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

int link_type_rewritten(int dlt, int swapped)
{
    /* And the types with a caplen limit of their own (max_snaplen_for_dlt). */
    return link_type_post_processed(dlt, swapped) || max_caplen_for_dlt(dlt) != MAXIMUM_SNAPLEN;
}

int record_reader_init(struct record_reader *r, struct savefile_stream *s, pcap_t *p)
{
    memset(r, 0, sizeof(*r));
    if (s->format != FORMAT_PCAP || s->major != 2 || s->minor != 4)
        return 0;
    if (s->record_header != RECORD_HEADER)
        return 0;   /* the modified format: longer record headers */
    if (link_type_rewritten(pcap_datalink(p), s->swapped))
        return 0;
    r->s = s;
    r->swapped = s->swapped;
    r->max_caplen = MAXIMUM_SNAPLEN;
    /* Some libpcaps keep a file's absurd snaplen as it is; a record longer
     * than max_caplen is libpcap's to refuse, whatever it says, and never
     * one to read ahead for. */
    r->snapshot = (uint32_t)pcap_snapshot(p);
    if (r->snapshot > r->max_caplen)
        r->snapshot = r->max_caplen;
    return 1;
}

int record_next_slow(struct record_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    struct classic_record rec;
    size_t need;

    if (stream_fill(s, RECORD_HEADER) < RECORD_HEADER) {
        if (stream_may_grow(s))
            return RECORD_WAIT;
        /* The end: clean, or a record cut short or a read error, which
         * libpcap reports in its own words. */
        return s->pos == s->end && !s->err ? RECORD_END : RECORD_LIBPCAP;
    }
    classic_record_read(s->buf + s->pos, r->swapped, &rec);
    if (rec.caplen > r->max_caplen)
        return RECORD_LIBPCAP;       /* libpcap refuses it once it has read the header */
    need = RECORD_HEADER + (size_t)rec.caplen;
    if (stream_fill(s, need) < need)
        return stream_may_grow(s) ? RECORD_WAIT : RECORD_LIBPCAP;
    if (rec.caplen > r->snapshot)
        return RECORD_LIBPCAP;       /* libpcap cuts it to the snapshot length */
    return record_take(r, &rec, hdr, data);
}
