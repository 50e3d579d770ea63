/* Byte ranges of a classic savefile, for readers that share one file out
 * (savefile_ranges() and open_range(), Dask): where each range's first
 * record starts, found by walking the records' headers. */
#ifndef SAVEFILE_SPLIT_H
#define SAVEFILE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* For each of the n ascending byte offsets in targets, the offset of the
 * first record that starts at or after it (the file's size when none does),
 * walking the records' headers from the first: exact, whatever the packets
 * hold.  *walked is where the walk ended (the end of the last whole record).
 * Returns 0; -2 with errno EINVAL when fd is not a classic pcap file; -1
 * with errno set on a read error or out of memory. */
int savefile_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked);

#endif
