/* pcapng packets read without libpcap where that is plain, exactly as
 * libpcap would read them.
 *
 * libpcap reads pcapng through stdio a block at a time, two fread()s a
 * packet; read from our buffer, the common Enhanced Packet Block (of an
 * interface whose time stamps are in microseconds or nanoseconds, from
 * offset 0, within the snapshot length, of a link type libpcap does not
 * rewrite) needs a few comparisons.  Every other block goes to libpcap,
 * which reads it from the stream's position (the FILE is unbuffered), with
 * the blocks up to the next packet: so every failure, and every packet of
 * another kind, is libpcap's own.  Before it does, the interfaces among
 * those blocks are noted here, so that their packets can be read here too.
 * A second section header ends reading here: libpcap reads the rest. */
#ifndef PCAPNG_RECORDS_H
#define PCAPNG_RECORDS_H

#include "packet_batch.h"
#include "pcap_stream.h"
#include "savefile_format.h"

/* Interfaces whose packets are read here; the packets of later ones go to libpcap. */
#define PCAPNG_INTERFACES 64

struct pcapng_interface {
    uint64_t units;         /* time stamp units a second: 1000000 or 1000000000; 0: libpcap reads its packets */
    uint32_t ns_per_unit;   /* 1000 or 1 */
};

struct pcapng_reader {
    struct savefile_stream *s;
    int swapped;
    uint32_t snapshot;      /* libpcap's snapshot length for the file */
    int linktype;           /* the LINKTYPE_ of the first interface: others go to libpcap */
    uint32_t interfaces;    /* interface description blocks seen in this section */
    int libpcap_only;       /* a second section: libpcap reads the rest */
    struct pcapng_interface iface[PCAPNG_INTERFACES];
    struct pcap_pkthdr hdr;
};

/* Before libpcap opens the file: note the interface among the blocks
 * stream_open_ready() made ready.  Returns whether the packets of the first
 * interface could be read here (if not, libpcap reads the whole file and
 * may as well read it through a buffer). */
int pcapng_reader_scan(struct pcapng_reader *r, struct savefile_stream *s);

/* Once libpcap has opened the file: whether its packets are read here. */
int pcapng_reader_init(struct pcapng_reader *r, pcap_t *p);

int pcapng_next_slow(struct pcapng_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data);

static inline uint32_t pcapng_get32(const struct pcapng_reader *r, const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return r->swapped ? swap32(v) : v;
}

#define PCAPNG_EPB_MIN 32u      /* block header, the five fields, the trailer */

/* The Enhanced Packet Block at p (avail bytes there) as libpcap reads it,
 * when it is plain: its total length, else 0. */
static inline uint32_t pcapng_plain_epb(struct pcapng_reader *r, const unsigned char *p, size_t avail,
                                        struct pcap_pkthdr *h)
{
    uint32_t total, id, caplen;
    uint64_t t;
    const struct pcapng_interface *ifc;

    if (avail < PCAPNG_EPB_MIN || pcapng_get32(r, p) != BT_EPB)
        return 0;
    total = pcapng_get32(r, p + 4);
    id = pcapng_get32(r, p + 8);
    caplen = pcapng_get32(r, p + 20);
    if (total < PCAPNG_EPB_MIN || total % 4 || total > avail || id >= r->interfaces || id >= PCAPNG_INTERFACES
        || caplen > r->snapshot || caplen > total - PCAPNG_EPB_MIN || pcapng_get32(r, p + total - 4) != total)
        return 0;
    ifc = &r->iface[id];
    if (ifc->units == 0)
        return 0;
    t = (uint64_t)pcapng_get32(r, p + 12) << 32 | pcapng_get32(r, p + 16);
    h->ts.tv_sec = (time_t)(t / ifc->units);
    h->ts.tv_usec = (suseconds_t)(int)(t % ifc->units * ifc->ns_per_unit);
    h->caplen = caplen;
    h->len = pcapng_get32(r, p + 24);
    return total;
}

/* The next packet: RECORD_PACKET, _WAIT, _END, or _LIBPCAP (libpcap reads
 * from the stream's position); the common case inline. */
static inline int pcapng_next(struct pcapng_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    uint32_t total = pcapng_plain_epb(r, s->buf + s->pos, s->end - s->pos, &r->hdr);

    if (total == 0)
        return pcapng_next_slow(r, hdr, data);
    *hdr = &r->hdr;
    *data = s->buf + s->pos + 28;
    s->pos += total;
    return RECORD_PACKET;
}

/* Fill f from the plain packets, keeping those that match prog (NULL: all),
 * until f is full or `limit` blocks were looked at, reading more of the file
 * as it goes; returns how many it looked at (0: the next one needs
 * pcapng_next()).  Nothing here needs the GIL. */
size_t pcapng_fill(struct pcapng_reader *r, struct batch_fill *f, const struct bpf_program *prog, size_t limit);

#endif
