# Declarations of the parts of libpcap that the pcap module uses.
# Constants are taken from the headers; none of their values is typed here.
# (Named libpcap.pxd, not pcap.pxd: Cython would take pcap.pxd as the
# declaration file of the pcap module itself.)

from libc.stdio cimport FILE
from posix.time cimport timeval

cdef extern from "pcap.h" nogil:
    enum:
        PCAP_ERRBUF_SIZE
        PCAP_ERROR
        PCAP_ERROR_BREAK
        PCAP_ERROR_NOT_ACTIVATED
        PCAP_ERROR_ACTIVATED
        PCAP_ERROR_NO_SUCH_DEVICE
        PCAP_ERROR_RFMON_NOTSUP
        PCAP_ERROR_NOT_RFMON
        PCAP_ERROR_PERM_DENIED
        PCAP_ERROR_IFACE_NOT_UP
        PCAP_ERROR_CANTSET_TSTAMP_TYPE
        PCAP_ERROR_PROMISC_PERM_DENIED
        PCAP_ERROR_TSTAMP_PRECISION_NOTSUP
        PCAP_WARNING
        PCAP_WARNING_PROMISC_NOTSUP
        PCAP_WARNING_TSTAMP_TYPE_NOTSUP
        PCAP_TSTAMP_PRECISION_MICRO
        PCAP_TSTAMP_PRECISION_NANO
        PCAP_TSTAMP_HOST
        PCAP_TSTAMP_HOST_LOWPREC
        PCAP_TSTAMP_HOST_HIPREC
        PCAP_TSTAMP_ADAPTER
        PCAP_TSTAMP_ADAPTER_UNSYNCED
        # (PCAP_TSTAMP_HOST_HIPREC_UNSYNCED, new in 1.10: netdev.h)
        PCAP_IF_LOOPBACK
        PCAP_IF_UP
        PCAP_IF_RUNNING
        PCAP_IF_WIRELESS
        PCAP_NETMASK_UNKNOWN
        # The link types the module's own code names; every DLT_* the
        # header defines is exported from dlt_names.h.
        DLT_NULL
        DLT_EN10MB
        DLT_IEEE802
        DLT_ARCNET
        DLT_SLIP
        DLT_PPP
        DLT_FDDI
        DLT_PFLOG
        DLT_PFSYNC
        DLT_LOOP
        DLT_RAW
        DLT_LINUX_SLL

    ctypedef enum pcap_direction_t:
        PCAP_D_INOUT
        PCAP_D_IN
        PCAP_D_OUT

    ctypedef unsigned int bpf_u_int32

    struct bpf_insn:
        unsigned short code
        unsigned char jt
        unsigned char jf
        bpf_u_int32 k

    struct bpf_program:
        unsigned int bf_len
        bpf_insn *bf_insns

    ctypedef struct pcap_t:
        pass

    ctypedef struct pcap_dumper_t:
        pass

    struct pcap_pkthdr:
        timeval ts
        bpf_u_int32 caplen
        bpf_u_int32 len

    struct pcap_stat:
        unsigned int ps_recv
        unsigned int ps_drop
        unsigned int ps_ifdrop

    struct sockaddr:
        unsigned short sa_family

    struct pcap_addr:
        pcap_addr *next
        sockaddr *addr
        sockaddr *netmask
        sockaddr *broadaddr
        sockaddr *dstaddr
    ctypedef pcap_addr pcap_addr_t

    struct pcap_if:
        pcap_if *next
        char *name
        char *description
        pcap_addr *addresses
        bpf_u_int32 flags
    ctypedef pcap_if pcap_if_t

    # (pcap_handler is declared below, outside this nogil block: the
    # module's callback runs Python code and must hold the GIL.)
    pcap_t *pcap_create(const char *source, char *errbuf)
    int pcap_set_snaplen(pcap_t *p, int snaplen)
    int pcap_set_promisc(pcap_t *p, int promisc)
    int pcap_set_rfmon(pcap_t *p, int rfmon)
    int pcap_set_timeout(pcap_t *p, int to_ms)
    int pcap_set_immediate_mode(pcap_t *p, int immediate)
    int pcap_set_buffer_size(pcap_t *p, int buffer_size)
    int pcap_set_tstamp_precision(pcap_t *p, int precision)
    int pcap_get_tstamp_precision(pcap_t *p)
    int pcap_set_tstamp_type(pcap_t *p, int tstamp_type)
    int pcap_list_tstamp_types(pcap_t *p, int **tstamp_types)
    void pcap_free_tstamp_types(int *tstamp_types)
    int pcap_tstamp_type_name_to_val(const char *name)
    const char *pcap_tstamp_type_val_to_name(int tstamp_type)
    const char *pcap_tstamp_type_val_to_description(int tstamp_type)
    int pcap_activate(pcap_t *p)

    pcap_t *pcap_open_offline_with_tstamp_precision(const char *fname, unsigned int precision,
                                                    char *errbuf)
    pcap_t *pcap_fopen_offline_with_tstamp_precision(FILE *fp, unsigned int precision, char *errbuf)
    pcap_t *pcap_open_dead(int linktype, int snaplen)
    pcap_t *pcap_open_dead_with_tstamp_precision(int linktype, int snaplen, unsigned int precision)
    void pcap_close(pcap_t *p)

    int pcap_next_ex(pcap_t *p, pcap_pkthdr **pkt_header, const unsigned char **pkt_data)
    void pcap_breakloop(pcap_t *p)

    int pcap_compile(pcap_t *p, bpf_program *fp, const char *str, int optimize,
                     bpf_u_int32 netmask)
    int pcap_setfilter(pcap_t *p, bpf_program *fp)
    void pcap_freecode(bpf_program *fp)
    int pcap_offline_filter(const bpf_program *fp, const pcap_pkthdr *h, const unsigned char *pkt)
    int bpf_filter(const bpf_insn *pc, const unsigned char *pkt, unsigned int wirelen,
                   unsigned int buflen)
    char *bpf_image(const bpf_insn *pc, int n)

    int pcap_setdirection(pcap_t *p, pcap_direction_t d)
    int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
    int pcap_getnonblock(pcap_t *p, char *errbuf)
    int pcap_get_selectable_fd(pcap_t *p)
    int pcap_fileno(pcap_t *p)
    FILE *pcap_file(pcap_t *p)
    int pcap_datalink(pcap_t *p)
    int pcap_list_datalinks(pcap_t *p, int **dlt_buf)
    void pcap_free_datalinks(int *dlt_list)
    int pcap_set_datalink(pcap_t *p, int dlt)
    int pcap_datalink_name_to_val(const char *name)
    const char *pcap_datalink_val_to_name(int dlt)
    const char *pcap_datalink_val_to_description(int dlt)
    int pcap_snapshot(pcap_t *p)
    int pcap_is_swapped(pcap_t *p)
    int pcap_stats(pcap_t *p, pcap_stat *ps)
    int pcap_sendpacket(pcap_t *p, const unsigned char *buf, int size)
    int pcap_inject(pcap_t *p, const void *buf, size_t size)
    char *pcap_geterr(pcap_t *p)
    const char *pcap_statustostr(int error)
    const char *pcap_lib_version()

    int pcap_findalldevs(pcap_if_t **alldevsp, char *errbuf)
    void pcap_freealldevs(pcap_if_t *alldevs)
    int pcap_lookupnet(const char *device, bpf_u_int32 *netp, bpf_u_int32 *maskp, char *errbuf)

    pcap_dumper_t *pcap_dump_open(pcap_t *p, const char *fname)
    pcap_dumper_t *pcap_dump_open_append(pcap_t *p, const char *fname)
    void pcap_dump(unsigned char *user, const pcap_pkthdr *h, const unsigned char *sp)
    int pcap_dump_flush(pcap_dumper_t *p)
    void pcap_dump_close(pcap_dumper_t *p)
    long pcap_dump_ftell(pcap_dumper_t *p)
    FILE *pcap_dump_file(pcap_dumper_t *p)


cdef extern from "pcap.h":
    ctypedef void (*pcap_handler)(unsigned char *user, const pcap_pkthdr *h,
                                  const unsigned char *bytes) noexcept
    int pcap_dispatch(pcap_t *p, int cnt, pcap_handler callback, unsigned char *user)
