/* The small part of the binding that is easier to say in C than in Cython:
 * waiting on a descriptor with a bound, a monotonic clock, and printing the
 * addresses of pcap_findalldevs() whatever their family.  Reading savefiles
 * is in pcap_stream.h. */
#ifndef PCAP_EX_H
#define PCAP_EX_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>   /* struct sockaddr: libpcap 1.8's pcap.h leaves it out */

/* libpcap 1.8 has no wireless flag (1.9 added it): there, no interface is
 * reported as wireless. */
#ifndef PCAP_IF_WIRELESS
#define PCAP_IF_WIRELESS 0
#endif

/* Longest single wait with the GIL released.  Between two waits the caller
 * takes the GIL back to run Python's signal handlers and to notice
 * breakloop() or close() from other threads, so this bounds how late those
 * are seen. */
#define WAIT_SLICE_MS 50

/* Buffer timeout given to libpcap when timeout_ms is 0: how long a packet
 * may wait in a kernel ring block before the block is handed over. */
#define BUFFER_TIMEOUT_MS 100

/* immediate=True with buffer_size 0: a kernel ring of IMMEDIATE_FRAMES
 * packets, within IMMEDIATE_BUDGET bytes of buffer size (libpcap's measure:
 * frames times frame size; see immediate_buffer_size) and never less than
 * libpcap's own default. */
#define IMMEDIATE_FRAMES 1000
#define IMMEDIATE_BUDGET (64 * 1024 * 1024)
#define LIBPCAP_DEFAULT_BUFFER (2 * 1024 * 1024)

/* Wait until fd is readable or timeout_ms has passed.  Returns 1 when
 * readable, 0 on timeout or when a signal interrupted the wait, -1 on any
 * other error (errno set).  Safe to call without the GIL. */
int wait_readable(int fd, int timeout_ms);

/* Milliseconds on the monotonic clock. */
double monotonic_ms(void);

/* Whether name is a network interface of this machine. */
int is_interface_name(const char *name);

/* open(path, O_RDONLY | O_CLOEXEC): may wait (a FIFO waits for its writer);
 * -1 with errno set on failure. */
int open_readonly(const char *path);

/* Whether fd is a directory. */
int is_directory(int fd);

/* errno = value, for Cython. */
void errno_set(int value);

/* Linux PACKET_FANOUT (linux/if_packet.h): the modes and flags, with the
 * kernel's values where the headers are too old to name them. */
#ifdef __linux__
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
 * Returns 0, or -1 with errno set (ENOTSUP where there is no fanout). */
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
