/* The facts of the savefile formats, in one place: magic numbers, block
 * types, header sizes and libpcap's limits, with the one parser of a classic
 * file's magic and the one parser of a classic record header.  Every piece of
 * C that looks at savefile bytes takes its facts from here, so that a format
 * is described once (libpcap's own: sf-pcap.c, sf-pcapng.c, pcap-common.c). */
#ifndef SAVEFILE_FORMAT_H
#define SAVEFILE_FORMAT_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- classic pcap ------------------------------------------------------- */

/* The magic numbers as the writer's byte order stores them: read in ours,
 * a file from a machine of the other order shows them byte-swapped. */
#define PCAP_MAGIC_MICRO 0xa1b2c3d4u
#define PCAP_MAGIC_NANO 0xa1b23c4du
#define PCAP_MAGIC_MODIFIED 0xa1b2cd34u  /* Kuznetzov's patched tcpdump: longer record headers */

#define PCAP_FILE_HEADER 24         /* magic, version, thiszone, sigfigs, snaplen, linktype */
#define RECORD_HEADER 16            /* seconds, fraction, caplen, wire length */
#define MODIFIED_RECORD_HEADER 24   /* the same, then ifindex, protocol, pkt_type, pad */

/* libpcap's largest classic caplen for most link types (MAXIMUM_SNAPLEN in
 * pcap-int.h); max_caplen_for_dlt() has the exceptions. */
#define MAXIMUM_SNAPLEN 262144u

/* ---- pcapng ------------------------------------------------------------- */

#define BT_SHB 0x0A0D0D0Au          /* section header: the same in both byte orders */
#define BT_IDB 0x00000001u          /* interface description */
#define BT_PB 0x00000002u           /* packet (obsolete) */
#define BT_SPB 0x00000003u          /* simple packet */
#define BT_ISB 0x00000005u          /* interface statistics */
#define BT_EPB 0x00000006u          /* enhanced packet */
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du /* at offset 8 of a section header: its byte order */

#define PCAPNG_BLOCK_HEADER 8       /* type, total length */
#define PCAPNG_MIN_BLOCK 12         /* type, total length, total length again */
#define PCAPNG_MIN_SHB 28           /* and byte-order magic, version, section length */

/* libpcap's largest pcapng block before it has seen an unusual link type
 * (INITIAL_MAX_BLOCKSIZE in sf-pcapng.c). */
#define PCAPNG_MAX_BLOCK (16u * 1024 * 1024)

/* ---- parsers ------------------------------------------------------------ */

static inline uint32_t swap32(uint32_t v)
{
    return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >> 8) & 0xff00) | (v >> 24);
}

/* What the magic number of a classic file says. */
struct classic_format {
    int swapped;            /* the file's byte order is not ours */
    size_t record_header;   /* RECORD_HEADER, or MODIFIED_RECORD_HEADER */
};

static inline int is_classic_magic(uint32_t magic)
{
    return magic == PCAP_MAGIC_MICRO || magic == PCAP_MAGIC_NANO || magic == PCAP_MAGIC_MODIFIED;
}

/* Whether magic (the file's first four bytes, read in our byte order) is
 * that of a classic file libpcap reads, in either byte order; if so, fill
 * *fmt. */
static inline int classic_format_of(uint32_t magic, struct classic_format *fmt)
{
    int swapped = !is_classic_magic(magic);
    if (swapped)
        magic = swap32(magic);
    if (!is_classic_magic(magic))
        return 0;
    fmt->swapped = swapped;
    fmt->record_header = magic == PCAP_MAGIC_MODIFIED ? MODIFIED_RECORD_HEADER : RECORD_HEADER;
    return 1;
}

/* A classic record header, in our byte order.  (The modified format's
 * longer header starts with the same four fields.) */
struct classic_record {
    uint32_t sec;
    uint32_t frac;          /* microseconds, or nanoseconds */
    uint32_t caplen;        /* bytes of the packet that follow the header */
    uint32_t len;           /* its length on the wire */
};
typedef char classic_record_is_16_bytes[sizeof(struct classic_record) == RECORD_HEADER ? 1 : -1];

/* The one reader of a classic record header at p: every path that walks
 * records calls it.  Inline, so that a loop that wants only caplen pays for
 * nothing else. */
static inline void classic_record_read(const unsigned char *p, int swapped, struct classic_record *rec)
{
    memcpy(rec, p, RECORD_HEADER);
    if (swapped) {
        rec->sec = swap32(rec->sec);
        rec->frac = swap32(rec->frac);
        rec->caplen = swap32(rec->caplen);
        rec->len = swap32(rec->len);
    }
}

/* libpcap's largest classic caplen for the link type (max_snaplen_for_dlt
 * in pcap-common.c); the link types missing from an older pcap.h are left
 * out with it. */
static inline uint32_t max_caplen_for_dlt(int dlt)
{
    switch (dlt) {
#ifdef DLT_DBUS
    case DLT_DBUS: return 128u * 1024 * 1024;
#endif
#ifdef DLT_EBHSCR
    case DLT_EBHSCR: return 8u * 1024 * 1024;
#endif
#ifdef DLT_USBPCAP
    case DLT_USBPCAP: return 1024u * 1024;
#endif
    default: return MAXIMUM_SNAPLEN;
    }
}

#endif
