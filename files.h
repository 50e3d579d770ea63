/* Files by path: opening a savefile for the opener in sources.pxi (the open
 * flags and the stat macros stay here, so that the Cython side names none),
 * and errno, which the dumper clears before libpcap opens a file, to tell
 * libpcap's own failures from the system's. */
#ifndef FILES_H
#define FILES_H

/* open(path, O_RDONLY | O_CLOEXEC): may wait (a FIFO waits for its writer);
 * -1 with errno set on failure. */
int open_readonly(const char *path);

/* Whether fd is a directory. */
int is_directory(int fd);

/* errno = value, for Cython. */
void errno_set(int value);

#endif
