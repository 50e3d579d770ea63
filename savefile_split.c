#include "savefile_split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _WIN32
#include <io.h>
#include <winsock2.h>     /* (before windows.h, as pcap.h wants it) */
#include <windows.h>
/* pread() as Windows says it: a read at an offset through an OVERLAPPED
 * (which, on a handle opened for synchronous I/O, also moves the file
 * pointer: every read here gives its own offset). */
static long long pread(int fd, void *buf, size_t n, long long offset)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED o;
    DWORD got = 0;
    memset(&o, 0, sizeof o);
    o.Offset = (DWORD)((unsigned long long)offset & 0xffffffffu);
    o.OffsetHigh = (DWORD)((unsigned long long)offset >> 32);
    if (h == INVALID_HANDLE_VALUE || n > 0x7fffffff) {
        errno = EINVAL;
        return -1;
    }
    if (!ReadFile(h, buf, (DWORD)n, &got, &o))
        return GetLastError() == ERROR_HANDLE_EOF ? 0 : (errno = EIO, -1);
    return (long long)got;
}
#else
#include <unistd.h>
#endif

#include "pcap_stream.h"
#include "pcapng_reader.h"
#include "savefile_format.h"

/* Records are walked in pieces of this size, each read at a record start. */
#define WALK_CHUNK (1 << 20)

/* ---- classic pcap: record headers -------------------------------------- */

static int classic_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked)
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

/* ---- pcapng: blocks, as the reader reads them ---------------------------- */

/* The reader stepping through a file from its start, one block at a time,
 * and (when keep) the blocks a range's reader needs before a range that
 * starts where the walk stands. */
struct pcapng_walk {
    struct savefile_stream s;
    struct pcapng_reader r;
    uint64_t size;              /* the file's */
    uint64_t pos;               /* where the next block starts */
    uint64_t previous;          /* where the block before it started */
    int ended;                  /* the reader stopped at pos: the end, or a block it refuses */
    int keep;
    struct prefix_block *kept;  /* every section header and interface description so far */
    size_t kept_count, kept_room;
    struct prefix_block *stats; /* by interface of the section in force: its last statistics block (length 0: none) */
    size_t stats_room;
};

/* Start a walk of fd from its start.  Returns 0; -2 (EINVAL) when the file
 * is not pcapng; -1 with errno set. */
static int walk_open(struct pcapng_walk *w, int fd, int keep)
{
    struct stat st;
    uint32_t type;

    memset(w, 0, sizeof *w);
    w->keep = keep;
    if (fstat(fd, &st) < 0)
        return -1;
    if (pread(fd, &type, 4, 0) != 4 || type != BT_SHB) {
        errno = EINVAL;
        return -2;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = ESPIPE;     /* the walk reads the file again for every range */
        return -1;
    }
    w->size = (uint64_t)st.st_size;
    if (lseek(fd, 0, SEEK_SET) < 0)
        return -1;
    if (stream_init(&w->s, fd) < 0) {
        errno = ENOMEM;
        return -1;
    }
    pcapng_reader_init(&w->r, &w->s, PCAP_TSTAMP_PRECISION_NANO);
    return 0;
}

static void walk_close(struct pcapng_walk *w)
{
    pcapng_reader_free(&w->r);
    stream_free(&w->s);
    free(w->kept);
    free(w->stats);
}

static int keep_block(struct pcapng_walk *w, uint32_t type, uint32_t total)
{
    if (w->kept_count == w->kept_room) {
        size_t room = w->kept_room ? w->kept_room * 2 : 16;
        struct prefix_block *more = realloc(w->kept, room * sizeof *more);
        if (more == NULL)
            return -1;
        w->kept = more;
        w->kept_room = room;
    }
    w->kept[w->kept_count].offset = w->pos;
    w->kept[w->kept_count].length = total;
    w->kept[w->kept_count].type = type;
    w->kept_count++;
    return 0;
}

/* What the block just read (type, total bytes, at pos) changes of what a
 * range's reader needs.  changes: r.changes before it was read.  Returns 0,
 * or -1 out of memory. */
static int note_block(struct pcapng_walk *w, uint32_t type, uint32_t total, uint32_t changes)
{
    uint32_t id;

    if (type == BT_SHB || type == BT_IDB) {
        if (keep_block(w, type, total) < 0)
            return -1;
        if (w->r.count > w->stats_room) {
            size_t room = w->stats_room ? w->stats_room * 2 : 8;
            struct prefix_block *more;
            while (room < w->r.count)
                room *= 2;
            more = realloc(w->stats, room * sizeof *more);
            if (more == NULL)
                return -1;
            w->stats = more;
            w->stats_room = room;
        }
        if (type == BT_IDB)
            w->stats[w->r.count - 1].length = 0;
    } else if (type == BT_ISB && w->r.changes != changes) {
        /* A statistics block the reader kept: of an interface it knows. */
        id = pcapng_get32(&w->r, w->s.buf + w->s.pos - total + 8);
        w->stats[id].offset = w->pos;
        w->stats[id].length = total;
        w->stats[id].type = type;
    }
    return 0;
}

/* Read the block at pos: 1 it was read, 0 the walk has ended there, -1 out
 * of memory. */
static int walk_step(struct pcapng_walk *w)
{
    uint32_t type = 0, total = 0, changes = w->r.changes;

    if (w->ended)
        return 0;
    if (pcapng_next_block(&w->r, &type, &total) != RECORD_BLOCK) {
        w->ended = 1;       /* the end, or damage: a read of the whole file ends here too */
        return 0;
    }
    if (w->keep && note_block(w, type, total, changes) < 0)
        return -1;
    w->previous = w->pos;
    w->pos += total;
    return 1;
}

static int pcapng_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked)
{
    struct pcapng_walk w;
    size_t next = 0;
    int rc = walk_open(&w, fd, 0);

    if (rc < 0) {
        if (rc == -1)
            walk_close(&w);
        return rc;
    }
    for (;;) {
        while (next < n && targets[next] <= w.pos)
            out[next++] = w.pos;
        if (next == n || walk_step(&w) == 0)
            break;
    }
    while (next < n)
        out[next++] = w.size;       /* no block starts there: empty ranges at the end */
    *walked = w.pos;
    rc = 0;
    if (w.s.err) {
        errno = w.s.err;
        rc = -1;
    }
    walk_close(&w);
    return rc;
}

int savefile_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked)
{
    uint32_t type;

    if (pread(fd, &type, 4, 0) == 4 && type == BT_SHB)
        return pcapng_boundaries(fd, targets, n, out, walked);
    return classic_boundaries(fd, targets, n, out, walked);
}

static int by_offset(const void *a, const void *b)
{
    const struct prefix_block *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Read the blocks of prefix into prefix->bytes.  Returns 0, or -1. */
static int read_prefix(int fd, struct range_prefix *prefix)
{
    size_t i, at = 0;
    ssize_t got;

    prefix->size = 0;
    for (i = 0; i < prefix->count; i++)
        prefix->size += prefix->blocks[i].length;
    prefix->bytes = malloc(prefix->size ? prefix->size : 1);
    if (prefix->bytes == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < prefix->count; i++) {
        uint64_t offset = prefix->blocks[i].offset;
        size_t left = prefix->blocks[i].length;
        while (left > 0) {
            got = pread(fd, prefix->bytes + at, left, (off_t)offset);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                if (got == 0)
                    errno = EIO;    /* the file was cut short since the walk */
                return -1;
            }
            at += (size_t)got;
            offset += (uint64_t)got;
            left -= (size_t)got;
        }
    }
    return 0;
}

int pcapng_range_prefix(int fd, uint64_t start, struct range_prefix *prefix)
{
    struct pcapng_walk w;
    size_t i, count;
    int rc;

    memset(prefix, 0, sizeof *prefix);
    rc = walk_open(&w, fd, 1);
    if (rc < 0) {
        if (rc == -1)
            walk_close(&w);
        return rc;
    }
    while (w.pos < start && (rc = walk_step(&w)) > 0)
        ;
    if (rc < 0) {
        errno = ENOMEM;
        goto done;
    }
    if (w.s.err) {
        errno = w.s.err;
        rc = -1;
        goto done;
    }
    /* The file's size is where the empty ranges after damage start. */
    if (w.pos != start && !(w.ended && w.pos < start && start == w.size)) {
        prefix->block_before = w.pos < start ? w.pos : w.previous;
        prefix->block_after = w.pos < start ? w.size : w.pos;
        rc = -3;
        goto done;
    }
    count = w.kept_count;
    for (i = 0; i < w.r.count; i++)
        count += w.stats[i].length > 0;
    prefix->blocks = malloc((count ? count : 1) * sizeof *prefix->blocks);
    if (prefix->blocks == NULL) {
        errno = ENOMEM;
        rc = -1;
        goto done;
    }
    if (w.kept_count > 0)      /* (kept is NULL before the first: memcpy must not see it) */
        memcpy(prefix->blocks, w.kept, w.kept_count * sizeof *w.kept);
    prefix->count = w.kept_count;
    for (i = 0; i < w.r.count; i++)
        if (w.stats[i].length > 0)
            prefix->blocks[prefix->count++] = w.stats[i];
    qsort(prefix->blocks, prefix->count, sizeof *prefix->blocks, by_offset);
    rc = read_prefix(fd, prefix);
done:
    walk_close(&w);
    return rc;
}

void range_prefix_free(struct range_prefix *prefix)
{
    free(prefix->blocks);
    free(prefix->bytes);
    prefix->blocks = NULL;
    prefix->bytes = NULL;
    prefix->count = prefix->size = 0;
}
