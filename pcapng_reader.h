/* pcapng, read here from our own buffer: every section, every interface,
 * and what the file says about each packet.
 *
 * Where libpcap reads a file, the packets are libpcap's (sf-pcapng.c of
 * 1.10: the same time stamp arithmetic, lengths and failures, in its
 * words).  Where libpcap refuses a file that is not damaged, the packets
 * are Wireshark's: interfaces of several link types and snapshot lengths,
 * sections of either byte order, packets longer than their interface's
 * snapshot length, interface options libpcap finds odd (the first valid
 * if_tsresol and if_tsoffset count, as in Wireshark).  Damage (a block
 * length that does not add up, a block cut short, a packet of an interface
 * not described) ends the file with an error after the packets before it.
 *
 * libpcap opens the file (so that a file it refuses at once is refused in
 * its words) and gives the pcap_t that compiles filters; it never reads a
 * packet.  Nothing here needs the GIL or calls Python. */
#ifndef PCAPNG_READER_H
#define PCAPNG_READER_H

#include "packet_batch.h"
#include "pcap_stream.h"
#include "savefile_format.h"

/* One interface of the current section. */
struct pcapng_interface {
    int linktype;               /* LINKTYPE_ as the file says */
    int dlt;                    /* the DLT_ of this platform for it */
    uint32_t snaplen;           /* as the file says */
    uint32_t max_caplen;        /* the longest packet libpcap accepts for its link type */
    uint64_t tsresol;           /* time stamp units a second */
    int64_t tsoffset;           /* seconds added to every time stamp */
    int scale;                  /* how a fraction becomes the reader's (SCALE_*) */
    uint64_t factor;
    unsigned char *idb;         /* a copy of its description block, in the section's byte order */
    uint32_t idb_len;
    unsigned char *isb;         /* its last statistics block, or NULL */
    uint32_t isb_len;
    const struct bpf_program *prog;  /* the filter for its link type, when filtering */
};

enum { SCALE_NONE, SCALE_UP_DEC, SCALE_DOWN_DEC, SCALE_BIN };

struct pcapng_reader {
    struct savefile_stream *s;
    int swapped;                /* the current section's byte order is not ours */
    uint64_t units;             /* the reader's time stamp units a second: 10^6 or 10^9 */
    uint32_t section;           /* section headers read */
    uint32_t count;             /* interfaces of the current section */
    uint32_t ready;             /* those whose packets the inline path reads: all, or when
                                   filtering those with a program (unfiltered) */
    uint32_t room;
    struct pcapng_interface *iface;
    uint32_t changes;           /* counts changes to sections and interfaces (Python's view follows) */
    int filtering;              /* packets pass their interface's prog (those below unfiltered have one) */
    uint32_t unfiltered;        /* interfaces from here on need a prog (filtering) */
    uint32_t max_block;
    /* The packet last handed out (or looked at by pcapng_fill): its block
     * stays where it is until a read moves the buffer's bytes or a new
     * section begins, which forget it (packet_type 0), so that Python may
     * read its options after reads that found no packet. */
    struct pcap_pkthdr hdr;
    uint32_t packet_iface;
    uint32_t packet_type;       /* BT_EPB, BT_SPB, BT_PB; 0 before the first */
    uint32_t packet_section;    /* the value of section when it was read */
    const unsigned char *packet_block;
    uint32_t packet_len;
    uint32_t packet_options;    /* where its options start in the block (packet_len - 4: none) */
    char err[PCAP_ERRBUF_SIZE];
};

/* The reader over s, from the start of the file, in time stamps of
 * `precision` (PCAP_TSTAMP_PRECISION_*).  Returns 0, or -1 out of memory. */
int pcapng_reader_init(struct pcapng_reader *r, struct savefile_stream *s, int precision);
void pcapng_reader_free(struct pcapng_reader *r);

/* The DLT_ of this platform for a LINKTYPE_ of a file (libpcap's mapping). */
int dlt_of_linktype(int linktype);

/* Whether the first blocks, up to the first interface description, are
 * sound as Wireshark reads them (for a file libpcap refused at once): if
 * so, *linktype, *snaplen and *tsresol are the first interface's (-1, 0
 * and microseconds when the file has none); if not, r->err says why.
 * Consumes nothing. */
int pcapng_first_interface(struct pcapng_reader *r, int *linktype, uint32_t *snaplen, uint64_t *tsresol);

enum {
    RECORD_ERROR = -2,          /* the file is damaged here: r->err says how */
    RECORD_INTERFACE = 3,       /* a new interface needs a filter: r->unfiltered is its index */
    RECORD_BLOCK = 4            /* pcapng_next_block() read a block */
};

/* Read the blocks at pos up to the next packet block, as far as they have
 * come (never waiting), so that the interfaces they describe are known
 * before their packets are read. */
void pcapng_read_ahead(struct pcapng_reader *r);

/* Any block at pos, read out of line: RECORD_PACKET (r->hdr and the
 * packet_* fields set), RECORD_WAIT, RECORD_END, RECORD_ERROR,
 * RECORD_INTERFACE; other blocks are read on the way. */
int pcapng_next_slow(struct pcapng_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data);

static inline uint32_t pcapng_get32(const struct pcapng_reader *r, const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return r->swapped ? swap32(v) : v;
}

#define PCAPNG_EPB_MIN 32u      /* block header, the five fields, the trailer */
#define PCAPNG_EPB_DATA 28u     /* where an Enhanced Packet Block's packet starts */

/* The time stamp of t units of interface i, as libpcap makes it. */
static inline void pcapng_stamp(const struct pcapng_reader *r, const struct pcapng_interface *i, uint64_t t,
                                struct pcap_pkthdr *h)
{
    uint64_t sec, frac;

    /* (Divisions by a constant for the common units: no division instruction.) */
    if (i->tsresol == 1000000) {
        sec = t / 1000000;
        frac = t % 1000000;
    } else if (i->tsresol == 1000000000) {
        sec = t / 1000000000;
        frac = t % 1000000000;
    } else {
        sec = t / i->tsresol;
        frac = t % i->tsresol;
    }
    sec += (uint64_t)i->tsoffset;
    switch (i->scale) {
    case SCALE_UP_DEC: frac *= i->factor; break;
    case SCALE_DOWN_DEC: frac /= i->factor; break;
    case SCALE_BIN: frac = frac * r->units / i->tsresol; break;
    default: break;
    }
    h->ts.tv_sec = (time_t)sec;
    h->ts.tv_usec = (suseconds_t)(int)frac;
}

/* A 32-bit field at p, of a section whose byte order is (swapped) not ours. */
static inline __attribute__((always_inline)) uint32_t pcapng_field32(const unsigned char *p, int swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swapped ? swap32(v) : v;
}

/* pcapng_epb() for one byte order, a constant: its tests of the byte order
 * go, and with them the branches between the loads of the fields. */
static inline __attribute__((always_inline)) uint32_t pcapng_epb_in(struct pcapng_reader *r, const unsigned char *p,
                                                                     size_t avail, struct pcap_pkthdr *h, int swapped)
{
    uint32_t total, id, caplen;
    const struct pcapng_interface *i;

    if (avail < PCAPNG_EPB_MIN || pcapng_field32(p, swapped) != BT_EPB)
        return 0;
    total = pcapng_field32(p + 4, swapped);
    id = pcapng_field32(p + 8, swapped);
    caplen = pcapng_field32(p + 20, swapped);
    if (total < PCAPNG_EPB_MIN || total % 4 || total > avail || total > r->max_block || id >= r->ready
        || caplen > total - PCAPNG_EPB_MIN || pcapng_field32(p + total - 4, swapped) != total)
        return 0;
    i = &r->iface[id];
    if (caplen > i->max_caplen)
        return 0;
    pcapng_stamp(r, i, (uint64_t)pcapng_field32(p + 12, swapped) << 32 | pcapng_field32(p + 16, swapped), h);
    h->caplen = caplen;
    h->len = pcapng_field32(p + 24, swapped);
    r->packet_iface = id;
    r->packet_type = BT_EPB;
    r->packet_section = r->section;
    r->packet_block = p;
    r->packet_len = total;
    r->packet_options = PCAPNG_EPB_DATA + ((caplen + 3) & ~3u);
    return total;
}

/* The Enhanced Packet Block at p (avail bytes there), when it is whole and
 * sound: its total length, with *h and the packet_* fields set; else 0
 * (pcapng_next_slow() reads it, or says what is wrong). */
static inline uint32_t pcapng_epb(struct pcapng_reader *r, const unsigned char *p, size_t avail,
                                  struct pcap_pkthdr *h)
{
    return r->swapped ? pcapng_epb_in(r, p, avail, h, 1) : pcapng_epb_in(r, p, avail, h, 0);
}

/* The next packet: the common case inline. */
static inline int pcapng_next(struct pcapng_reader *r, struct pcap_pkthdr **hdr, const unsigned char **data)
{
    struct savefile_stream *s = r->s;
    uint32_t total = pcapng_epb(r, s->buf + s->pos, s->end - s->pos, &r->hdr);

    if (total == 0)
        return pcapng_next_slow(r, hdr, data);
    *hdr = &r->hdr;
    *data = s->buf + s->pos + PCAPNG_EPB_DATA;
    s->pos += total;
    return RECORD_PACKET;
}

/* Whether the packet of interface i passes its filter (when filtering). */
static inline int pcapng_passes(const struct pcapng_reader *r, uint32_t i, const struct pcap_pkthdr *h,
                                const unsigned char *data)
{
    return !r->filtering || pcap_offline_filter(r->iface[i].prog, h, data);
}

/* Add the packet last read (h, bytes) to f, with its interface, flags and
 * comments where f has wide records: 1, or 0 when it does not fit the room
 * left (a packet longer than the first interface's snapshot length, long
 * comments), for the next batch to take.  What does not fit an empty batch
 * is added as too_large, for the caller to raise. */
int pcapng_put(struct pcapng_reader *r, struct batch_fill *f, const struct pcap_pkthdr *h,
               const unsigned char *bytes);

/* Read the one block at pos, whatever its type, as pcapng_next() reads it
 * (a packet block's header is checked and its r->hdr made, but no filter
 * runs): RECORD_BLOCK with its *type and *total length, or RECORD_END,
 * RECORD_ERROR (r->err says why; the block stays at pos), RECORD_WAIT.
 * Every block pcapng_next() takes, this takes, and it fails where
 * pcapng_next() fails, in the same words: walks that must agree with the
 * reader (savefile_split.c) step through a file with it. */
int pcapng_next_block(struct pcapng_reader *r, uint32_t *type, uint32_t *total);

/* The epb_flags of the packet last read (0: none). */
uint32_t pcapng_packet_flags(const struct pcapng_reader *r);

/* The options of the packet last read, in our byte order, as a writer
 * puts them in an Enhanced Packet Block (an obsolete Packet Block's drop
 * count as epb_dropcount), ending in opt_endofopt: copied to out when
 * they fit room; their length (0: none). */
size_t pcapng_packet_options_native(const struct pcapng_reader *r, unsigned char *out, size_t room);

/* Fill f from the Enhanced Packet Blocks that pcapng_epb() takes, keeping
 * those that pass their interface's filter, until f is full or `limit`
 * blocks were looked at, reading more of the file as it goes; returns how
 * many it looked at (0: the next block needs pcapng_next()). */
size_t pcapng_fill(struct pcapng_reader *r, struct batch_fill *f, size_t limit);

#endif
