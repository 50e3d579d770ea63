#include "netdev.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif
#ifdef __linux__
#include <linux/if_packet.h>
#include <linux/if_arp.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif
#if defined(AF_LINK) && !defined(_WIN32)
#include <net/if_dl.h>      /* macOS and the BSDs: libpcap gives link-layer addresses as sockaddr_dl */
#endif

int is_interface_name(const char *name)
{
#ifdef _WIN32
    /* Npcap names devices \Device\NPF_{GUID}, which no Windows call maps
     * to an interface index: pcap_findalldevs() decides (_is_device). */
    (void)name;
    return 0;
#else
    return if_nametoindex(name) != 0;
#endif
}

int join_fanout(int fd, unsigned int group, unsigned int mode_and_flags)
{
#if PLATFORM_LINUX_FEATURES && defined(PACKET_FANOUT)
    int arg = (int)((group & 0xffff) | (mode_and_flags << 16));
    return setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg));
#else
    (void)fd; (void)group; (void)mode_and_flags;
    errno = ENOTSUP;
    return -1;
#endif
}

#if PLATFORM_LINUX_FEATURES
/* One ETHTOOL_ flag of the device: 1 on, 0 off or not known. */
static int ethtool_flag(int fd, const char *device, unsigned int cmd)
{
    struct ifreq ifr;
    struct ethtool_value eval;

    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, device, sizeof ifr.ifr_name - 1);
    eval.cmd = cmd;
    eval.data = 0;
    ifr.ifr_data = (char *)&eval;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
        return 0;
    return eval.data != 0;
}
#endif

size_t immediate_frame_size(const char *device, int snaplen)
{
#if PLATFORM_LINUX_FEATURES
    struct ifreq ifr;
    size_t frame = snaplen > 0 ? (size_t)snaplen : 262144;
    size_t max_frame, macoff;
    int fd, ethernet, offload;

    if (strlen(device) >= sizeof ifr.ifr_name)
        return 0;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, device, sizeof ifr.ifr_name - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        close(fd);
        return 0;
    }
    /* libpcap captures both as DLT_EN10MB. */
    ethernet = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER || ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK;
    if (ethernet && ioctl(fd, SIOCGIFMTU, &ifr) == 0) {
        offload = ethtool_flag(fd, device, ETHTOOL_GTSO) || ethtool_flag(fd, device, ETHTOOL_GGSO)
                  || ethtool_flag(fd, device, ETHTOOL_GGRO) || ethtool_flag(fd, device, ETHTOOL_GUFO);
        max_frame = (size_t)ifr.ifr_mtu;
        if (offload && max_frame < 65535)
            max_frame = 65535;
        max_frame += 18;
        if (frame > max_frame)
            frame = max_frame;
    }
    close(fd);
    /* The tpacket2 header and sockaddr_ll, room for a 256-byte link-layer
     * header and a VLAN tag, all 16-byte aligned (TPACKET_ALIGN). */
    macoff = ((((32 + 20) + 256) + 15) & ~(size_t)15) + 4 - 256;
    return (macoff + frame + 15) & ~(size_t)15;
#else
    (void)device; (void)snaplen;
    return 0;
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
#if defined(AF_LINK) && !defined(_WIN32)
    case AF_LINK: {
        const struct sockaddr_dl *dl = (const struct sockaddr_dl *)sa;
        const unsigned char *a = (const unsigned char *)LLADDR(dl);
        size_t used = 0;
        int i;
        for (i = 0; i < dl->sdl_alen && used + 4 <= buflen; i++)
            used += snprintf(buf + used, buflen - used, i ? ":%02x" : "%02x", a[i]);
        return AF_LINK;
    }
#endif
    default:
        return -1;
    }
}
