/* One descriptor that is readable when any of several is: what a capture
 * over several interfaces (multi_source.pxi) gives the read loop to wait
 * on, so that the loop keeps its one wait on one descriptor.
 *
 * On Linux an epoll instance, which is itself pollable: poll() on it says
 * readable while any descriptor it holds is (level-triggered).  On macOS
 * and the BSDs a kqueue, pollable too.  Elsewhere (Windows) live handles
 * have no descriptor and nothing calls these; they fail with ENOSYS. */
#ifndef MULTI_WAIT_H
#define MULTI_WAIT_H

/* A new, empty set: its descriptor, or -1 (errno set). */
int ready_set_new(void);

/* Add fd to the set: 0, or -1 (errno set). */
int ready_set_add(int set, int fd);

#endif
