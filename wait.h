/* Waiting on a descriptor for a bounded time, and the clock that measures
 * the deadlines: the part of every wait that runs without the GIL.  The
 * loop around it (signals, breakloop, close) is in Cython. */
#ifndef WAIT_H
#define WAIT_H

/* Longest single wait with the GIL released.  Between two waits the caller
 * takes the GIL back to run Python's signal handlers and to notice
 * breakloop() or close() from other threads, so this bounds how late those
 * are seen. */
#define WAIT_SLICE_MS 50

/* Wait until fd is readable or timeout_ms has passed (0: only look).
 * Returns 1 when readable, 0 on timeout or when a signal interrupted the
 * wait, -1 on any other error (errno set).  Safe to call without the GIL. */
int wait_readable(int fd, int timeout_ms);

/* Milliseconds on the monotonic clock. */
double monotonic_ms(void);

/* The calling thread, as the address of a variable of its own: what the
 * read turn notes, to tell a read from inside a read of the same thread
 * from another thread's (one instruction, where asking Python is a call). */
#if defined(_MSC_VER)
#define THREAD_LOCAL __declspec(thread)
#else
#define THREAD_LOCAL _Thread_local
#endif
static inline const void *current_thread(void)
{
    static THREAD_LOCAL char marker;
    return &marker;
}

#endif
