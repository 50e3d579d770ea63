/* Savefile bytes in our own buffer, from a regular file or from a pipe.
 *
 * Every savefile is read through one savefile_stream: the module opens the
 * descriptor, reads into the stream's buffer, and lets libpcap open (and,
 * for pcapng and the formats below, read) the file through a FILE that
 * serves from that buffer.  Bytes once read are never lost: a signal, a
 * short read or a pipe that pauses in the middle of a record leaves them in
 * the buffer, and the next read goes on from there.
 *
 * On a pipe nothing here ever waits: a fill reads what is there now, and a
 * read that needs more says so, so that the caller waits in its own bounded,
 * interruptible slices.  libpcap, which would block in fread(), is only ever
 * shown whole records or blocks ("units"): it never sees a pipe run dry in
 * the middle of one, except at the real end of the data, where it reports
 * what is missing in its own words.
 *
 * Classic pcap files in the plain formats are read record by record by
 * record_next() below, which hands libpcap every record it does not read
 * exactly as libpcap would; everything else (pcapng, the modified and
 * pre-2.4 formats, link types whose pseudo-headers libpcap rewrites) stays
 * with libpcap. */
#ifndef PCAP_STREAM_H
#define PCAP_STREAM_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "platform.h"
#include "savefile_format.h"

/* Whether libpcap can read from the stream through a FILE (stream_file):
 * fopencookie() or funopen(); not on Windows and in the simulated build,
 * where stream_open_dead() stands in for libpcap's open and our readers
 * read every record (platform.h). */
#if defined(STREAM_NO_COOKIE)
#define STREAM_HAS_FILE 0
#else
#define STREAM_HAS_FILE 1
#endif

enum { FORMAT_UNKNOWN = 0, FORMAT_PCAP = 1, FORMAT_PCAPNG = 2 };

struct savefile_stream {
    int fd;
    int is_pipe;            /* bytes arrive over time: a read may have to wait */
    int eof;                /* the descriptor reached its end */
    int err;                /* errno of a failed read, else 0 */
    unsigned char *buf;
    size_t size;            /* capacity of buf */
    size_t pos;             /* first byte not yet consumed */
    size_t end;             /* end of the bytes read */
    size_t limit;           /* libpcap is served bytes before this only */
    int serve_all;          /* regular file read by libpcap: no limit, fill on demand */
    int hold;               /* keep every byte from the start (pcapng while libpcap opens it) */
    /* Framing of the units that libpcap reads (see stream_frame). */
    int format;
    int swapped;            /* the file's byte order is not ours */
    size_t record_header;   /* classic: RECORD_HEADER, or MODIFIED_RECORD_HEADER */
    int lengths_swapped;    /* classic before 2.4: 0 no, 1 yes, 2 when caplen > len */
    uint32_t max_caplen;    /* classic: libpcap's largest caplen for the link type */
    int major, minor;       /* classic: the file's version (stream_opened, or stream_open_dead) */
    char *file_buffer;      /* the stdio buffer of a pcapng stream_file() */
};

/* Set up a stream over fd (not owned).  Returns 0, or -1 out of memory. */
int stream_init(struct savefile_stream *s, int fd);
void stream_free(struct savefile_stream *s);

/* Make `want` bytes after pos available if the file has them: a regular
 * file is read until then or its end; a pipe gives what it has now, without
 * waiting.  Returns how many bytes are available (may be fewer). */
size_t stream_fill(struct savefile_stream *s, size_t want);

/* Whether the stream holds what libpcap reads to open the file (the file
 * header; for pcapng the blocks up to the first interface description),
 * or has ended.  Sets limit to the end of those bytes and format. */
int stream_open_ready(struct savefile_stream *s);

/* Once libpcap has opened the file: how to frame its records, from the
 * version and link type libpcap found. */
void stream_opened(struct savefile_stream *s, pcap_t *p);

/* Extend limit over the units complete in the buffer (all bytes once the
 * pipe has ended).  Returns how many bytes after pos the next incomplete
 * unit needs (0 when limit is already past pos). */
size_t stream_frame(struct savefile_stream *s);

/* Whether a read that found nothing more may find more later. */
static inline int stream_may_grow(const struct savefile_stream *s)
{
    return s->is_pipe && !s->eof && !s->err;
}

/* A FILE that serves libpcap from the stream (on a pipe, never past
 * limit).  Unbuffered, libpcap consumes exactly what it asks for, so that
 * our readers go on from where it stopped; buffered, for a file libpcap
 * reads alone, pos runs ahead of libpcap by what the FILE holds (on a pipe
 * whole units only).  Made once format is known (after stream_open_ready);
 * NULL out of memory.  Closing it leaves the stream alone; close it before
 * stream_free(), which frees its buffer. */
FILE *stream_file(struct savefile_stream *s, int buffered);

/* Where there is no such FILE (STREAM_HAS_FILE 0): libpcap's open of a
 * classic file done here.  Reads and consumes the file header and returns a
 * dead handle of the file's link type, snapshot length (libpcap's, where the
 * file's is 0 or too large) and `precision`; NULL with errbuf saying why for
 * what our readers cannot read alone (another format version, the modified
 * format, a header cut short, no savefile at all).  A pcapng file: NULL and
 * errbuf "", the pcapng reader reads it all (_pcapng_dead). */
pcap_t *stream_open_dead(struct savefile_stream *s, int precision, char *errbuf);

struct record_reader;

/* Where there is no such FILE: why the record at pos, which record_next()
 * leaves to libpcap, cannot be read (cut short, longer than the snapshot
 * length, of an impossible length), into errbuf. */
void record_refusal(const struct record_reader *r, char *errbuf);

/* Where there is no such FILE: a whole record at pos longer than the
 * snapshot length cut to it and consumed, as libpcap does (1, *hdr and
 * *data set); 0 for any other record. */
int record_cut(struct record_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data);

/* Whether libpcap changes the records of link type dlt after reading them
 * (or limits their length itself), in a file of the other byte order when
 * swapped: those are libpcap's to read. */
int link_type_rewritten(int dlt, int swapped);

/* Whether libpcap rewrites the packets of link type dlt after reading them
 * (pseudo-headers in a file of the other byte order, Linux USB lengths). */
int link_type_post_processed(int dlt, int swapped);

/* ---- classic records, read without libpcap ------------------------------ */

/* record_next reads the common records itself: whole, within the snapshot
 * length.  Any other record (cut short by the end of the file, longer than
 * the snapshot length, with an impossible length, after a read error) it
 * leaves where it is, for libpcap to read through stream_file(): so every
 * packet and every failure is libpcap's own, in the words of whichever
 * libpcap version runs. */
struct record_reader {
    struct savefile_stream *s;
    int swapped;
    uint32_t snapshot;      /* libpcap's snapshot length for the file */
    uint32_t max_caplen;    /* libpcap's largest sane caplen for the link type */
    struct pcap_pkthdr hdr;
};

/* Whether the file libpcap opened from s is one record_next reads exactly as
 * libpcap would; if so, set r up to go on from where libpcap stopped. */
int record_reader_init(struct record_reader *r, struct savefile_stream *s, pcap_t *p);

enum {
    RECORD_PACKET = 1,      /* *hdr and *data set, valid until the next call */
    RECORD_WAIT = 0,        /* a pipe has not delivered the whole record yet */
    RECORD_END = -1,        /* the end of the file, after a whole record */
    RECORD_LIBPCAP = 2      /* libpcap must read the record at pos (see above) */
};

/* record_next() out of line: what its inline case does not take (a record
 * not yet whole in the buffer, the end, one for libpcap). */
int record_next_slow(struct record_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data);

/* The pcap_pkthdr libpcap makes of a classic record header. */
static inline void record_pkthdr(const struct classic_record *rec, struct pcap_pkthdr *h)
{
    /* Both time stamp fields are unsigned 32-bit, as the format says. */
    h->ts.tv_sec = (time_t)rec->sec;
    h->ts.tv_usec = (suseconds_t)rec->frac;
    h->caplen = rec->caplen;
    h->len = rec->len;
}

/* Hand out the record at pos, whose header is rec and whose caplen bytes
 * are in the buffer, and consume it. */
static inline int record_take(struct record_reader *r, const struct classic_record *rec,
                              struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;

    record_pkthdr(rec, &r->hdr);
    *hdr = &r->hdr;
    *data = s->buf + s->pos + RECORD_HEADER;
    s->pos += RECORD_HEADER + (size_t)rec->caplen;
    return RECORD_PACKET;
}

/* The next record: RECORD_PACKET, _WAIT, _END or _LIBPCAP.  The common case
 * inline: a whole record within the snapshot length. */
static inline int record_next(struct record_reader *r, struct pcap_pkthdr **hdr,
                              const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    size_t avail = s->end - s->pos;
    struct classic_record rec;

    if (avail >= RECORD_HEADER) {
        classic_record_read(s->buf + s->pos, r->swapped, &rec);
        if (rec.caplen <= r->snapshot && avail - RECORD_HEADER >= (size_t)rec.caplen)
            return record_take(r, &rec, hdr, data);
    }
    return record_next_slow(r, hdr, data);
}

#endif
