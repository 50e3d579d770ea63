/* Remote capture where libpcap has it (remote.h). */
#include <stdio.h>

#include "remote.h"

#ifdef HAVE_PCAP_REMOTE

const int remote_supported = 1;

static struct pcap_rmtauth *auth_of(struct pcap_rmtauth *auth, const char *username, const char *password)
{
    if (username == NULL)
        return NULL;     /* libpcap's null authentication */
    auth->type = RPCAP_RMTAUTH_PWD;
    auth->username = (char *)username;
    auth->password = (char *)(password != NULL ? password : "");
    return auth;
}

pcap_t *remote_open(const char *source, int snaplen, int flags, int read_timeout,
                    const char *username, const char *password, char *errbuf)
{
    struct pcap_rmtauth auth;
    return pcap_open(source, snaplen, flags, read_timeout, auth_of(&auth, username, password), errbuf);
}

int remote_findalldevs(const char *source, const char *username, const char *password,
                       pcap_if_t **alldevs, char *errbuf)
{
    struct pcap_rmtauth auth;
    return pcap_findalldevs_ex(source, auth_of(&auth, username, password), alldevs, errbuf);
}

int remote_act_accept(const char *address, const char *port, const char *hostlist, char *connectinghost,
                  const char *username, const char *password, char *errbuf)
{
    struct pcap_rmtauth auth;
    PCAP_SOCKET s = pcap_remoteact_accept(address, port, hostlist, connectinghost,
                                          auth_of(&auth, username, password), errbuf);
    return s == (PCAP_SOCKET)-1 || s == (PCAP_SOCKET)-2 || s == (PCAP_SOCKET)-3 ? -1 : 0;
}

int remote_close_active(const char *host, char *errbuf)
{
    return pcap_remoteact_close(host, errbuf) == 0 ? 0 : -1;
}

#else

const int remote_supported = 0;

static const char NO_REMOTE[] = "this libpcap was built without remote capture (no pcap_open() and "
                                "pcap_findalldevs_ex()): rebuild libpcap with --enable-remote and the module "
                                "against it, or install the module's self-contained wheel";

pcap_t *remote_open(const char *source, int snaplen, int flags, int read_timeout,
                    const char *username, const char *password, char *errbuf)
{
    (void)source; (void)snaplen; (void)flags; (void)read_timeout; (void)username; (void)password;
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", NO_REMOTE);
    return NULL;
}

int remote_findalldevs(const char *source, const char *username, const char *password,
                       pcap_if_t **alldevs, char *errbuf)
{
    (void)source; (void)username; (void)password;
    *alldevs = NULL;
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", NO_REMOTE);
    return -1;
}

int remote_act_accept(const char *address, const char *port, const char *hostlist, char *connectinghost,
                  const char *username, const char *password, char *errbuf)
{
    (void)address; (void)port; (void)hostlist; (void)username; (void)password;
    connectinghost[0] = 0;
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", NO_REMOTE);
    return -1;
}

int remote_close_active(const char *host, char *errbuf)
{
    (void)host;
    snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", NO_REMOTE);
    return -1;
}

#endif
