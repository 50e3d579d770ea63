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

#else
/* BSD, macOS: kqueue() and EVFILT_READ, to come (issue 23). */
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
