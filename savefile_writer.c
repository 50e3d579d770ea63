/* Savefiles written from our own buffer: see savefile_writer.h. */
#include "savefile_writer.h"

#include <errno.h>
#include <pcap.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapng_reader.h"
#include "savefile_format.h"

#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define OPT_EPB_FLAGS 2

int writer_init(struct savefile_writer *w, int fd, int pcapng, uint64_t units, size_t size)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->pcapng = pcapng;
    w->units = units;
    w->size = size < 4096 ? 4096 : size;
    w->drain_at = w->size / 2;
    w->buf = malloc(w->size);
    return w->buf == NULL ? -1 : 0;
}

void writer_free(struct savefile_writer *w)
{
    free(w->buf);
    free(w->snaplen);
    free(w->packets);
    w->buf = NULL;
    w->snaplen = NULL;
    w->packets = NULL;
    w->count = w->room = 0;
}

int writer_flush(struct savefile_writer *w)
{
    size_t done = 0;

    if (w->fd < 0)
        return 0;
    while (done < w->used) {
        ssize_t n = write(w->fd, w->buf + done, w->used - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            w->err = errno;
            /* What was written stays written: keep only the rest. */
            memmove(w->buf, w->buf + done, w->used - done);
            w->used -= done;
            w->written += done;
            return -1;
        }
        done += (size_t)n;
    }
    w->written += done;
    w->used = 0;
    return 0;
}

/* Room for len more bytes at the end of buf: writes out what it holds
 * first (fd), grows it when one block is larger than all of it. */
static unsigned char *room_for(struct savefile_writer *w, size_t len)
{
    if (w->size - w->used >= len)
        return w->buf + w->used;
    if (w->fd >= 0 && writer_flush(w) < 0)
        return NULL;
    if (w->size - w->used < len) {
        size_t size = w->used + len;
        unsigned char *grown = realloc(w->buf, size);
        if (grown == NULL) {
            w->err = ENOMEM;
            return NULL;
        }
        w->buf = grown;
        w->size = size;
    }
    return w->buf + w->used;
}

int writer_add_interface(struct savefile_writer *w, uint32_t snaplen)
{
    if (w->count == w->room) {
        uint32_t room = w->room ? 2 * w->room : 4;
        uint32_t *s = realloc(w->snaplen, room * sizeof *s);
        if (s == NULL)
            return -1;
        w->snaplen = s;
        uint64_t *p = realloc(w->packets, room * sizeof *p);
        if (p == NULL)
            return -1;
        w->packets = p;
        w->room = room;
    }
    w->snaplen[w->count] = snaplen;
    w->packets[w->count] = 0;
    return (int)w->count++;
}

int writer_raw(struct savefile_writer *w, const void *bytes, size_t len)
{
    unsigned char *out = room_for(w, len);
    if (out == NULL)
        return -1;
    memcpy(out, bytes, len);
    w->used += len;
    return 0;
}

static inline void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

int writer_block(struct savefile_writer *w, uint32_t type, const void *body, size_t len)
{
    uint32_t total;
    unsigned char *out;
    if (len > UINT32_MAX - 15) {
        w->err = EOVERFLOW;
        return -1;
    }
    total = (uint32_t)(len + 12);
    out = room_for(w, total);
    if (out == NULL)
        return -1;
    put32(out, type);
    put32(out + 4, total);
    memcpy(out + 8, body, len);
    put32(out + 8 + len, total);
    w->used += total;
    return 0;
}

/* The record or block of one packet; options and comment (a pcapng
 * comment and flags made here, from a batch) may be empty. */
static inline int put_packet(struct savefile_writer *w, uint32_t iface, int64_t sec, uint32_t nsec,
                             uint32_t caplen, uint32_t wirelen, const unsigned char *data,
                             const unsigned char *options, size_t options_len, const unsigned char *comment,
                             uint32_t comment_len, uint32_t flags)
{
    unsigned char *out;
    uint32_t frac = w->units == 1000000000u ? nsec : nsec / 1000u;

    if (caplen > w->snaplen[iface])
        caplen = w->snaplen[iface];
    if (!w->pcapng) {
        out = room_for(w, 16 + (size_t)caplen);
        if (out == NULL)
            return -1;
        put32(out, (uint32_t)sec);
        put32(out + 4, frac);
        put32(out + 8, caplen);
        put32(out + 12, wirelen);
        memcpy(out + 16, data, caplen);
        w->used += 16 + (size_t)caplen;
    } else {
        size_t padded = ((size_t)caplen + 3) & ~(size_t)3;
        size_t made = 0, total;
        uint64_t t = (uint64_t)sec * w->units + frac;
        if (comment_len)
            made += 4 + ((comment_len + 3) & ~3u);
        if (flags)
            made += 8;
        if (made) {
            made += 4;      /* opt_endofopt, after these: the options given lose theirs */
            if (options_len >= 4)
                options_len -= 4;
        }
        total = PCAPNG_EPB_MIN + padded + options_len + made;
        if (total > UINT32_MAX - 3) {   /* a block's length is 32 bits: no block holds this packet */
            w->err = EOVERFLOW;
            return -1;
        }
        out = room_for(w, total);
        if (out == NULL)
            return -1;
        put32(out, BT_EPB);
        put32(out + 4, (uint32_t)total);
        put32(out + 8, iface);
        put32(out + 12, (uint32_t)(t >> 32));
        put32(out + 16, (uint32_t)t);
        put32(out + 20, caplen);
        put32(out + 24, wirelen);
        if (padded)
            put32(out + 24 + padded, 0);        /* the padding: zeros, under the data's last bytes */
        memcpy(out + 28, data, caplen);
        out += 28 + padded;
        if (options_len) {
            memcpy(out, options, options_len);
            out += options_len;
        }
        if (made) {
            uint16_t head[2];
            if (comment_len) {
                head[0] = OPT_COMMENT;
                head[1] = (uint16_t)comment_len;
                memcpy(out, head, 4);
                memcpy(out + 4, comment, comment_len);
                memset(out + 4 + comment_len, 0, ((comment_len + 3) & ~3u) - comment_len);
                out += 4 + ((comment_len + 3) & ~3u);
            }
            if (flags) {
                head[0] = OPT_EPB_FLAGS;
                head[1] = 4;
                memcpy(out, head, 4);
                put32(out + 4, flags);
                out += 8;
            }
            put32(out, 0);
            out += 4;
        }
        put32(out, (uint32_t)total);
        w->used += total;
    }
    w->packets[iface]++;
    return 0;
}

int writer_packet(struct savefile_writer *w, uint32_t iface, int64_t sec, uint32_t nsec, uint32_t caplen,
                  uint32_t wirelen, const unsigned char *data, const unsigned char *options, size_t options_len,
                  uint32_t flags)
{
    if (iface >= w->count)
        return -2;
    return put_packet(w, iface, sec, nsec, caplen, wirelen, data, options, options_len, NULL, 0,
                      w->pcapng ? flags : 0);
}

/* Linux cooked captures say where a packet went (packet(7)'s sll_pkttype):
 * PACKET_OUTGOING, or one of the kinds of a packet received. */
#define SLL_OUTGOING 4

uint32_t direction_of(int dlt, const unsigned char *data, uint32_t caplen)
{
    unsigned int type;

    if (dlt == DLT_LINUX_SLL && caplen >= 2)
        type = (unsigned int)data[0] << 8 | data[1];
#ifdef DLT_LINUX_SLL2
    else if (dlt == DLT_LINUX_SLL2 && caplen >= 11)
        type = data[10];
#endif
    else
        return 0;
    if (type == SLL_OUTGOING)
        return PCAPNG_OUTBOUND;
    return type <= 3 ? PCAPNG_INBOUND : 0;
}

int writer_batch(struct savefile_writer *w, const unsigned char *records, size_t record_size, size_t n,
                 size_t *next, const unsigned char *data, size_t data_len, const unsigned char *comments,
                 size_t comments_len, size_t *comments_at)
{
    size_t k;
    int wide = record_size == sizeof(struct batch_record_ng);

    for (k = *next; k < n; k++) {
        const unsigned char *rec = records + k * record_size;
        int64_t stamp, sec;
        uint32_t caplen, wirelen, iface = 0, flags = 0, comment_len = 0;
        uint64_t offset;
        const unsigned char *comment = NULL;

        if (w->fd < 0 && w->used >= w->drain_at) {
            *next = k;
            return BATCH_DRAIN;
        }
        memcpy(&stamp, rec + offsetof(struct batch_record, timestamp_ns), 8);
        memcpy(&caplen, rec + offsetof(struct batch_record, caplen), 4);
        memcpy(&wirelen, rec + offsetof(struct batch_record, wirelen), 4);
        memcpy(&offset, rec + offsetof(struct batch_record, offset), 8);
        if (wide) {
            memcpy(&iface, rec + offsetof(struct batch_record_ng, interface_id), 4);
            memcpy(&flags, rec + offsetof(struct batch_record_ng, flags), 4);
            memcpy(&comment_len, rec + offsetof(struct batch_record_ng, comment_len), 4);
        }
        *next = k;
        if (offset > data_len || caplen > data_len - offset)
            return BATCH_BAD_OFFSET;
        if (iface >= w->count)
            return BATCH_BAD_INTERFACE;
        if (stamp < 0)
            return BATCH_BAD_TIME;
        sec = stamp / 1000000000;
        if (!w->pcapng && sec > 0xffffffffLL)
            return BATCH_BAD_TIME;
        if (comment_len) {
            if (comments == NULL || *comments_at > comments_len || comment_len > comments_len - *comments_at
                || comment_len > 0xffff)
                return BATCH_BAD_COMMENTS;
            comment = comments + *comments_at;
        }
        if (!w->pcapng) {
            flags = 0;
            comment_len = 0;
        }
        if (put_packet(w, iface, sec, (uint32_t)(stamp % 1000000000), caplen, wirelen, data + offset, NULL, 0,
                       comment, comment_len, flags) < 0) {
            return w->err == ENOMEM ? BATCH_NO_MEMORY : BATCH_WRITE_ERROR;
        }
        if (wide)
            *comments_at += comment_len;
    }
    *next = n;
    return BATCH_WRITTEN;
}

static inline int64_t column_offset(const void *offsets, int wide, size_t k)
{
    return wide ? ((const int64_t *)offsets)[k] : ((const int32_t *)offsets)[k];
}

int writer_columns(struct savefile_writer *w, const struct packet_columns *c, size_t *next)
{
    size_t k;

    for (k = *next; k < c->n; k++) {
        int64_t stamp = c->stamps[k], start = column_offset(c->offsets, c->wide_offsets, k);
        int64_t len = column_offset(c->offsets, c->wide_offsets, k + 1) - start;
        uint32_t iface = c->interface_ids ? c->interface_ids[k] : 0;
        uint32_t flags = c->flags ? c->flags[k] : 0;
        const unsigned char *comment = NULL;
        int64_t comment_len = 0;

        if (w->fd < 0 && w->used >= w->drain_at) {
            *next = k;
            return BATCH_DRAIN;
        }
        *next = k;
        if (start < 0 || len < 0 || len > 0xffffffffLL || (uint64_t)start + (uint64_t)len > c->data_len)
            return BATCH_BAD_OFFSET;
        if (iface >= w->count)
            return BATCH_BAD_INTERFACE;
        if (stamp < 0 || (!w->pcapng && stamp / 1000000000 > 0xffffffffLL))
            return BATCH_BAD_TIME;
        if (c->comment_offsets != NULL
            && (c->comment_valid == NULL || c->comment_valid[(c->comment_bit + k) >> 3] >> ((c->comment_bit + k) & 7) & 1)) {
            int64_t at = column_offset(c->comment_offsets, c->wide_comment_offsets, k);
            comment_len = column_offset(c->comment_offsets, c->wide_comment_offsets, k + 1) - at;
            if (at < 0 || comment_len < 0 || comment_len > 0xffff
                || (uint64_t)at + (uint64_t)comment_len > c->comments_len)
                return BATCH_BAD_COMMENTS;
            comment = c->comments + at;
        }
        if (!w->pcapng) {
            flags = 0;
            comment_len = 0;
        }
        if (put_packet(w, iface, stamp / 1000000000, (uint32_t)(stamp % 1000000000), (uint32_t)len,
                       c->wirelens ? c->wirelens[k] : (uint32_t)len, c->data + start, NULL, 0, comment,
                       (uint32_t)comment_len, flags) < 0)
            return w->err == ENOMEM ? BATCH_NO_MEMORY : BATCH_WRITE_ERROR;
    }
    *next = c->n;
    return BATCH_WRITTEN;
}

/* Link types in libpcap's ranges where the DLT_ and LINKTYPE_ values are
 * the same (pcap-common.c). */
#define LOW_MATCHING_MAX 10
#define HIGH_MATCHING_MIN 104
#ifdef DLT_HIGH_MATCHING_MAX
#define HIGH_MATCHING_MAX DLT_HIGH_MATCHING_MAX
#else
#define HIGH_MATCHING_MAX 303
#endif

int linktype_of_dlt(int dlt)
{
    if (dlt >= 0 && dlt <= LOW_MATCHING_MAX)
        return dlt;
#if defined(DLT_PFSYNC) && DLT_PFSYNC != 246
    if (dlt == DLT_PFSYNC)
        return 246;
#endif
#if defined(DLT_PKTAP) && DLT_PKTAP != 258
    if (dlt == DLT_PKTAP)
        return 258;
#endif
    if (dlt >= HIGH_MATCHING_MIN && dlt <= HIGH_MATCHING_MAX)
        return dlt;
    if (dlt == DLT_ATM_RFC1483)
        return 100;
    if (dlt == DLT_RAW)
        return 101;
    if (dlt == DLT_SLIP_BSDOS)
        return 102;
    if (dlt == DLT_PPP_BSDOS)
        return 103;
#ifdef DLT_FR
    if (dlt == DLT_FR)
        return 107;
#endif
#if defined(DLT_HDLC) && DLT_HDLC != 112
    if (dlt == DLT_HDLC)
        return 112;
#endif
#if defined(DLT_C_HDLC) && DLT_C_HDLC != 104
    if (dlt == DLT_C_HDLC)
        return 104;
#endif
#if defined(DLT_LOOP) && DLT_LOOP != 108
    if (dlt == DLT_LOOP)
        return 108;
#endif
#if defined(DLT_ENC) && DLT_ENC != 109
    if (dlt == DLT_ENC)
        return 109;
#endif
#ifdef DLT_ATM_CLIP
    if (dlt == DLT_ATM_CLIP)
        return 106;
#endif
#ifdef DLT_REDBACK_SMARTEDGE
    if (dlt == DLT_REDBACK_SMARTEDGE)
        return dlt;
#endif
#ifdef DLT_PPP_SERIAL
    if (dlt == DLT_PPP_SERIAL || dlt == DLT_PPP_ETHER)
        return dlt;
#endif
#ifdef DLT_SYMANTEC_FIREWALL
    if (dlt == DLT_SYMANTEC_FIREWALL)
        return dlt;
#endif
    return -1;
}
