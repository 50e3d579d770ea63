/* Remote capture (rpcap://, rpcapd) where the libpcap the module is built
 * against has it.  setup.py defines HAVE_PCAP_REMOTE when pcap_open() and
 * pcap_findalldevs_ex() link: Debian's libpcap, built without remote
 * capture, declares them (1.9 and later) but has neither; 1.8 declares
 * neither.  Without it, both calls fail with errbuf saying so. */
#ifndef REMOTE_H
#define REMOTE_H

#include <pcap.h>

/* 1 when the calls below reach libpcap's remote capture, else 0. */
extern const int remote_supported;

/* pcap_open()'s flags, as libpcap 1.9+ defines them (1.8's header has none). */
#define REMOTE_OPEN_PROMISCUOUS 0x1
#define REMOTE_OPEN_NOCAPTURE_RPCAP 0x4

/* pcap_open() of ``source`` (rpcap://host:port/device); ``username`` NULL
 * for null authentication, else password authentication.  NULL on failure,
 * errbuf saying why. */
pcap_t *remote_open(const char *source, int snaplen, int flags, int read_timeout,
                    const char *username, const char *password, char *errbuf);

/* pcap_findalldevs_ex() of ``source`` (rpcap://host:port/), authenticated
 * as remote_open() is.  0, or -1 with errbuf saying why. */
int remote_findalldevs(const char *source, const char *username, const char *password,
                       pcap_if_t **alldevs, char *errbuf);

/* pcap_remoteact_accept(): wait for an rpcapd in active mode (-a) to
 * connect to ``address``:``port``; ``connectinghost`` (REMOTE_HOST_SIZE
 * bytes) gets its numeric address, which rpcap://that-address/device
 * then opens over this connection.  ``hostlist``: the hosts accepted,
 * comma-separated (NULL: any).  0, or -1 with errbuf saying why. */
#define REMOTE_HOST_SIZE 1024
int remote_act_accept(const char *address, const char *port, const char *hostlist, char *connectinghost,
                  const char *username, const char *password, char *errbuf);

/* pcap_remoteact_close(): close the active connection of ``host``. */
int remote_close_active(const char *host, char *errbuf);

#endif
