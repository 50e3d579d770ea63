/* Packets gathered in C, with no Python object per packet:
 *
 *   batch_fill    readinto() and next_batch(): fixed records in one buffer,
 *                 the packets' bytes one after the other in another, both
 *                 the caller's.  Filled by record_fill() from our record
 *                 reader and by pcap_dispatch() through batch_handler, both
 *                 without the GIL.
 *   packet_queue  what one pcap_dispatch() on a live handle took from the
 *                 kernel, copied out of the ring, then handed out a packet
 *                 at a time (iteration, callbacks, lists).
 *
 * Nothing here calls Python, and nothing here touches a pcap_t except the
 * pcap_dispatch() the caller makes. */
#ifndef PCAP_BATCH_H
#define PCAP_BATCH_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_stream.h"

/* One packet of a batch: pcap.BATCH_RECORD_FORMAT, "=qIIQ". */
struct batch_record {
    int64_t timestamp_ns;   /* since the epoch; clamped to int64 past 1678 to 2262 */
    uint32_t caplen;        /* bytes of the packet in data */
    uint32_t wirelen;       /* its length on the wire */
    uint64_t offset;        /* where its bytes start in data */
};
typedef char batch_record_is_24_bytes[sizeof(struct batch_record) == 24 ? 1 : -1];

/* Seconds whose nanoseconds (plus any fraction field) fit an int64. */
#define NS_SAFE_SECONDS 9223360000LL

/* A batch with no buffers (records and data NULL) only counts: counting
 * packets is filling such a batch. */
struct batch_fill {
    unsigned char *records; /* capacity records */
    size_t capacity;
    size_t count;           /* records written */
    unsigned char *data;
    size_t size;            /* bytes of data */
    size_t used;            /* bytes of data written */
    size_t largest;         /* room one packet may need: the snaplen */
    int64_t ns_scale;       /* nanoseconds per unit of tv_usec */
    size_t too_large;       /* caplen of a packet that did not fit (0: none) */
};

/* Whether one more packet of any size up to largest fits. */
static inline int batch_has_room(const struct batch_fill *f)
{
    return f->count < f->capacity && (f->data == NULL || f->size - f->used >= f->largest);
}

/* How many packets certainly fit: a bound for pcap_dispatch(), which
 * cannot be stopped half-way. */
static inline size_t batch_room(const struct batch_fill *f)
{
    size_t by_records = f->capacity - f->count;
    size_t by_bytes = f->data == NULL ? by_records : (f->size - f->used) / (f->largest ? f->largest : 1);
    return by_bytes < by_records ? by_bytes : by_records;
}

static inline int64_t batch_stamp(const struct pcap_pkthdr *h, int64_t ns_scale)
{
    int64_t sec = (int64_t)h->ts.tv_sec;
    if (sec >= NS_SAFE_SECONDS)
        return INT64_MAX;
    if (sec <= -NS_SAFE_SECONDS)
        return INT64_MIN;
    return sec * 1000000000LL + (int64_t)h->ts.tv_usec * ns_scale;
}

/* Append one packet.  A packet longer than the room left (only a libpcap
 * that gives a caplen over the snaplen could make one) is not written:
 * too_large says so, and the caller raises. */
static inline void batch_put(struct batch_fill *f, const struct pcap_pkthdr *h, const unsigned char *bytes)
{
    struct batch_record rec;
    if (f->data == NULL) {
        f->count++;
        return;
    }
    if (f->count >= f->capacity || h->caplen > f->size - f->used) {
        if (!f->too_large)
            f->too_large = h->caplen ? h->caplen : 1;
        return;
    }
    rec.timestamp_ns = batch_stamp(h, f->ns_scale);
    rec.caplen = h->caplen;
    rec.wirelen = h->len;
    rec.offset = f->used;
    memcpy(f->records + f->count * sizeof rec, &rec, sizeof rec);
    memcpy(f->data + f->used, bytes, h->caplen);
    f->used += h->caplen;
    f->count++;
}

/* pcap_dispatch() callback; user is the batch_fill. */
static inline void batch_handler(unsigned char *user, const struct pcap_pkthdr *h, const unsigned char *bytes)
{
    batch_put((struct batch_fill *)user, h, bytes);
}

/* Fill f from the records that record_next() takes inline (whole, within
 * the snapshot length), keeping those that match prog (NULL: all), until f is
 * full or `limit` records were looked at.  Reads more of the file as it goes
 * (a pipe: what it holds now).  Returns how many records it looked at: 0 when
 * the next one needs record_next() (a pipe must be waited for, a record for
 * libpcap, the end).  Calls nothing that needs the GIL, and nothing of
 * libpcap's but the filter. */
static inline size_t record_fill(struct record_reader *r, struct batch_fill *f,
                                 const struct bpf_program *prog, size_t limit)
{
    struct savefile_stream *s = r->s;
    size_t looked = 0, need;
    uint32_t fields[4];
    struct pcap_pkthdr h;
    const unsigned char *bytes;

    while (looked < limit && batch_has_room(f)) {
        if (s->end - s->pos < RECORD_HEADER && stream_fill(s, RECORD_HEADER) < RECORD_HEADER)
            break;
        record_fields(r, s->buf + s->pos, fields);
        if (fields[2] > r->snapshot)
            break;
        need = RECORD_HEADER + (size_t)fields[2];
        if (s->end - s->pos < need && stream_fill(s, need) < need)
            break;
        h.ts.tv_sec = (time_t)fields[0];
        h.ts.tv_usec = (suseconds_t)fields[1];
        h.caplen = fields[2];
        h.len = fields[3];
        bytes = s->buf + s->pos + RECORD_HEADER;
        s->pos += need;
        looked++;
        if (prog == NULL || pcap_offline_filter(prog, &h, bytes))
            batch_put(f, &h, bytes);
    }
    return looked;
}

/* pcap_dispatch() into a batch, at most cnt (>= 1) packets. */
static inline int batch_dispatch(pcap_t *p, int cnt, struct batch_fill *f)
{
    return pcap_dispatch(p, cnt, batch_handler, (unsigned char *)f);
}

/* The records of a batch as columns (Arrow's layout): time stamps, caplens,
 * wire lengths, and the n + 1 int32 offsets of the packets in data (the
 * caller keeps data under 2 GiB). */
static inline void batch_columns(const unsigned char *records, size_t n, int64_t *stamps, uint32_t *caplens,
                                 uint32_t *wirelens, int32_t *offsets)
{
    struct batch_record rec;
    size_t i;
    offsets[0] = 0;
    for (i = 0; i < n; i++) {
        memcpy(&rec, records + i * sizeof rec, sizeof rec);
        stamps[i] = rec.timestamp_ns;
        caplens[i] = rec.caplen;
        wirelens[i] = rec.wirelen;
        offsets[i] = (int32_t)rec.offset;
        offsets[i + 1] = (int32_t)(rec.offset + rec.caplen);
    }
}

/* ---- the live queue ------------------------------------------------------ */

#define QUEUE_PACKETS 256                 /* most packets one dispatch takes */
#define QUEUE_BYTES (4 * 1024 * 1024)     /* most bytes it holds */

struct queued_packet {
    struct pcap_pkthdr hdr;
    size_t offset;          /* of its bytes in data */
};

struct packet_queue {
    struct queued_packet *packets;
    unsigned char *data;
    size_t size;            /* bytes of data */
    size_t used;
    size_t count;           /* packets queued */
    size_t next;            /* the next one to hand out */
    size_t batch;           /* packets one dispatch may take: all fit */
    int too_large;          /* a packet over the snaplen came (and was left out) */
};

/* Set up a queue for packets of at most snaplen bytes.  Returns 0, or -1
 * out of memory.  (The data is allocated, not touched: pages are only
 * used as packets fill them.) */
static inline int queue_init(struct packet_queue *q, size_t snaplen)
{
    size_t per = snaplen ? snaplen : 1;
    q->batch = QUEUE_BYTES / per;
    if (q->batch > QUEUE_PACKETS)
        q->batch = QUEUE_PACKETS;
    if (q->batch == 0)
        q->batch = 1;
    q->size = q->batch * per;
    q->packets = (struct queued_packet *)malloc(q->batch * sizeof *q->packets);
    q->data = (unsigned char *)malloc(q->size);
    q->used = q->count = q->next = 0;
    q->too_large = 0;
    if (q->packets == NULL || q->data == NULL) {
        free(q->packets);
        free(q->data);
        q->packets = NULL;
        q->data = NULL;
        return -1;
    }
    return 0;
}

static inline void queue_free(struct packet_queue *q)
{
    free(q->packets);
    free(q->data);
    q->packets = NULL;
    q->data = NULL;
    q->count = q->next = 0;
}

/* pcap_dispatch() callback; user is the (empty, reset) queue. */
static inline void queue_handler(unsigned char *user, const struct pcap_pkthdr *h, const unsigned char *bytes)
{
    struct packet_queue *q = (struct packet_queue *)user;
    if (q->count >= q->batch || h->caplen > q->size - q->used) {
        q->too_large = 1;
        return;
    }
    q->packets[q->count].hdr = *h;
    q->packets[q->count].offset = q->used;
    memcpy(q->data + q->used, bytes, h->caplen);
    q->used += h->caplen;
    q->count++;
}

/* Empty the queue and refill it with what the kernel holds now, at most
 * one batch: pcap_dispatch()'s count, or its error. */
static inline int queue_dispatch(pcap_t *p, struct packet_queue *q)
{
    q->used = q->count = q->next = 0;
    return pcap_dispatch(p, (int)q->batch, queue_handler, (unsigned char *)q);
}

#endif
