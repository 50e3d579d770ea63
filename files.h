/* Opening a savefile's path, and errno, for Cython: open() with O_CLOEXEC,
 * fstat() and the errno lvalue are not all in Cython's own declarations. */
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
