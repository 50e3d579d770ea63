#include "pcap_ex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#ifdef __linux__
#include <linux/if_packet.h>
#endif

int wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd;
    int rc;

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

int is_interface_name(const char *name)
{
    return if_nametoindex(name) != 0;
}

int open_readonly(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC);
}

int is_directory(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

void errno_set(int value)
{
    errno = value;
}

int join_fanout(int fd, unsigned int group, unsigned int mode_and_flags)
{
#if defined(__linux__) && defined(PACKET_FANOUT)
    int arg = (int)((group & 0xffff) | (mode_and_flags << 16));
    return setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg));
#else
    (void)fd; (void)group; (void)mode_and_flags;
    errno = ENOTSUP;
    return -1;
#endif
}

int sockaddr_to_text(const struct sockaddr *sa, char *buf, size_t buflen)
{
    buf[0] = '\0';
    if (sa == NULL)
        return -1;
    switch (sa->sa_family) {
    case AF_INET:
        if (inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, buflen) == NULL)
            return -1;
        return AF_INET;
    case AF_INET6:
        if (inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, buflen) == NULL)
            return -1;
        return AF_INET6;
#ifdef __linux__
    case AF_PACKET: {
        const struct sockaddr_ll *ll = (const struct sockaddr_ll *)sa;
        size_t used = 0;
        int i;
        for (i = 0; i < ll->sll_halen && used + 4 <= buflen; i++)
            used += snprintf(buf + used, buflen - used, i ? ":%02x" : "%02x", ll->sll_addr[i]);
        return AF_PACKET;
    }
#endif
    default:
        return -1;
    }
}
