#include "wait.h"

#include <errno.h>

#if defined(WAIT_BY_EVENT)
#include <windows.h>
#include <io.h>
#else
#include <poll.h>
#include <time.h>
#endif

/* ---- a live handle ------------------------------------------------------ */

#if defined(WAIT_BY_EVENT)

void live_wait_init(pcap_t *p, struct live_wait *w)
{
    /* Npcap signals the handle's event when the driver has data for a read
     * (pcap-npf.c, pcap_getevent_npf; the driver's "min to copy"). */
    w->fd = -1;
    w->event = (void *)pcap_getevent(p);
    w->slice_ms = WAIT_SLICE_MS;
}

#else

void live_wait_init(pcap_t *p, struct live_wait *w)
{
    w->event = NULL;
    w->slice_ms = WAIT_SLICE_MS;
#if defined(PCAP_SIMULATE_PORTABLE)
    /* As a device without a selectable descriptor: bounded sleeps, a read
     * after each (the man page of pcap_get_selectable_fd). */
    w->fd = -1;
#else
    w->fd = pcap_get_selectable_fd(p);
#endif
#if defined(PCAP_IF_WIRELESS)
    /* libpcap 1.9+ (which added PCAP_IF_WIRELESS to the same header): a
     * descriptor, or its absence, may need a bounded wait (DAG, DPDK): never
     * longer than this, and a read after it whatever poll() said.  Asked
     * once: Linux sets one only while an interface is down, which the
     * slice bounds already.  (1.8 has no such call: the slice is the bound.) */
    {
        const struct timeval *most = pcap_get_required_select_timeout(p);
        if (most != NULL) {
            long ms = (long)most->tv_sec * 1000 + (long)(most->tv_usec / 1000);
            if (ms < 1)
                ms = 1;
            if (ms < w->slice_ms)
                w->slice_ms = (int)ms;
        }
    }
#endif
}

#endif

/* ---- one wait ----------------------------------------------------------- */

#if defined(WAIT_BY_EVENT)

/* A C runtime descriptor on Windows (a file object's pipe, a savefile):
 * a pipe is ready when it holds bytes or has ended; anything else is. */
static int fd_ready(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    DWORD avail = 0;

    if (h == INVALID_HANDLE_VALUE)
        return 1;   /* the read says what is wrong */
    if (GetFileType(h) != FILE_TYPE_PIPE)
        return 1;
    if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
        return 1;   /* broken: the read sees the end */
    return avail > 0;
}

int wait_ready(int fd, void *event, int timeout_ms)
{
    DWORD rc;

    if (event != NULL) {
        rc = WaitForSingleObject((HANDLE)event, timeout_ms > 0 ? (DWORD)timeout_ms : 0);
        if (rc == WAIT_OBJECT_0)
            return 1;
        if (rc == WAIT_TIMEOUT)
            return 0;
        errno = EIO;
        return -1;
    }
    if (fd >= 0) {
        /* Pipes cannot be waited on with an event: look every millisecond. */
        double until = monotonic_ms() + timeout_ms;
        for (;;) {
            if (fd_ready(fd))
                return 1;
            if (monotonic_ms() >= until)
                return 0;
            Sleep(1);
        }
    }
    if (timeout_ms > 0)
        Sleep((DWORD)timeout_ms);
    return 0;
}

double monotonic_ms(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;

    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart * 1e3 / (double)frequency.QuadPart;
}

#else

int wait_ready(int fd, void *event, int timeout_ms)
{
    struct pollfd pfd;
    int rc;

    (void)event;
    /* (poll() ignores a negative fd: with none it sleeps timeout_ms.) */
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    /* POLLERR/POLLHUP also count as readable: the next read reports them. */
    return rc > 0 ? 1 : 0;
}

double monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#endif

int wait_readable(int fd, int timeout_ms)
{
    return wait_ready(fd, NULL, timeout_ms);
}
