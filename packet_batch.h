/* Packets gathered in C, with no Python object per packet:
 *
 *   batch_fill    readinto() and next_batch(): fixed records in one buffer,
 *                 the packets' bytes one after the other in another, both
 *                 the caller's; with no buffers, a count.  Filled by
 *                 record_fill() and pcapng_fill() from our readers and by
 *                 batch_dispatch(), all without the GIL.
 *   packet_queue  what one pcap_dispatch() on a live handle took from the
 *                 kernel, copied out of the ring, then handed out a packet
 *                 at a time (iteration, callbacks, lists).
 *
 * Nothing here calls Python, and nothing here touches a pcap_t except the
 * pcap_dispatch() the caller makes.  What runs once a packet stays inline
 * here; the rest is in packet_batch.c. */
#ifndef PACKET_BATCH_H
#define PACKET_BATCH_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "packet_fields.h"
#include "pcap_stream.h"
#include "triage.h"

/* One packet of a batch: pcap.BATCH_RECORD_FORMAT, "=qIIQ". */
struct batch_record {
    int64_t timestamp_ns;   /* since the epoch; clamped to int64 past 1678 to 2262 */
    uint32_t caplen;        /* bytes of the packet in data */
    uint32_t wirelen;       /* its length on the wire */
    uint64_t offset;        /* where its bytes start in data */
};
typedef char batch_record_is_24_bytes[sizeof(struct batch_record) == 24 ? 1 : -1];

/* The same, then which interface of the file the packet came from, its
 * pcapng flags (direction, ...) and the length of its comments in the
 * batch's comments buffer: pcap.BATCH_RECORD_NG_FORMAT, "=qIIQIII4x",
 * filled where the caller asks for it (interfaces=True). */
struct batch_record_ng {
    struct batch_record base;
    uint32_t interface_id;  /* index into pcap.interfaces (0 but in pcapng) */
    uint32_t flags;         /* epb_flags (0: none said) */
    uint32_t comment_len;   /* bytes of its comments, one after the other in comments ('\n' between) */
    uint32_t reserved;
};
typedef char batch_record_ng_is_40_bytes[sizeof(struct batch_record_ng) == 40 ? 1 : -1];

/* Seconds whose nanoseconds (plus any fraction field) fit an int64. */
#define NS_SAFE_SECONDS 9223360000LL

/* A batch with no buffers (records and stamps NULL) only counts: counting
 * packets is filling such a batch.  A batch with records and no data keeps
 * the records (offsets 0) and not the bytes; one with fields gets each
 * packet's header fields parsed there, one struct packet_fields a record.
 * A batch with columns (stamps set, records NULL, narrow records only)
 * writes each packet's time stamp, caplen and wire length straight into
 * Arrow's columns, and the end of its bytes into offsets[i + 1] (the caller
 * sets offsets[0]; NULL: no data column). */
struct batch_column_out {
    int64_t *stamps;
    uint32_t *caplens, *wirelens;
    int32_t *offsets;
};

struct batch_fill {
    unsigned char *records; /* capacity records */
    struct batch_column_out columns;   /* or capacity packets' columns (stamps NULL: none) */
    size_t capacity;
    size_t count;           /* records written */
    unsigned char *data;
    size_t size;            /* bytes of data */
    size_t used;            /* bytes of data written */
    size_t largest;         /* room one packet may need: the snaplen */
    int64_t ns_scale;       /* nanoseconds per unit of tv_usec */
    size_t too_large;       /* caplen of a packet that did not fit (0: none) */
    size_t record_size;     /* sizeof(struct batch_record), or of struct batch_record_ng */
    unsigned char *comments;    /* wide records: the packets' comments, else NULL */
    size_t comments_size;
    size_t comments_used;
    size_t comments_too_large;  /* comments of one packet longer than all of comments (0: none) */
    struct fields_plan *fields;     /* where each packet's header fields go, or NULL */
    struct triage *triage;  /* keeps or drops each packet before it goes in (NULL: all go in) */
    int dlt;                /* the link type of the packets put next (a pcapng reader sets it per packet) */
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

/* Append one packet, unless the triage drops it.  A packet longer than the
 * room left (only a libpcap that gives a caplen over the snaplen could make
 * one) is not written: too_large says so, and the caller raises.  Returns
 * whether it went in. */
static inline int batch_put_meta(struct batch_fill *f, const struct pcap_pkthdr *h, const unsigned char *bytes,
                                  uint32_t interface_id, uint32_t flags)
{
    static const struct fields_options headers_only = {0, 0};
    struct packet_fields parsed;
    unsigned char *out;
    int64_t stamp;
    uint64_t offset;
    /* One parse serves the triage and the fields. */
    if (f->triage != NULL || f->fields != NULL)
        packet_fields_parse(bytes, h->caplen, f->dlt, f->fields != NULL ? &f->fields->options : &headers_only,
                            &parsed);
    if (f->triage != NULL && !triage_decide(f->triage, &parsed, h->len))
        return 0;
    if (f->records == NULL && f->columns.stamps == NULL) {
        f->count++;
        return 1;
    }
    if (f->count >= f->capacity || (f->data != NULL && h->caplen > f->size - f->used)) {
        if (!f->too_large)
            f->too_large = h->caplen ? h->caplen : 1;
        return 0;
    }
    /* Each field stored where it goes: a record built on the stack and
     * copied whole is read back with loads that span two of its stores,
     * which the CPU cannot forward (a profile put two thirds of the fill's
     * time there). */
    stamp = batch_stamp(h, f->ns_scale);
    offset = f->used;
    if (f->records == NULL) {
        f->columns.stamps[f->count] = stamp;
        f->columns.caplens[f->count] = h->caplen;
        f->columns.wirelens[f->count] = h->len;
        if (f->columns.offsets != NULL)
            f->columns.offsets[f->count + 1] = (int32_t)(offset + h->caplen);
    } else {
        out = f->records + f->count * f->record_size;
        memcpy(out + offsetof(struct batch_record, timestamp_ns), &stamp, sizeof stamp);
        memcpy(out + offsetof(struct batch_record, caplen), &h->caplen, sizeof h->caplen);
        memcpy(out + offsetof(struct batch_record, wirelen), &h->len, sizeof h->len);
        memcpy(out + offsetof(struct batch_record, offset), &offset, sizeof offset);
        if (f->record_size == sizeof(struct batch_record_ng)) {
            uint32_t none[2] = {0, 0};
            memcpy(out + offsetof(struct batch_record_ng, interface_id), &interface_id, sizeof interface_id);
            memcpy(out + offsetof(struct batch_record_ng, flags), &flags, sizeof flags);
            memcpy(out + offsetof(struct batch_record_ng, comment_len), none, sizeof none);
        }
    }
    if (f->fields != NULL)
        fields_plan_put(f->fields, &parsed, f->count);
    if (f->data != NULL) {
        memcpy(f->data + f->used, bytes, h->caplen);
        f->used += h->caplen;
    }
    f->count++;
    return 1;
}

static inline void batch_put(struct batch_fill *f, const struct pcap_pkthdr *h, const unsigned char *bytes)
{
    batch_put_meta(f, h, bytes, 0, 0);
}

/* Give the record last added to f another interface id (wide records
 * only): a capture over several sources numbers their interfaces one
 * after the other, and a source's own put wrote its own number. */
static inline void batch_relabel_last(struct batch_fill *f, uint32_t interface_id)
{
    if (f->records == NULL || f->count == 0 || f->record_size != sizeof(struct batch_record_ng))
        return;
    memcpy(f->records + (f->count - 1) * f->record_size + offsetof(struct batch_record_ng, interface_id),
           &interface_id, sizeof interface_id);
}

/* Fill f from the records that record_next() takes inline (whole, within
 * the snapshot length), keeping those that match prog (NULL: all), until f is
 * full or `limit` records were looked at.  Reads more of the file as it goes
 * (a pipe: what it holds now).  Returns how many records it looked at: 0 when
 * the next one needs record_next() (a pipe must be waited for, a record for
 * libpcap, the end).  Calls nothing that needs the GIL, and nothing of
 * libpcap's but the filter. */
size_t record_fill(struct record_reader *r, struct batch_fill *f, const struct bpf_program *prog, size_t limit);

/* pcap_dispatch() into a batch, at most cnt (>= 1) packets. */
int batch_dispatch(pcap_t *p, int cnt, struct batch_fill *f);

/* The records of a batch (record_size bytes each) as columns (Arrow's
 * layout): time stamps, caplens, wire lengths, the n + 1 int32 offsets of
 * the packets in data (the caller keeps data under 2 GiB; NULL: no data
 * column), and of wide records the interface ids and flags (either may be
 * NULL). */
void batch_columns(const unsigned char *records, size_t n, size_t record_size, int64_t *stamps,
                   uint32_t *caplens, uint32_t *wirelens, int32_t *offsets, uint32_t *interface_ids,
                   uint32_t *flags);

/* The comments of a batch of wide records as an Arrow string column: the
 * n + 1 offsets into the batch's comments, and the validity bitmap (a
 * packet without comments is null).  Returns how many have comments. */
size_t batch_comment_column(const unsigned char *records, size_t n, int32_t *offsets, unsigned char *valid);

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
int queue_init(struct packet_queue *q, size_t snaplen);

/* Free what queue_init() allocated. */
void queue_free(struct packet_queue *q);

/* Empty the queue and refill it with what the kernel holds now, at most
 * one batch: pcap_dispatch()'s count, or its error. */
int queue_dispatch(pcap_t *p, struct packet_queue *q);

#endif
