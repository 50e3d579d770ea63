/* libFuzzer harness: arbitrary bytes as one packet whose header fields the
 * module parses (packet_fields.c), as the fill does it (batch_put_meta
 * with a plan) and as packet_fields_parse alone.
 *
 * The first byte picks the link type among those parsed (and one that is
 * not), the second the options (Community ID, its seed, and whether a
 * worker thread hashes the plan's Community IDs); the rest is
 * the packet, given whole and cut at every length a fill may see.  Every
 * column kind takes it: fixed columns of every field, whole records, the
 * Community ID, both addresses as text.  Promises checked: a field marked
 * present lies within the bytes given; the text of an address is what
 * inet_ntop() writes; a Community ID is "1:" and 28 base64 characters and
 * the same from the plan (its hasher, or its worker thread) as alone; the
 * parse reads nothing past caplen (ASan: the packet is copied to a heap
 * block of exactly caplen bytes).  Build and run: tests/fuzzing.py. */
#include "fuzz_common.h"

#include <arpa/inet.h>
#include <pcap.h>

#include "packet_batch.h"
#include "packet_fields.h"

#define MAX_BATCH 4

static const int LINKTYPES[] = {DLT_EN10MB, 113 /* SLL */, 276 /* SLL2 */, DLT_RAW, 101, 228, 229,
                                DLT_NULL, DLT_LOOP, DLT_PPP, DLT_PPP_SERIAL, DLT_C_HDLC, 105 /* not parsed */};

static void check_text(const struct packet_fields *f, const char *text, size_t len, int dst)
{
    char want[INET6_ADDRSTRLEN];
    const uint8_t *a = dst ? f->dst : f->src;
    if (f->ip_version == 4)
        inet_ntop(AF_INET, a + 12, want, sizeof want);
    else
        inet_ntop(AF_INET6, a, want, sizeof want);
    PROMISE(len == strlen(want) && memcmp(text, want, len) == 0);
}

static void check_fields(const struct packet_fields *f, uint32_t caplen)
{
    if (f->present & (FIELD_PORTS | FIELD_TCP_FLAGS | FIELD_ICMP | FIELD_PROTOCOL | FIELD_IP_LEN |
                      FIELD_FRAGMENT))
        PROMISE(f->present & FIELD_IP);
    if (f->present & FIELD_IP) {
        PROMISE(f->ip_version == 4 || f->ip_version == 6);
        PROMISE(caplen >= (f->ip_version == 4 ? 20u : 40u));
    }
    if (f->present & (FIELD_PORTS | FIELD_TCP_FLAGS | FIELD_ICMP | FIELD_PAYLOAD))
        PROMISE(f->present & FIELD_PROTOCOL);
    if (f->present & FIELD_PAYLOAD)
        PROMISE(f->payload_offset <= caplen);
    if (f->present & FIELD_TCP_FLAGS)
        PROMISE(f->protocol == 6 && f->tcp_flags <= 0x0FFF);
    if (f->present & FIELD_VLAN_INNER)
        PROMISE(f->present & FIELD_VLAN);
    if (f->present & FIELD_COMMUNITY_ID)
        PROMISE(f->present & FIELD_PROTOCOL);
}

static void check_community_id(const char *text)
{
    int i;
    PROMISE(text[0] == '1' && text[1] == ':' && text[29] == '=');
    for (i = 2; i < 29; i++)
        PROMISE(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", text[i]) != NULL &&
                text[i] != 0);
}

static void fixed_column(struct field_column *c, size_t offset, uint32_t width, uint32_t mask, unsigned char *values,
                         unsigned char *valid)
{
    c->kind = COLUMN_FIXED;
    c->offset = (uint32_t)offset;
    c->width = width;
    c->mask = mask;
    c->values = values;
    c->valid = valid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fields_options options;
    struct packet_fields alone, *records;
    struct field_column columns[8];
    struct fields_plan plan;
    struct batch_fill fill, cfill;
    struct batch_record rec[MAX_BATCH];
    int64_t stamps[MAX_BATCH];
    uint32_t caplens[MAX_BATCH], wirelens[MAX_BATCH];
    int32_t ends[MAX_BATCH + 1];
    unsigned char *cdata;
    /* (Fixed columns with the slack their values spill into.) */
    unsigned char addresses[MAX_BATCH * 16 + FIELD_COLUMN_SLACK], ports[MAX_BATCH * 2 + FIELD_COLUMN_SLACK];
    unsigned char tail[MAX_BATCH * 4 + FIELD_COLUMN_SLACK], valid[8][1], cid[MAX_BATCH * 30];
    unsigned char text[2][MAX_BATCH * 46 + 64];
    int32_t offsets[2][MAX_BATCH + 1];
    uint32_t present[MAX_BATCH];
    struct pcap_pkthdr h;
    unsigned char *packet;
    size_t len, cuts[MAX_BATCH], i, k;
    int dlt;

    if (size < 2)
        return 0;
    dlt = LINKTYPES[data[0] % (sizeof LINKTYPES / sizeof LINKTYPES[0])];
    options.community_id = data[1] & 1;
    options.seed = (uint16_t)((data[1] >> 1) & 0x3F);
    community_id_worker_mode(data[1] & 0x80 ? 1 : 0);
    data += 2;
    size -= 2;
    if (size > 65535)
        size = 65535;
    cuts[0] = size;
    for (i = 1; i < MAX_BATCH; i++)
        cuts[i] = size ? (size * i) / MAX_BATCH : 0;

    records = malloc(MAX_BATCH * sizeof *records);
    memset(&plan, 0, sizeof plan);
    memset(columns, 0, sizeof columns);
    memset(valid, 0xA5, sizeof valid);     /* (fields_plan_finish makes the bitmaps whole) */
    plan.columns = columns;
    plan.ncolumns = 7;
    plan.present = present;
    plan.options = options;
    columns[0].kind = COLUMN_RECORD;
    columns[0].values = (unsigned char *)records;
    columns[1].kind = COLUMN_COMMUNITY_ID;
    columns[1].values = cid;
    columns[1].mask = FIELD_COMMUNITY_ID;
    columns[1].valid = valid[1];
    for (k = 0; k < 2; k++) {
        columns[2 + k].kind = COLUMN_ADDRESS_TEXT;
        columns[2 + k].offset = k ? 40 : 24;
        columns[2 + k].mask = FIELD_IP;
        columns[2 + k].values = text[k];
        columns[2 + k].offsets = offsets[k];
        columns[2 + k].valid = valid[2 + k];
        offsets[k][0] = 0;
    }
    fixed_column(&columns[4], offsetof(struct packet_fields, src), 16, FIELD_IP, addresses, valid[4]);
    fixed_column(&columns[5], offsetof(struct packet_fields, src_port), 2, FIELD_PORTS, ports, valid[5]);
    /* (Too near the record's end for the 16-byte move: the exact copy.) */
    fixed_column(&columns[6], sizeof(struct packet_fields) - 8, 4, FIELD_IP, tail, valid[6]);

    memset(&fill, 0, sizeof fill);
    fill.records = (unsigned char *)rec;
    fill.capacity = MAX_BATCH;
    fill.record_size = sizeof(struct batch_record);
    fill.ns_scale = 1000;
    fill.fields = &plan;
    fill.dlt = dlt;
    /* The same packets into Arrow's columns (no records), with their bytes. */
    memset(&cfill, 0, sizeof cfill);
    cfill.columns.stamps = stamps;
    cfill.columns.caplens = caplens;
    cfill.columns.wirelens = wirelens;
    cfill.columns.offsets = ends;
    ends[0] = 0;
    cfill.capacity = MAX_BATCH;
    cfill.record_size = sizeof(struct batch_record);
    cfill.ns_scale = 1000;
    cdata = malloc(MAX_BATCH * 65536);
    cfill.data = cdata;
    cfill.size = MAX_BATCH * 65536;
    cfill.largest = 0;
    cfill.dlt = dlt;

    for (i = 0; i < MAX_BATCH; i++) {
        len = cuts[i];
        packet = malloc(len ? len : 1);     /* exactly caplen bytes: a read past them is ASan's */
        memcpy(packet, data, len);
        memset(&h, 0, sizeof h);
        h.caplen = h.len = (uint32_t)len;
        h.ts.tv_sec = (time_t)i;
        h.ts.tv_usec = (suseconds_t)(i * 7);
        batch_put(&fill, &h, packet);
        batch_put(&cfill, &h, packet);
        PROMISE(cfill.count == i + 1 && stamps[i] == rec[i].timestamp_ns && caplens[i] == rec[i].caplen &&
                wirelens[i] == rec[i].wirelen && (size_t)ends[i + 1] - (size_t)ends[i] == len &&
                memcmp(cdata + ends[i], packet, len) == 0);
        packet_fields_parse(packet, (uint32_t)len, dlt, &options, &alone);
        check_fields(&alone, (uint32_t)len);
        packet_fields_community_id(&alone, options.seed);
        free(packet);
        /* The plan's record, but for its Community ID, which may wait. */
        PROMISE(memcmp(&records[i], &alone, offsetof(struct packet_fields, community_id)) == 0);
        PROMISE(memcmp(addresses + i * 16, alone.src, 16) == 0);
        PROMISE(!(alone.present & FIELD_PORTS) || memcmp(ports + i * 2, &alone.src_port, 2) == 0);
    }
    fields_plan_finish(&plan);
    PROMISE(fill.count == MAX_BATCH);
    for (i = 0; i < MAX_BATCH; i++) {
        struct packet_fields *f = &records[i];
        packet = malloc(cuts[i] ? cuts[i] : 1);
        memcpy(packet, data, cuts[i]);
        packet_fields_parse(packet, (uint32_t)cuts[i], dlt, &options, &alone);
        packet_fields_community_id(&alone, options.seed);
        free(packet);
        PROMISE(memcmp(f, &alone, sizeof alone) == 0);
        if (f->present & FIELD_COMMUNITY_ID) {
            PROMISE(options.community_id);
            check_community_id(f->community_id);
            PROMISE(memcmp(cid + i * 30, f->community_id, 30) == 0);
            PROMISE(valid[1][0] & (1u << i));
        } else {
            PROMISE(!(valid[1][0] & (1u << i)));
        }
        PROMISE(!!(valid[4][0] & (1u << i)) == !!(f->present & FIELD_IP));
        /* (Still each packet's own: the packets after it spilled past their slots, not into this one's.) */
        PROMISE(memcmp(addresses + i * 16, f->src, 16) == 0);
        PROMISE(memcmp(ports + i * 2, &f->src_port, 2) == 0);
        PROMISE(memcmp(tail + i * 4, "\0\0\0\0", 4) == 0);     /* (a parse's Community ID bytes: zero) */
        PROMISE(!!(valid[5][0] & (1u << i)) == !!(f->present & FIELD_PORTS));
        for (k = 0; k < 2; k++) {
            size_t at = (size_t)offsets[k][i], end = (size_t)offsets[k][i + 1];
            PROMISE(at <= end && end - at <= 45);
            if (f->present & FIELD_IP)
                check_text(f, (const char *)text[k] + at, end - at, (int)k);
            else
                PROMISE(at == end);
        }
    }
    free(records);
    free(cdata);
    return 0;
}
