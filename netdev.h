/* Network interfaces, as far as libpcap leaves them to us: whether a name
 * is one, its addresses as text, the size of its capture ring in immediate
 * mode, and Linux packet fanout; with the fallbacks for what older headers
 * leave out. */
#ifndef NETDEV_H
#define NETDEV_H

#include <pcap.h>
#include <stddef.h>
#ifdef _WIN32
#include <winsock2.h>
#else
#include <sys/socket.h>   /* struct sockaddr: libpcap 1.8's pcap.h leaves it out */
#endif

#include "platform.h"

/* pcap_set_protocol_linux() is libpcap 1.9's, on Linux only; 1.9 added the
 * wireless flag to the same header, which tells the releases apart.  Where
 * it is missing, capture_protocol() fails as an unknown setting would, and
 * CAPTURE_PROTOCOL is 0 (sources.pxi says why: the platform, or the
 * libpcap). */
#if PLATFORM_LINUX_FEATURES && defined(PCAP_IF_WIRELESS)
#define CAPTURE_PROTOCOL 1
#define capture_protocol(p, protocol) pcap_set_protocol_linux((p), (protocol))
#else
#define CAPTURE_PROTOCOL 0
#define capture_protocol(p, protocol) ((void)(p), (void)(protocol), PCAP_ERROR)
#endif

/* libpcap 1.8 has no wireless flag (1.9 added it): there, no interface is
 * reported as wireless. */
#ifndef PCAP_IF_WIRELESS
#define PCAP_IF_WIRELESS 0
#endif

/* The time stamp type libpcap 1.10 added, with its value there: an older
 * libpcap neither names nor offers it. */
#ifndef PCAP_TSTAMP_HOST_HIPREC_UNSYNCED
#define PCAP_TSTAMP_HOST_HIPREC_UNSYNCED 5
#endif

/* Buffer timeout given to libpcap when timeout_ms is 0: how long a packet
 * may wait in a kernel ring block before the block is handed over. */
#define BUFFER_TIMEOUT_MS 100

/* immediate=True with buffer_size 0: a kernel ring of IMMEDIATE_FRAMES
 * packets, within IMMEDIATE_BUDGET bytes of buffer size (libpcap's measure:
 * frames times frame size; see _immediate_buffer_size in sources.pxi) and never less than
 * libpcap's own default. */
#define IMMEDIATE_FRAMES 1000
#define IMMEDIATE_BUDGET (64 * 1024 * 1024)
#define LIBPCAP_DEFAULT_BUFFER (2 * 1024 * 1024)

/* Whether name is a network interface of this machine. */
int is_interface_name(const char *name);

/* Linux PACKET_FANOUT (linux/if_packet.h): the modes and flags, with the
 * kernel's values where the headers are too old to name them. */
#if PLATFORM_LINUX_FEATURES
#include <linux/if_packet.h>
#endif
#ifndef PACKET_FANOUT_HASH
#define PACKET_FANOUT_HASH 0
#define PACKET_FANOUT_LB 1
#define PACKET_FANOUT_CPU 2
#endif
#ifndef PACKET_FANOUT_ROLLOVER
#define PACKET_FANOUT_ROLLOVER 3
#endif
#ifndef PACKET_FANOUT_RND
#define PACKET_FANOUT_RND 4
#endif
#ifndef PACKET_FANOUT_QM
#define PACKET_FANOUT_QM 5
#endif
#ifndef PACKET_FANOUT_FLAG_ROLLOVER
#define PACKET_FANOUT_FLAG_ROLLOVER 0x1000
#endif
#ifndef PACKET_FANOUT_FLAG_DEFRAG
#define PACKET_FANOUT_FLAG_DEFRAG 0x8000
#endif

/* Join the packet socket fd to fanout group `group` with mode | flags.
 * Returns 0, or -1 with errno set (ENOTSUP where there is no fanout: every
 * platform but Linux, where the caller refuses first, naming the platform). */
int join_fanout(int fd, unsigned int group, unsigned int mode_and_flags);

/* The size of one ring frame that libpcap's Linux immediate mode
 * (TPACKET_V2) gives each packet of `device` at `snaplen`: the snaplen cut to
 * the interface's MTU plus 18 on Ethernet-like devices (65535 plus 18 when
 * the device offloads segmentation or reassembly), plus libpcap's frame
 * header, as pcap-linux.c (create_ring) computes it.  0 where that is not
 * known (not Linux, no such device). */
size_t immediate_frame_size(const char *device, int snaplen);

/* Print a socket address from pcap_findalldevs() as text: dotted IPv4,
 * IPv6, or a colon-separated hardware address for AF_PACKET.  Returns the
 * address family, or -1 when the family is not printable (buf is then ""). */
int sockaddr_to_text(const struct sockaddr *sa, char *buf, size_t buflen);

#endif
