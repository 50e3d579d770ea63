# The module's own C, and the few C names of Python.h that Cython's
# cpython/ declarations leave out, as pcap.pyx and its .pxi files use them.
# Only declarations: this is no module, and nothing imports it at run time.

cimport libpcap as lp
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdio cimport FILE

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    void PyObject_GC_UnTrack(object op)

cdef extern from "wait.h" nogil:
    enum:
        WAIT_SLICE_MS
    struct live_wait:
        int fd
        void *event
        int slice_ms
    void live_wait_init(lp.pcap_t *p, live_wait *w)
    int wait_ready(int fd, void *event, int timeout_ms)
    int wait_readable(int fd, int timeout_ms)
    double monotonic_ms()
    const void *current_thread()

cdef extern from "platform.h" nogil:
    const char *PLATFORM_NAME
    enum:
        PLATFORM_SIMULATED
        PLATFORM_LINUX_FEATURES

cdef extern from "multi_wait.h" nogil:
    int ready_set_new()
    int ready_set_add(int set, int fd)

cdef extern from "files.h" nogil:
    int open_readonly(const char *path)
    int is_directory(int fd)
    void errno_set "errno_set"(int value)

cdef extern from "netdev.h" nogil:
    enum:
        BUFFER_TIMEOUT_MS
        IMMEDIATE_FRAMES
        IMMEDIATE_BUDGET
        LIBPCAP_DEFAULT_BUFFER
    size_t immediate_frame_size(const char *device, int snaplen)
    int sockaddr_to_text(const lp.sockaddr *sa, char *buf, size_t buflen)
    int is_interface_name(const char *name)
    enum:
        PACKET_FANOUT_HASH
        PACKET_FANOUT_LB
        PACKET_FANOUT_CPU
        PACKET_FANOUT_ROLLOVER
        PACKET_FANOUT_RND
        PACKET_FANOUT_QM
        PACKET_FANOUT_FLAG_ROLLOVER
        PACKET_FANOUT_FLAG_DEFRAG
    int join_fanout(int fd, unsigned int group, unsigned int mode_and_flags)
    enum:
        CAPTURE_PROTOCOL
        TSTAMP_HOST_HIPREC_UNSYNCED "PCAP_TSTAMP_HOST_HIPREC_UNSYNCED"
    int capture_protocol(lp.pcap_t *p, int protocol)

cdef extern from "pcap_stream.h" nogil:
    enum:
        FORMAT_PCAP
        FORMAT_PCAPNG
    struct savefile_stream:
        int fd
        int is_pipe
        int err
        unsigned char *buf
        size_t pos
        size_t end
        size_t limit
        int serve_all
        int hold
        int format
        int swapped
    int stream_init(savefile_stream *s, int fd)
    void stream_free(savefile_stream *s)
    size_t stream_fill(savefile_stream *s, size_t want)
    int stream_open_ready(savefile_stream *s)
    void stream_opened(savefile_stream *s, lp.pcap_t *p)
    size_t stream_frame(savefile_stream *s)
    int stream_may_grow(const savefile_stream *s)
    FILE *stream_file(savefile_stream *s, int buffered)
    enum:
        STREAM_HAS_FILE
    lp.pcap_t *stream_open_dead(savefile_stream *s, int precision, char *errbuf)
    int link_type_post_processed(int dlt, int swapped)
    struct record_reader:
        pass
    enum:
        RECORD_PACKET
        RECORD_WAIT
        RECORD_END
        RECORD_LIBPCAP
    int record_reader_init(record_reader *r, savefile_stream *s, lp.pcap_t *p)
    int record_next(record_reader *r, lp.pcap_pkthdr **hdr, const unsigned char **data)
    void record_refusal(const record_reader *r, char *errbuf)
    int record_cut(record_reader *r, lp.pcap_pkthdr **hdr, const unsigned char **data)

cdef extern from "savefile_split.h" nogil:
    int savefile_boundaries(int fd, const uint64_t *targets, size_t n, uint64_t *out, uint64_t *walked)
    struct range_prefix:
        size_t count
        unsigned char *bytes
        size_t size
        uint64_t block_before
        uint64_t block_after
    int pcapng_range_prefix(int fd, uint64_t start, range_prefix *prefix)
    void range_prefix_free(range_prefix *prefix)

cdef extern from "triage.h" nogil:
    enum:
        TRIAGE_NONE
        TRIAGE_KEEP
        TRIAGE_DROP
        TRIAGE_SRC
        TRIAGE_DST
        TRIAGE_EITHER
    struct flow_table:
        size_t sets
        uint64_t flows
        uint64_t evicted
    struct triage:
        int prefix_match
        int prefix_default
        unsigned char *ports
        int port_action
        int port_match
        uint32_t head_packets
        uint32_t head_bytes
        int flow_heads
        int bidirectional
        int non_ip
        flow_table flows
        uint64_t kept
        uint64_t dropped
        uint64_t dropped_non_ip
        uint64_t dropped_prefix
        uint64_t dropped_port
        uint64_t dropped_flow
    int triage_add_prefix(triage *t, const char *text, size_t len, int action)
    int triage_build_prefixes(triage *t, char *conflict)
    int triage_lookup(const triage *t, const char *text, size_t len)
    int flow_table_init(flow_table *ft, size_t capacity)
    void flow_table_clear(flow_table *ft)
    int triage_packet(triage *t, const unsigned char *packet, uint32_t caplen, uint32_t wirelen, int dlt)
    void triage_free(triage *t)

cdef extern from "packet_fields.h" nogil:
    enum:
        PF_ETH "FIELD_ETH"
        PF_ETHERTYPE "FIELD_ETHERTYPE"
        PF_VLAN "FIELD_VLAN"
        PF_VLAN_INNER "FIELD_VLAN_INNER"
        PF_IP "FIELD_IP"
        PF_IP_LEN "FIELD_IP_LEN"
        PF_PORTS "FIELD_PORTS"
        PF_TCP_FLAGS "FIELD_TCP_FLAGS"
        PF_ICMP "FIELD_ICMP"
        PF_PAYLOAD "FIELD_PAYLOAD"
        PF_COMMUNITY_ID "FIELD_COMMUNITY_ID"
        PF_FRAGMENT "FIELD_FRAGMENT"
        PF_PROTOCOL "FIELD_PROTOCOL"
    struct packet_fields:
        uint32_t present
    struct fields_options:
        int community_id
        unsigned short seed
    void packet_fields_parse(const unsigned char *packet, uint32_t caplen, int dlt,
                             const fields_options *options, packet_fields *out)
    int packet_fields_linktype(int dlt)
    int community_id_worker_mode(int mode)
    enum:
        COMMUNITY_ID_PREFAULT_REGIONS
        FIELD_COLUMN_SLACK
    struct community_id_region:
        unsigned char *base
        size_t per_packet
    struct community_id_hasher:
        community_id_region regions[24]
        size_t nregions
        size_t capacity
    void community_id_hasher_finish(community_id_hasher *h)
    void community_id_v1(unsigned short seed, const unsigned char *saddr, const unsigned char *daddr, size_t addr_len,
                         unsigned char protocol, int has_ports, unsigned short sport, unsigned short dport,
                         char *out)
    void fields_sha1(const unsigned char *message, size_t len, unsigned char *digest)
    int fields_sha1_hardware(int use)
    void packet_fields_community_id(packet_fields *f, unsigned short seed)
    enum:
        COLUMN_FIXED
        COLUMN_RECORD
        COLUMN_COMMUNITY_ID
        COLUMN_ADDRESS_TEXT
    struct field_column:
        int kind
        uint32_t offset, width, mask
        unsigned char *values
        int32_t *offsets
        size_t text_used
        unsigned char *valid
        size_t valid_count
    struct fields_plan:
        field_column *columns
        size_t ncolumns
        uint32_t *present
        size_t count
        fields_options options
        community_id_hasher hasher
    void fields_plan_put(fields_plan *plan, const packet_fields *f, size_t index)
    void fields_plan_finish(fields_plan *plan)

cdef extern from "packet_batch.h" nogil:
    struct batch_record:
        long long timestamp_ns
        unsigned int caplen
        unsigned int wirelen
        unsigned long long offset
    struct batch_column_out:
        int64_t *stamps
        uint32_t *caplens
        uint32_t *wirelens
        int32_t *offsets
    struct batch_fill:
        unsigned char *records
        batch_column_out columns
        size_t capacity
        size_t count
        unsigned char *data
        size_t size
        size_t used
        size_t largest
        long long ns_scale
        size_t too_large
        size_t record_size
        unsigned char *comments
        size_t comments_size
        size_t comments_used
        size_t comments_too_large
        fields_plan *fields
        triage *triage
        int dlt
    struct batch_record_ng:
        batch_record base
        unsigned int interface_id
        unsigned int flags
        unsigned int comment_len
    int batch_has_room(const batch_fill *f)
    size_t batch_room(const batch_fill *f)
    void batch_put(batch_fill *f, const lp.pcap_pkthdr *h, const unsigned char *bytes)
    int batch_put_meta(batch_fill *f, const lp.pcap_pkthdr *h, const unsigned char *bytes,
                       unsigned int interface_id, unsigned int flags)
    void batch_relabel_last(batch_fill *f, uint32_t interface_id)
    size_t record_fill(record_reader *r, batch_fill *f, const lp.bpf_program *prog, size_t limit)
    int batch_dispatch(lp.pcap_t *p, int cnt, batch_fill *f)
    long long NS_SAFE_SECONDS
    long long batch_stamp(const lp.pcap_pkthdr *h, long long ns_scale)
    size_t batch_comment_column(const unsigned char *records, size_t n, int32_t *offsets, unsigned char *valid)
    void batch_columns(const unsigned char *records, size_t n, size_t record_size, int64_t *stamps,
                       uint32_t *caplens, uint32_t *wirelens, int32_t *offsets, uint32_t *interface_ids,
                       uint32_t *flags)
    struct queued_packet:
        lp.pcap_pkthdr hdr
        size_t offset
    struct packet_queue:
        queued_packet *packets
        unsigned char *data
        size_t count
        size_t next
        size_t batch
        int too_large
    int queue_init(packet_queue *q, size_t snaplen)
    void queue_free(packet_queue *q)
    int queue_dispatch(lp.pcap_t *p, packet_queue *q)

cdef extern from "savefile_format.h" nogil:
    unsigned int PCAP_MAGIC_NANO
    unsigned int PCAP_MAGIC_MICRO
    unsigned int BYTE_ORDER_MAGIC
    unsigned int swap32(unsigned int v)
    enum:
        BT_SHB
        BT_IDB
        BT_ISB
        BT_EPB
        BT_SPB
        BT_PB

cdef extern from "pcapng_reader.h" nogil:
    size_t pcapng_packet_options_native(const pcapng_reader *r, unsigned char *out, size_t room)
    struct pcapng_interface:
        int linktype
        int dlt
        unsigned int snaplen
        unsigned long long tsresol
        long long tsoffset
        unsigned char *idb
        unsigned int idb_len
        unsigned char *isb
        unsigned int isb_len
        const lp.bpf_program *prog
    struct pcapng_reader:
        int swapped
        unsigned int section
        unsigned int count
        unsigned int ready
        pcapng_interface *iface
        unsigned int changes
        int filtering
        unsigned int unfiltered
        lp.pcap_pkthdr hdr
        unsigned int packet_iface
        unsigned int packet_type
        const unsigned char *packet_block
        unsigned int packet_len
        unsigned int packet_options
        char err[]
    enum:
        RECORD_ERROR
        RECORD_INTERFACE
    int pcapng_reader_init(pcapng_reader *r, savefile_stream *s, int precision)
    void pcapng_reader_free(pcapng_reader *r)
    int dlt_of_linktype(int linktype)
    int pcapng_first_interface(pcapng_reader *r, int *linktype, unsigned int *snaplen, uint64_t *tsresol)
    void pcapng_read_ahead(pcapng_reader *r)
    int pcapng_next(pcapng_reader *r, lp.pcap_pkthdr **hdr, const unsigned char **data)
    size_t pcapng_fill(pcapng_reader *r, batch_fill *f, size_t limit)
    int pcapng_passes(const pcapng_reader *r, unsigned int i, const lp.pcap_pkthdr *h, const unsigned char *data)
    unsigned int pcapng_packet_flags(const pcapng_reader *r)
    int pcapng_put(pcapng_reader *r, batch_fill *f, const lp.pcap_pkthdr *h, const unsigned char *bytes)

cdef extern from "packet_pair.h":
    object packet_pair_seconds(double seconds, const unsigned char *data, Py_ssize_t len)
    object packet_pair_ns(long long ns, const unsigned char *data, Py_ssize_t len)

cdef extern from "dlt_names.h":
    struct dlt_name:
        const char *name
        int value
    const dlt_name DLT_NAMES[]
    size_t DLT_NAMES_COUNT

cdef extern from "savefile_writer.h" nogil:
    struct savefile_writer:
        int fd
        int pcapng
        unsigned char *buf
        size_t used
        size_t size
        size_t drain_at
        unsigned int count
        uint64_t *packets
        uint64_t written
        int err
    int writer_init(savefile_writer *w, int fd, int pcapng, uint64_t units, size_t size)
    int64_t writer_round_even(double x)
    void writer_free(savefile_writer *w)
    int writer_flush(savefile_writer *w)
    int writer_add_interface(savefile_writer *w, uint32_t snaplen)
    int writer_raw(savefile_writer *w, const void *data, size_t len)
    int writer_block(savefile_writer *w, uint32_t type, const void *body, size_t len)
    int writer_packet(savefile_writer *w, uint32_t iface, int64_t sec, uint32_t nsec, uint32_t caplen,
                      uint32_t wirelen, const unsigned char *data, const unsigned char *options,
                      size_t options_len, uint32_t flags)
    uint32_t direction_of(int dlt, const unsigned char *data, uint32_t caplen)
    enum:
        PCAPNG_INBOUND
        PCAPNG_OUTBOUND
    enum:
        BATCH_WRITTEN
        BATCH_DRAIN
        BATCH_WRITE_ERROR
        BATCH_BAD_OFFSET
        BATCH_BAD_INTERFACE
        BATCH_BAD_TIME
        BATCH_BAD_COMMENTS
        BATCH_NO_MEMORY
    int writer_batch(savefile_writer *w, const unsigned char *records, size_t record_size, size_t n,
                     size_t *next, const unsigned char *data, size_t data_len, const unsigned char *comments,
                     size_t comments_len, size_t *comments_at)
    struct packet_columns:
        size_t n
        const int64_t *stamps
        const uint32_t *wirelens
        const void *offsets
        int wide_offsets
        const unsigned char *data
        size_t data_len
        const uint32_t *interface_ids
        const uint32_t *flags
        const void *comment_offsets
        int wide_comment_offsets
        const unsigned char *comments
        size_t comments_len
        const unsigned char *comment_valid
        size_t comment_bit
    int writer_columns(savefile_writer *w, const packet_columns *c, size_t *next)
    int linktype_of_dlt(int linktype)

cdef extern from "remote.h" nogil:
    const int remote_supported
    enum:
        REMOTE_OPEN_PROMISCUOUS
        REMOTE_OPEN_NOCAPTURE_RPCAP
    lp.pcap_t *remote_open(const char *source, int snaplen, int flags, int read_timeout,
                           const char *username, const char *password, char *errbuf)
    int remote_findalldevs(const char *source, const char *username, const char *password,
                           lp.pcap_if_t **alldevs, char *errbuf)
    enum:
        REMOTE_HOST_SIZE
    int remote_act_accept(const char *address, const char *port, const char *hostlist, char *connectinghost,
                      const char *username, const char *password, char *errbuf)
    int remote_close_active(const char *host, char *errbuf)
