#include "multi_wait.h"

#include <errno.h>

#if defined(__linux__)
#include <sys/epoll.h>

int ready_set_new(void)
{
    return epoll_create1(EPOLL_CLOEXEC);
}

int ready_set_add(int set, int fd)
{
    struct epoll_event ev;
    ev.events = EPOLLIN;    /* level-triggered: readable for as long as fd is */
    ev.data.fd = fd;
    return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev);
}

#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) \
    || defined(__DragonFly__)
/* macOS and the BSDs: a kqueue, which poll() sees as readable while any
 * event is pending (kqueue(2)); EVFILT_READ is level-triggered unless
 * EV_CLEAR is given.  (Written from the man pages: not run here.) */
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>

int ready_set_new(void)
{
    int kq = kqueue();
    if (kq >= 0)
        fcntl(kq, F_SETFD, FD_CLOEXEC);
    return kq;
}

int ready_set_add(int set, int fd)
{
    struct kevent ev;
    EV_SET(&ev, fd, EVFILT_READ, EV_ADD, 0, 0, NULL);
    return kevent(set, &ev, 1, NULL, 0, NULL) < 0 ? -1 : 0;
}

#else
/* Windows and the simulated build: live handles there have no descriptor,
 * and a capture over several waits in slices and reads each after every
 * one (multi_source.pxi); never called. */
int ready_set_new(void)
{
    errno = ENOSYS;
    return -1;
}

int ready_set_add(int set, int fd)
{
    (void)set;
    (void)fd;
    errno = ENOSYS;
    return -1;
}
#endif
