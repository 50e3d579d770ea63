#include "pcap_ex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __GLIBC__
#include <stdio_ext.h>
#endif
#ifdef __linux__
#include <linux/if_packet.h>
#endif

int wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd;
    int rc;

    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    /* POLLERR/POLLHUP also count as readable: the next read reports them. */
    return rc > 0 ? 1 : 0;
}

int is_stream(FILE *fp)
{
    struct stat st;
    return fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode);
}

FILE *open_savefile_stream(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
#ifdef __GLIBC__
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
#endif
    return fp;
}


double monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int is_interface_name(const char *name)
{
    return if_nametoindex(name) != 0;
}

int sockaddr_to_text(const struct sockaddr *sa, char *buf, size_t buflen)
{
    buf[0] = '\0';
    if (sa == NULL)
        return -1;
    switch (sa->sa_family) {
    case AF_INET:
        if (inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, buflen) == NULL)
            return -1;
        return AF_INET;
    case AF_INET6:
        if (inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, buflen) == NULL)
            return -1;
        return AF_INET6;
#ifdef __linux__
    case AF_PACKET: {
        const struct sockaddr_ll *ll = (const struct sockaddr_ll *)sa;
        size_t used = 0;
        int i;
        for (i = 0; i < ll->sll_halen && used + 4 <= buflen; i++)
            used += snprintf(buf + used, buflen - used, i ? ":%02x" : "%02x", ll->sll_addr[i]);
        return AF_PACKET;
    }
#endif
    default:
        return -1;
    }
}


/* ---- classic savefile records ---------------------------------------- */

#define READER_BUFFER (64 * 1024)

/* Link types whose records libpcap hands over unchanged (it rewrites the
 * pseudo-headers of USB, NFLOG and Linux cooked captures, for instance). */
static int plain_link_type(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB: case DLT_RAW: case DLT_IPV4: case DLT_IPV6:
    case DLT_NULL: case DLT_LOOP: case DLT_PPP: case DLT_PPP_SERIAL:
    case DLT_IEEE802: case DLT_IEEE802_11: case DLT_IEEE802_11_RADIO:
    case DLT_FDDI: case DLT_SLIP: case DLT_PFLOG:
        return 1;
    default:
        return 0;
    }
}

int savefile_reader_init(struct savefile_reader *r, pcap_t *p, FILE *fp)
{
    unsigned char head[24];
    uint32_t magic;
    long start;
    int fd = fileno(fp);

    memset(r, 0, sizeof(*r));
    r->fd = -1;
    if (!plain_link_type(pcap_datalink(p)) || pcap_major_version(p) != 2 || pcap_minor_version(p) != 4)
        return 0;
    if (is_stream(fp))
        return 0;   /* a pipe: records come through libpcap and stdio */
    start = ftell(fp);
    if (start < 0 || pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head))
        return 0;   /* a pipe, or something else that is not a plain file */
    memcpy(&magic, head, 4);
    switch (magic) {
    case 0xa1b2c3d4: r->swapped = 0; r->nano = 0; break;
    case 0xa1b23c4d: r->swapped = 0; r->nano = 1; break;
    case 0xd4c3b2a1: r->swapped = 1; r->nano = 0; break;
    case 0x4d3cb2a1: r->swapped = 1; r->nano = 1; break;
    default: return 0;   /* pcapng, or one of the modified pcap formats */
    }
    r->buf = malloc(READER_BUFFER);
    if (r->buf == NULL)
        return -1;
    r->size = READER_BUFFER;
    r->fd = fd;
    r->offset = start;
    r->snapshot = (unsigned int)pcap_snapshot(p);
    return 1;
}

/* Make at least `want` bytes from r->pos available; returns how many are. */
static size_t fill(struct savefile_reader *r, size_t want, char *errbuf, int *failed)
{
    ssize_t got;

    if (r->end - r->pos >= want)
        return r->end - r->pos;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->pos = 0;
    }
    if (want > r->size) {
        /* A record larger than the buffer: grow it (at most MAX_CAPLEN + 16). */
        unsigned char *bigger = realloc(r->buf, want);
        if (bigger == NULL) {
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory for a %zu-byte record", want);
            *failed = 1;
            return r->end - r->pos;
        }
        r->buf = bigger;
        r->size = want;
    }
    while (r->end < want) {
        got = pread(r->fd, r->buf + r->end, r->size - r->end, r->offset);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "error reading dump file: %s", strerror(errno));
            *failed = 1;
            break;
        }
        if (got == 0)
            break;
        r->end += (size_t)got;
        r->offset += got;
    }
    return r->end - r->pos;
}

static int fail(struct savefile_reader *r)
{
    r->broken = 1;
    return -1;
}

int savefile_reader_next_slow(struct savefile_reader *r, struct pcap_pkthdr **hdr,
                              const unsigned char **data, char *errbuf)
{
    uint32_t f[4];
    size_t avail, need;
    int failed = 0;

    if (r->broken)
        return 0;   /* after a damaged record, the file has ended (as with libpcap) */
    avail = r->end - r->pos;
    if (avail < RECORD_HEADER)
        avail = fill(r, RECORD_HEADER, errbuf, &failed);
    if (failed)
        return fail(r);
    if (avail == 0)
        return 0;
    if (avail < RECORD_HEADER) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE,
                 "truncated dump file: a record header needs %d bytes, only %zu are left",
                 RECORD_HEADER, avail);
        return fail(r);
    }
    memcpy(f, r->buf + r->pos, RECORD_HEADER);
    if (r->swapped) {
        f[0] = swap32(f[0]); f[1] = swap32(f[1]);
        f[2] = swap32(f[2]); f[3] = swap32(f[3]);
    }
    if (f[2] > MAX_CAPLEN) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE,
                 "invalid packet capture length %u, bigger than maximum of %u", f[2], MAX_CAPLEN);
        return fail(r);
    }
    need = RECORD_HEADER + (size_t)f[2];
    if (avail < need)
        avail = fill(r, need, errbuf, &failed);
    if (failed)
        return fail(r);
    if (avail < need) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE,
                 "truncated dump file: a record needs %u captured bytes, only %zu are left",
                 f[2], avail - RECORD_HEADER);
        return fail(r);
    }
    r->hdr.ts.tv_sec = (time_t)f[0];
    r->hdr.ts.tv_usec = (suseconds_t)f[1];
    /* As libpcap does: a record longer than the snapshot length is cut to it. */
    r->hdr.caplen = f[2] > r->snapshot ? r->snapshot : f[2];
    r->hdr.len = f[3];
    *hdr = &r->hdr;
    *data = r->buf + r->pos + RECORD_HEADER;
    r->pos += need;
    return 1;
}

void savefile_reader_free(struct savefile_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->fd = -1;
}
