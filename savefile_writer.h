/* Savefiles written from our own buffer: classic pcap and pcapng, for the
 * dumper (dumper.pxi).
 *
 * Records and blocks are made whole in the buffer, and the buffer goes to
 * the file descriptor a whole number of them at a time (write(2), no
 * stdio): a process killed between two writes leaves a file that is sound
 * up to its last complete record or block.  (A SIGKILL inside a write(2)
 * of more than a page can end it early, at a page boundary: Linux's
 * generic_perform_write() stops there on a fatal signal, and the file ends
 * with part of a block.)  With no descriptor the caller
 * takes the buffer's bytes itself (a Python file object, a compressor).
 * Nothing here needs the GIL or calls Python. */
#ifndef SAVEFILE_WRITER_H
#define SAVEFILE_WRITER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "packet_batch.h"

struct savefile_writer {
    int fd;                     /* whole records and blocks go here; -1: the caller drains buf */
    int pcapng;                 /* 0: classic pcap records */
    unsigned char *buf;
    size_t used;                /* bytes of buf not yet written out */
    size_t size;
    size_t drain_at;            /* fd == -1: batches stop once used reaches this, for the caller */
    uint64_t units;             /* time stamp units a second: 10^6 or 10^9 */
    uint32_t count;             /* interfaces (pcapng; classic: 1) */
    uint32_t room;
    uint32_t *snaplen;          /* each interface's: packets are cut to it */
    uint64_t *packets;          /* packets written of each interface */
    uint64_t written;           /* bytes written out so far */
    int err;                    /* errno of the write that failed (0: none) */
};

/* A writer of pcapng (or classic pcap) to fd, with a buffer of `size`
 * bytes, time stamps in `units` a second.  0, or -1 out of memory. */
int writer_init(struct savefile_writer *w, int fd, int pcapng, uint64_t units, size_t size);
void writer_free(struct savefile_writer *w);

/* Write out what the buffer holds (fd only): 0, or -1 with w->err set. */
int writer_flush(struct savefile_writer *w);

/* A pcapng interface, or classic pcap's one: cut its packets to snaplen.
 * Its index, or -1 out of memory. */
int writer_add_interface(struct savefile_writer *w, uint32_t snaplen);

/* Raw bytes (a file header, or whole blocks made by the caller).  0, or -1
 * with w->err set. */
int writer_raw(struct savefile_writer *w, const void *bytes, size_t len);

/* A pcapng block of `type` whose body (what lies between the two lengths,
 * a multiple of 4 bytes) is `body`.  0, or -1 with w->err set. */
int writer_block(struct savefile_writer *w, uint32_t type, const void *body, size_t len);

/* One packet: a classic record, or an Enhanced Packet Block of interface
 * `iface` with `options` (encoded, ending in opt_endofopt; len 0: none).
 * flags, when not 0, is written as one more option (epb_flags).  The time
 * stamp is sec seconds and nsec nanoseconds, sec >= 0 (the caller checks
 * the range of the format).  caplen is cut to the interface's snaplen.
 * 0, -1 with w->err set, or -2 for an interface not added. */
int writer_packet(struct savefile_writer *w, uint32_t iface, int64_t sec, uint32_t nsec, uint32_t caplen,
                  uint32_t wirelen, const unsigned char *data, const unsigned char *options, size_t options_len,
                  uint32_t flags);

/* The direction of a packet of link type dlt, as its link-layer header
 * says (Linux cooked captures): PCAPNG_INBOUND, PCAPNG_OUTBOUND, or 0. */
#define PCAPNG_INBOUND 1u
#define PCAPNG_OUTBOUND 2u
uint32_t direction_of(int dlt, const unsigned char *data, uint32_t caplen);

/* Why writer_batch() stopped early. */
enum {
    BATCH_WRITTEN = 0,          /* all n */
    BATCH_DRAIN = 1,            /* fd == -1 and the buffer reached drain_at: drain, then go on */
    BATCH_WRITE_ERROR = -1,     /* w->err */
    BATCH_BAD_OFFSET = -2,      /* a record's bytes lie outside data */
    BATCH_BAD_INTERFACE = -3,   /* a record's interface was not added */
    BATCH_BAD_TIME = -4,        /* a time stamp before 1970 (or past 2106 in classic pcap) */
    BATCH_BAD_COMMENTS = -5,    /* comment lengths beyond the comments buffer */
    BATCH_NO_MEMORY = -6
};

/* The packets of batch records from *next up to n (readinto() and
 * next_batch() layouts: record_size 24, or 40 with interface, flags and
 * comment_len, whose comments follow one another in `comments` from
 * *comments_at).  Moves *next and *comments_at past what it wrote;
 * returns BATCH_*. */
int writer_batch(struct savefile_writer *w, const unsigned char *records, size_t record_size, size_t n,
                 size_t *next, const unsigned char *data, size_t data_len, const unsigned char *comments,
                 size_t comments_len, size_t *comments_at);

/* Packets as Arrow columns: n rows from row *next on.  offsets (n + 1
 * of them, int32 or, with wide_offsets, int64) place each packet in data;
 * the others may be NULL (wire length: the packet's length; interface,
 * flags: 0; comment: none).  comment_valid is the comments' validity
 * bitmap (NULL: all valid) at bit comment_bit + row.  Returns BATCH_* as
 * writer_batch() does, *next where it stopped. */
struct packet_columns {
    size_t n;
    const int64_t *stamps;          /* nanoseconds since the epoch */
    const uint32_t *wirelens;
    const void *offsets;
    int wide_offsets;
    const unsigned char *data;
    size_t data_len;
    const uint32_t *interface_ids;
    const uint32_t *flags;
    const void *comment_offsets;
    int wide_comment_offsets;
    const unsigned char *comments;
    size_t comments_len;
    const unsigned char *comment_valid;
    size_t comment_bit;
};

int writer_columns(struct savefile_writer *w, const struct packet_columns *c, size_t *next);

/* x (0 <= x < 2^52) rounded to an integer, half to even, as Python's
 * round() of a float: adding and taking away 2^52 rounds it in double
 * arithmetic (to nearest, ties to even) with no libm call, where doubles
 * are computed as doubles (SSE2, not x87's excess precision) and not
 * reassociated (-ffast-math); else nearbyint(). */
static inline int64_t writer_round_even(double x)
{
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0 && !defined(__FAST_MATH__)
    return (int64_t)((x + 4503599627370496.0) - 4503599627370496.0);
#else
    return (int64_t)nearbyint(x);
#endif
}

/* The LINKTYPE_ a savefile says for this platform's DLT_ (libpcap's
 * dlt_to_linktype()), or -1 for one no savefile can hold. */
int linktype_of_dlt(int dlt);

#endif
