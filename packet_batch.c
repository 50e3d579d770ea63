#include "packet_batch.h"

#include <stdlib.h>
#include <string.h>

/* pcap_dispatch() callback; user is the batch_fill. */
static void batch_handler(unsigned char *user, const struct pcap_pkthdr *h, const unsigned char *bytes)
{
    batch_put((struct batch_fill *)user, h, bytes);
}

size_t record_fill(struct record_reader *r, struct batch_fill *f, const struct bpf_program *prog, size_t limit)
{
    struct savefile_stream *s = r->s;
    size_t looked = 0, need;
    struct classic_record rec;
    struct pcap_pkthdr h;
    const unsigned char *bytes;

    while (looked < limit && batch_has_room(f)) {
        if (s->end - s->pos < RECORD_HEADER && stream_fill(s, RECORD_HEADER) < RECORD_HEADER)
            break;
        classic_record_read(s->buf + s->pos, r->swapped, &rec);
        if (rec.caplen > r->snapshot)
            break;
        need = RECORD_HEADER + (size_t)rec.caplen;
        if (s->end - s->pos < need && stream_fill(s, need) < need)
            break;
        record_pkthdr(&rec, &h);
        bytes = s->buf + s->pos + RECORD_HEADER;
        s->pos += need;
        looked++;
        if (prog == NULL || pcap_offline_filter(prog, &h, bytes))
            batch_put(f, &h, bytes);
    }
    return looked;
}

int batch_dispatch(pcap_t *p, int cnt, struct batch_fill *f)
{
    return pcap_dispatch(p, cnt, batch_handler, (unsigned char *)f);
}

void batch_columns(const unsigned char *records, size_t n, size_t record_size, int64_t *stamps,
                   uint32_t *caplens, uint32_t *wirelens, int32_t *offsets, uint32_t *interface_ids,
                   uint32_t *flags)
{
    struct batch_record_ng rec;
    size_t i;
    if (offsets != NULL)
        offsets[0] = 0;
    memset(&rec, 0, sizeof rec);
    if (record_size > sizeof rec)
        record_size = sizeof rec;
    for (i = 0; i < n; i++) {
        memcpy(&rec, records + i * record_size, record_size);
        stamps[i] = rec.base.timestamp_ns;
        caplens[i] = rec.base.caplen;
        wirelens[i] = rec.base.wirelen;
        if (offsets != NULL) {
            offsets[i] = (int32_t)rec.base.offset;
            offsets[i + 1] = (int32_t)(rec.base.offset + rec.base.caplen);
        }
        if (interface_ids != NULL)
            interface_ids[i] = rec.interface_id;
        if (flags != NULL)
            flags[i] = rec.flags;
    }
}

size_t batch_comment_column(const unsigned char *records, size_t n, int32_t *offsets, unsigned char *valid)
{
    struct batch_record_ng rec;
    size_t i, with = 0;
    int32_t at = 0;

    memset(valid, 0, (n + 7) / 8);
    offsets[0] = 0;
    for (i = 0; i < n; i++) {
        memcpy(&rec, records + i * sizeof rec, sizeof rec);
        at += (int32_t)rec.comment_len;
        offsets[i + 1] = at;
        if (rec.comment_len) {
            valid[i / 8] |= (unsigned char)(1u << (i % 8));
            with++;
        }
    }
    return with;
}

/* ---- the live queue ------------------------------------------------------ */

int queue_init(struct packet_queue *q, size_t snaplen)
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

void queue_free(struct packet_queue *q)
{
    free(q->packets);
    free(q->data);
    q->packets = NULL;
    q->data = NULL;
    q->count = q->next = 0;
}

/* pcap_dispatch() callback; user is the (empty, reset) queue. */
static void queue_handler(unsigned char *user, const struct pcap_pkthdr *h, const unsigned char *bytes)
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

int queue_dispatch(pcap_t *p, struct packet_queue *q)
{
    q->used = q->count = q->next = 0;
    return pcap_dispatch(p, (int)q->batch, queue_handler, (unsigned char *)q);
}

