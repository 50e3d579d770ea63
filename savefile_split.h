/* Byte ranges of a savefile, for readers that share one file out
 * (savefile_ranges() and open_range(), Dask): where each range's first
 * record or block starts, found by walking the file from its start, and,
 * for pcapng, the blocks a reader of a range must read first to stand where
 * a reader of the whole file stands at the range's start. */
#ifndef SAVEFILE_SPLIT_H
#define SAVEFILE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* For each of the n ascending byte offsets in targets, the offset of the
 * first record (classic pcap) or block (pcapng) that starts at or after it
 * (the file's size when none does), walking from the file's start: exact,
 * whatever the packets hold.  Classic records are walked by their headers'
 * lengths; pcapng blocks by pcapng_next_block(), the reader's own, so that
 * the walk ends at the first block the reader refuses, exactly where a
 * read of the whole file fails.  *walked is where the walk ended (the end
 * of the last record or block it took).  Returns 0; -2 with errno EINVAL
 * when fd is neither format; -1 with errno set on a read error, out of
 * memory, or a descriptor that is not a regular file (pcapng: ESPIPE). */
int savefile_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked);

/* A block of the file that a range's reader reads before the range. */
struct prefix_block {
    uint64_t offset;
    uint32_t length;
    uint32_t type;
};

/* What a reader of a pcapng range needs before the range's own bytes. */
struct range_prefix {
    struct prefix_block *blocks;    /* in the file's order */
    size_t count;
    unsigned char *bytes;           /* those blocks, one after the other */
    size_t size;
    uint64_t block_before;          /* start not on a block: the block starts around it */
    uint64_t block_after;
};

/* Whether `start` is where a block of the pcapng file fd starts, as
 * savefile_boundaries() walks it (or is the file's size), and if so the
 * blocks that put a reader of the file from `start` where a reader of the
 * whole file is there: every section header and interface description
 * before start (the section count, the byte order, the interfaces and the
 * largest block the reader accepts all follow from those), and the last
 * statistics block the reader kept of each interface of the section in
 * force.  Walks the file from its start up to `start`.  Returns 0; -3 when
 * start is not a block boundary (block_before and block_after say where
 * the walk found blocks around it; block_after is the file's size past
 * the walk's end); -2 with errno EINVAL when fd is not pcapng; -1 with
 * errno set on a read error or out of memory.  Free with
 * range_prefix_free(), whatever it returned. */
int pcapng_range_prefix(int fd, uint64_t start, struct range_prefix *prefix);
void range_prefix_free(struct range_prefix *prefix);

#endif
