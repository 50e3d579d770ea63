/* Waiting for packets for a bounded time, and the clock that measures the
 * deadlines: the part of every wait that runs without the GIL.  The loop
 * around it (signals, breakloop, close) is in Cython (turn.pxi), the same
 * on every platform; what differs by platform is here and in wait.c, chosen
 * by platform.h. */
#ifndef WAIT_H
#define WAIT_H

#include <pcap.h>

#include "platform.h"

/* Longest single wait with the GIL released.  Between two waits the caller
 * takes the GIL back to run Python's signal handlers and to notice
 * breakloop() or close() from other threads, so this bounds how late those
 * are seen.  It is also below every packet buffer timeout the module gives
 * libpcap (BUFFER_TIMEOUT_MS, netdev.h), so that on BPF, where a wait may
 * not wake when that timeout expires (old macOS and BSDs), the read that
 * follows every slice still takes the packets in time. */
#define WAIT_SLICE_MS 50

/* How one live handle is waited on, found once when it is opened. */
struct live_wait {
    int fd;         /* pcap_get_selectable_fd(), or -1: none (Windows, some devices, the simulated build) */
    void *event;    /* Windows: pcap_getevent(), signalled when packets are there; else NULL */
    int slice_ms;   /* longest single wait: WAIT_SLICE_MS, or libpcap's required select timeout if shorter */
};

/* Fill w for the activated, nonblocking handle p. */
void live_wait_init(pcap_t *p, struct live_wait *w);

/* Wait until fd is readable (or, on Windows, event is signalled) or
 * timeout_ms has passed (0: only look).  With neither (fd -1, event NULL),
 * sleep timeout_ms: the caller reads after every wait anyway.  Returns 1
 * when readable, 0 on timeout or when a signal interrupted the wait, -1 on
 * any other error (errno set).  Safe to call without the GIL. */
int wait_ready(int fd, void *event, int timeout_ms);

/* wait_ready() on a descriptor alone. */
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
