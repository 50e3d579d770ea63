/* The C baselines of the benchmark (bench/README.md), built by bench/run.py
 * with `cc -O2 -o bench/.work/baseline bench/baseline.c -lpcap`.
 *
 *   baseline next_ex  FILE [FILTER]   pcap_next_ex loop, counting packets and bytes
 *   baseline dispatch FILE [FILTER]   pcap_dispatch(-1) with a callback that only counts
 *   baseline empty    FILE            pcap_dispatch(-1) with an empty callback
 *   baseline dump     FILE OUT        FILE copied to OUT by libpcap: pcap_dump_open, then
 *                                     pcap_loop(-1) with pcap_dump as the callback
 *   baseline dump_mem FILE OUT        FILE's packets read into memory first (not timed), then
 *                                     pcap_dump_open, pcap_dump of each, pcap_dump_close
 *   baseline send_frames IFACE_A IFACE_B COUNT PORT
 *                                     COUNT Ethernet/IPv4/UDP frames to PORT out of each of
 *                                     two interfaces (the ends of veth pairs), in turn, as
 *                                     fast as possible (AF_PACKET): 60-byte frames on A,
 *                                     68-byte ones on B, so that a capture on the other
 *                                     ends can tell which interface each came in on
 *   baseline send PORT COUNT SIZE [FLOWS]
 *                                     COUNT UDP datagrams of SIZE payload bytes to
 *                                     127.0.0.1:PORT, as fast as possible, from
 *                                     FLOWS sockets (1 to 64) in turn
 *
 * Readers print one JSON line: {"packets": N, "bytes": B, "elapsed": S,
 * "hwm_kib": K}: the time taken from before pcap_open_offline to after the
 * last packet ("bytes" is null for `empty`, whose callback does nothing at
 * all: its packets are counted from pcap_dispatch's return values) and the
 * peak resident set (VmHWM).  The writers time from before pcap_dump_open
 * (dump: before pcap_open_offline) to after pcap_dump_close, then read OUT
 * back with libpcap (not timed), report the packets and bytes found there,
 * and delete it.  The sender binds
 * a socket of its own to the port, so that the datagrams are taken (and
 * dropped when its small buffer is full) without ICMP errors, and prints
 * {"sent": N, "elapsed": S}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct counts {
    unsigned long long packets;
    unsigned long long bytes;
};

static void count_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct counts *c = (struct counts *)user;
    (void)data;
    c->packets++;
    c->bytes += h->caplen;
}

static void empty_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    (void)user; (void)h; (void)data;
}

/* VmHWM, the peak resident set since exec, in KiB (-1 when unknown). */
static long peak_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = atol(line + 6);
            break;
        }
    fclose(f);
    return kib;
}

static pcap_t *open_file(const char *path, const char *filter)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (p == NULL) {
        fprintf(stderr, "baseline: %s\n", errbuf);
        exit(2);
    }
    if (filter != NULL) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0
            || pcap_setfilter(p, &prog) < 0) {
            fprintf(stderr, "baseline: filter %s: %s\n", filter, pcap_geterr(p));
            exit(2);
        }
        pcap_freecode(&prog);
    }
    return p;
}

static int read_file(const char *mode, const char *path, const char *filter)
{
    struct counts c = {0, 0};
    struct pcap_pkthdr *h;
    const u_char *data;
    double t0 = now();
    pcap_t *p = open_file(path, filter);
    int rc;

    if (strcmp(mode, "next_ex") == 0) {
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            c.packets++;
            c.bytes += h->caplen;
        }
        if (rc != PCAP_ERROR_BREAK) {
            fprintf(stderr, "baseline: pcap_next_ex: %s\n", pcap_geterr(p));
            return 2;
        }
    } else if (strcmp(mode, "dispatch") == 0 || strcmp(mode, "empty") == 0) {
        int empty = mode[0] == 'e';
        /* The empty callback counts nothing: the packets are counted from
         * pcap_dispatch's return values, at no cost per packet. */
        unsigned long long n = 0;
        while ((rc = pcap_dispatch(p, -1, empty ? empty_cb : count_cb, (u_char *)&c)) > 0)
            n += (unsigned long long)rc;
        if (rc < 0) {
            fprintf(stderr, "baseline: pcap_dispatch: %s\n", pcap_geterr(p));
            return 2;
        }
        if (empty) {
            double t1 = now();
            pcap_close(p);
            printf("{\"packets\": %llu, \"bytes\": null, \"elapsed\": %.9f, \"hwm_kib\": %ld}\n",
                   n, t1 - t0, peak_rss_kib());
            return 0;
        }
    } else {
        fprintf(stderr, "baseline: unknown mode %s\n", mode);
        return 2;
    }
    double t1 = now();
    pcap_close(p);
    printf("{\"packets\": %llu, \"bytes\": %llu, \"elapsed\": %.9f, \"hwm_kib\": %ld}\n",
           c.packets, c.bytes, t1 - t0, peak_rss_kib());
    return 0;
}

/* The packets and bytes of a savefile, read back with libpcap. */
static int count_file(const char *path, struct counts *c)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    pcap_t *p = open_file(path, NULL);
    int rc;

    c->packets = c->bytes = 0;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        c->packets++;
        c->bytes += h->caplen;
    }
    pcap_close(p);
    return rc == PCAP_ERROR_BREAK ? 0 : -1;
}

static int write_file(const char *mode, const char *path, const char *out)
{
    struct counts c = {0, 0};
    struct pcap_pkthdr *h, *hdrs = NULL;
    const u_char *data;
    u_char *bytes = NULL;
    size_t n = 0, room = 0, used = 0, size = 0, i;
    pcap_dumper_t *d;
    pcap_t *p;
    double t0, t1;
    long hwm;
    int rc;

    if (strcmp(mode, "dump_mem") == 0) {
        p = open_file(path, NULL);
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            if (n == room) {
                room = room ? 2 * room : 65536;
                hdrs = realloc(hdrs, room * sizeof *hdrs);
            }
            if (used + h->caplen > size) {
                size = size ? 2 * size : 1 << 24;
                bytes = realloc(bytes, size);
            }
            if (hdrs == NULL || bytes == NULL) {
                fprintf(stderr, "baseline: out of memory\n");
                return 2;
            }
            hdrs[n++] = *h;
            memcpy(bytes + used, data, h->caplen);
            used += h->caplen;
        }
        t0 = now();
        d = pcap_dump_open(p, out);
        if (d == NULL) {
            fprintf(stderr, "baseline: pcap_dump_open: %s\n", pcap_geterr(p));
            return 2;
        }
        for (i = 0, used = 0; i < n; i++) {
            pcap_dump((u_char *)d, &hdrs[i], bytes + used);
            used += hdrs[i].caplen;
        }
        pcap_dump_close(d);
        t1 = now();
        pcap_close(p);
    } else if (strcmp(mode, "dump") == 0) {
        t0 = now();
        p = open_file(path, NULL);
        d = pcap_dump_open(p, out);
        if (d == NULL) {
            fprintf(stderr, "baseline: pcap_dump_open: %s\n", pcap_geterr(p));
            return 2;
        }
        if (pcap_loop(p, -1, pcap_dump, (u_char *)d) < 0) {
            fprintf(stderr, "baseline: pcap_loop: %s\n", pcap_geterr(p));
            return 2;
        }
        pcap_dump_close(d);
        t1 = now();
        pcap_close(p);
    } else {
        fprintf(stderr, "baseline: unknown mode %s\n", mode);
        return 2;
    }
    hwm = peak_rss_kib();
    if (count_file(out, &c) < 0)
        return 2;
    unlink(out);
    printf("{\"packets\": %llu, \"bytes\": %llu, \"elapsed\": %.9f, \"hwm_kib\": %ld}\n",
           c.packets, c.bytes, t1 - t0, hwm);
    return 0;
}

/* One Ethernet/IPv4/UDP frame to `port`, broadcast, `payload` bytes of
 * UDP payload, into f; its length. */
static size_t udp_frame(unsigned char *f, int port, int payload)
{
    size_t len = 14 + 20 + 8 + (size_t)payload;
    unsigned short ip_len = htons((unsigned short)(20 + 8 + payload));
    unsigned short udp_len = htons((unsigned short)(8 + payload));
    unsigned short sport = htons(40000), dport = htons((unsigned short)port), proto = htons(ETH_P_IP);
    int i;

    memset(f, 0, len);
    memset(f, 0xff, 6);                                  /* broadcast */
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    memcpy(f + 12, &proto, 2);
    f[14] = 0x45;
    memcpy(f + 16, &ip_len, 2);
    f[22] = 64;
    f[23] = 17;                                          /* UDP */
    memcpy(f + 26, "\x0a\xc8\x00\x01", 4);               /* 10.200.0.1 -> 10.200.0.2 */
    memcpy(f + 30, "\x0a\xc8\x00\x02", 4);
    memcpy(f + 34, &sport, 2);
    memcpy(f + 36, &dport, 2);
    memcpy(f + 38, &udp_len, 2);
    for (i = 0; i < payload; i++)
        f[42 + i] = (unsigned char)i;
    return len;
}

static int packet_socket(const char *iface)
{
    struct sockaddr_ll at;
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    if (s < 0) {
        perror("baseline: socket(AF_PACKET)");
        return -1;
    }
    memset(&at, 0, sizeof at);
    at.sll_family = AF_PACKET;
    at.sll_protocol = 0;                                 /* send only */
    at.sll_ifindex = (int)if_nametoindex(iface);
    if (at.sll_ifindex == 0 || bind(s, (struct sockaddr *)&at, sizeof at) < 0) {
        fprintf(stderr, "baseline: %s: %s\n", iface, strerror(errno));
        close(s);
        return -1;
    }
    return s;
}

static int send_frames(const char *a, const char *b, long count, int port)
{
    unsigned char fa[128], fb[128];
    size_t la = udp_frame(fa, port, 18), lb = udp_frame(fb, port, 26);
    int sa = packet_socket(a), sb = packet_socket(b);
    long i, na = 0, nb = 0, retries = 0;

    if (sa < 0 || sb < 0 || count < 0 || count > 1000000) {
        if (count < 0 || count > 1000000)
            fprintf(stderr, "baseline: send_frames: at most 1000000 frames an interface\n");
        return 2;
    }
    double t0 = now();
    for (i = 0; i < 2 * count; i++) {
        int on_b = (int)(i & 1);
        if (send(on_b ? sb : sa, on_b ? fb : fa, on_b ? lb : la, 0) < 0) {
            if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
                retries++;
                i--;
                continue;
            }
            perror("baseline: send");
            return 2;
        }
        if (on_b)
            nb++;
        else
            na++;
    }
    double t1 = now();
    close(sa);
    close(sb);
    printf("{\"sent\": %ld, \"each\": [%ld, %ld], \"retries\": %ld, \"elapsed\": %.9f}\n",
           na + nb, na, nb, retries, t1 - t0);
    return 0;
}

static int send_udp(int port, long count, int size, int flows)
{
    struct sockaddr_in to;
    char buf[65536];
    int sink, socks[64], s, small = 4096;
    long i;

    if (count < 0 || count > 300000) {
        fprintf(stderr, "baseline: send: at most 300000 datagrams\n");
        return 2;
    }
    if (size < 0 || size > (int)sizeof(buf))
        size = 18;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((unsigned short)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < size; i++)
        buf[i] = (char)i;

    if (flows < 1 || flows > 64)
        flows = 1;
    sink = socket(AF_INET, SOCK_DGRAM, 0);
    if (sink < 0) {
        perror("baseline: socket");
        return 2;
    }
    for (i = 0; i < flows; i++) {
        socks[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (socks[i] < 0) {
            perror("baseline: socket");
            return 2;
        }
    }
    setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    if (bind(sink, (struct sockaddr *)&to, sizeof(to)) < 0) {
        perror("baseline: bind");
        return 2;
    }
    double t0 = now();
    for (i = 0; i < count; i++) {
        s = socks[i % flows];
        if (sendto(s, buf, (size_t)size, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
            if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) {
                i--;
                continue;
            }
            perror("baseline: sendto");
            return 2;
        }
    }
    double t1 = now();
    for (i = 0; i < flows; i++)
        close(socks[i]);
    close(sink);
    printf("{\"sent\": %ld, \"elapsed\": %.9f}\n", count, t1 - t0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "send_frames") == 0)
        return send_frames(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
    if (argc == 4 && strncmp(argv[1], "dump", 4) == 0)
        return write_file(argv[1], argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "send") != 0)
        return read_file(argv[1], argv[2], argc > 3 ? argv[3] : NULL);
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0)
        return send_udp(atoi(argv[2]), atol(argv[3]), atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 1);
    fprintf(stderr, "usage: baseline next_ex|dispatch|empty FILE [FILTER]\n"
                    "       baseline dump|dump_mem FILE OUT\n"
                    "       baseline send PORT COUNT SIZE [FLOWS]\n"
                    "       baseline send_frames IFACE_A IFACE_B COUNT PORT\n");
    return 2;
}
