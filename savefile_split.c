#include "savefile_split.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "savefile_format.h"

/* Records are walked in pieces of this size, each read at a record start. */
#define WALK_CHUNK (1 << 20)

int savefile_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked)
{
    unsigned char head[PCAP_FILE_HEADER], *buf;
    uint64_t pos, size, base;
    size_t have = 0, at = 0, next = 0, hdrlen;
    uint32_t magic;
    struct classic_format format;
    struct classic_record rec;
    ssize_t got;
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -1;
    size = (uint64_t)st.st_size;
    if (pread(fd, head, PCAP_FILE_HEADER, 0) != PCAP_FILE_HEADER) {
        errno = EINVAL;
        return -2;
    }
    memcpy(&magic, head, 4);
    if (!classic_format_of(magic, &format)) {
        errno = EINVAL;
        return -2;
    }
    hdrlen = format.record_header;
    buf = malloc(WALK_CHUNK);
    if (buf == NULL)
        return -1;
    /* Walk the chain of records from the first: each record header's caplen
     * says where the next starts.  A range boundary is the first record start
     * at or after its target; a record whose header or body the file cuts
     * short ends the walk, and what is left belongs to the last range. */
    pos = PCAP_FILE_HEADER;
    base = PCAP_FILE_HEADER;
    while (next < n) {
        if (at + hdrlen > have) {
            /* refill from pos, keeping nothing: pos is a record start */
            base = pos;
            got = pread(fd, buf, WALK_CHUNK, (off_t)base);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                free(buf);
                return -1;
            }
            have = (size_t)got;
            at = 0;
            if (have < hdrlen)
                break;              /* the end, or a header cut short */
        }
        while (next < n && targets[next] <= pos)
            out[next++] = pos;
        if (next == n)
            break;
        classic_record_read(buf + at, format.swapped, &rec);
        if ((uint64_t)hdrlen + rec.caplen > size - pos)
            break;                  /* the body is cut short */
        pos += hdrlen + rec.caplen;
        if (pos - base <= have)
            at = (size_t)(pos - base);
        else
            have = 0, at = 0;       /* past the buffer: read from pos */
        if (have == 0 && pos >= size)
            break;
    }
    while (next < n)
        out[next++] = size;         /* nothing starts there: empty ranges at the end */
    *walked = pos;
    free(buf);
    return 0;
}
