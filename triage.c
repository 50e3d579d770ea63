#include "triage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <ws2tcpip.h>     /* inet_pton, inet_ntop */
#else
#include <arpa/inet.h>
#include <sys/mman.h>
#endif

/* ---- prefixes ------------------------------------------------------------ */

static triage_key all_ones(unsigned width)
{
    return width >= 128 ? ~(triage_key)0 : (((triage_key)1 << width) - 1);
}

/* The last address of a prefix. */
static triage_key prefix_end(const struct prefix_entry *e, unsigned width)
{
    return e->len >= width ? e->start : e->start | (all_ones(width) >> e->len);
}

/* Sort the prefixes by start, then length (the outer first): a stable
 * counting sort a 16-bit digit at a time from the least significant,
 * passing over digits that all entries share (the low bits of short IPv6
 * prefixes).  A million prefixes in a few tens of milliseconds. */
static inline int entry_before(const struct prefix_entry *a, const struct prefix_entry *b)
{
    return a->start < b->start || (a->start == b->start && a->len <= b->len);
}

/* Turn a radix pass's 65,536 digit counts into where each digit's first
 * entry goes. */
static void counts_to_starts(size_t *count)
{
    size_t i, sum, c;
    for (i = 0, sum = 0; i < 65536; i++) {
        c = count[i];
        count[i] = sum;
        sum += c;
    }
}

static int sort_entries(struct prefix_entry *entries, size_t n, unsigned width)
{
    struct prefix_entry *tmp = malloc(n * sizeof *tmp), *from = entries, *to = tmp, *swap;
    size_t *count = malloc(65536 * sizeof *count), i;
    int shift;
    for (i = 1; i < n && entry_before(&entries[i - 1], &entries[i]); i++)
        ;
    if (i >= n) {
        free(tmp);
        free(count);
        return 0;   /* in order already, as a list file often is */
    }
    if (tmp == NULL || count == NULL) {
        free(tmp);
        free(count);
        return -1;
    }
    for (shift = -16; shift < (int)width; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (i = 0; i < n; i++)
            count[shift < 0 ? from[i].len : (size_t)(from[i].start >> shift) & 0xffff]++;
        for (i = 0; i < 65536 && count[i] != n; i++)
            ;
        if (i < 65536)
            continue;   /* one digit for all: nothing to do */
        counts_to_starts(count);
        for (i = 0; i < n; i++)
            to[count[shift < 0 ? from[i].len : (size_t)(from[i].start >> shift) & 0xffff]++] = from[i];
        swap = from;
        from = to;
        to = swap;
    }
    if (from != entries)
        memcpy(entries, from, n * sizeof *entries);
    free(tmp);
    free(count);
    return 0;
}

struct interval {
    triage_key start;
    uint8_t action;
};

/* Append an interval; one that starts where the last one does replaces it
 * (the later is the more specific). */
static void emit(struct interval *out, size_t *n, triage_key start, uint8_t action)
{
    if (*n > 0 && out[*n - 1].start == start) {
        out[*n - 1].action = action;
        return;
    }
    out[*n].start = start;
    out[*n].action = action;
    (*n)++;
}

static unsigned leading_zeros(triage_key x, unsigned width)
{
    unsigned n = 0;
    uint64_t hi;
    if (width == 32)
        return x ? (unsigned)__builtin_clz((uint32_t)x) : 32;
    hi = (uint64_t)(x >> 64);
    if (hi)
        return (unsigned)__builtin_clzll(hi);
    n = 64;
    return (uint64_t)x ? n + (unsigned)__builtin_clzll((uint64_t)x) : 128;
}

static inline triage_key start_of(const struct prefix_table *t, size_t i)
{
    return t->width == 32 ? (triage_key)t->starts4[i] : t->starts6[i];
}

/* `count` (1 or more) bits of key x from bit `from` (0: the most significant). */
static inline triage_key key_bits(triage_key x, unsigned width, unsigned from, unsigned count)
{
    return ((x << from) & all_ones(width)) >> (width - count);
}

/* The last interval holding a key of [lo, hi] at or below x. */
static size_t last_at_or_below(const struct prefix_table *t, size_t lo, size_t hi, triage_key x)
{
    size_t mid;
    while (lo < hi) {
        mid = (lo + hi + 1) / 2;
        if (start_of(t, mid) <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static int grow(void **array, size_t *size, size_t need, size_t item)
{
    size_t size2 = *size ? *size : 64;
    void *p;
    if (need <= *size)
        return 0;
    while (size2 < need)
        size2 *= 2;
    p = realloc(*array, size2 * item);
    if (p == NULL)
        return -1;
    *array = p;
    *size = size2;
    return 0;
}

/* A node over intervals lo..hi (more than INDEX_LEAF), whose keys share
 * their first `from` bits; returns its number, or -1 out of memory. */
static long make_node(struct prefix_table *t, size_t lo, size_t hi, unsigned from, int root)
{
    unsigned w = t->width, pos, bits = 1;
    triage_key first = start_of(t, lo + 1), region, key, next_key;
    size_t node, slots, b, buckets, i, blo, bhi;
    long child;
    struct index_node *nd;

    pos = from + leading_zeros((first ^ start_of(t, hi)) << from & all_ones(w), w);    /* < w: they differ */
    while (bits < (root ? 20u : 16u) && ((size_t)1 << bits) < hi - lo + 1)
        bits++;
    if (bits > w - pos)
        bits = w - pos;
    buckets = (size_t)1 << bits;
    if (grow((void **)&t->nodes, &t->nodes_size, t->nodes_used + 1, sizeof *t->nodes) < 0
        || grow((void **)&t->slots, &t->slots_size, t->slots_used + buckets, sizeof *t->slots) < 0)
        return -1;
    node = t->nodes_used++;
    slots = t->slots_used;
    t->slots_used += buckets;
    nd = &t->nodes[node];
    nd->common = pos > from ? key_bits(first, w, from, pos - from) : 0;
    nd->lo = (uint32_t)lo;
    nd->hi = (uint32_t)hi;
    nd->slots = (uint32_t)slots;
    nd->from = (uint8_t)from;
    nd->pos = (uint8_t)pos;
    nd->bits = (uint8_t)bits;
    /* The first key of bucket b: the common bits, b, zeros.  One sweep
     * finds the interval holding each bucket's first key (kept in the
     * slots' lo for now); a bucket's last interval is the next one's first,
     * or the one before when that starts right at the next bucket. */
    region = pos ? (first >> (w - pos)) << (w - pos) : 0;
    i = lo;
    for (b = 0; b < buckets; b++) {
        key = region | ((triage_key)b << (w - pos - bits));
        while (i < hi && start_of(t, i + 1) <= key)
            i++;
        t->slots[slots + b].lo = (uint32_t)i;
    }
    for (b = 0; b < buckets; b++) {
        blo = t->slots[slots + b].lo;
        if (b + 1 < buckets) {
            next_key = region | ((triage_key)(b + 1) << (w - pos - bits));
            bhi = t->slots[slots + b + 1].lo;
            if (start_of(t, bhi) == next_key)
                bhi--;
        } else {
            bhi = hi;
        }
        if (bhi - blo + 1 <= INDEX_LEAF) {
            size_t j = blo;
            while (j < bhi && t->actions[j + 1] == t->actions[blo])
                j++;
            t->slots[slots + b].lo = j == bhi ? INDEX_ACTION : (uint32_t)blo;
            t->slots[slots + b].hi = j == bhi ? t->actions[blo] : (uint32_t)bhi;
            continue;
        }
        child = make_node(t, blo, bhi, pos + bits, 0);
        if (child < 0)
            return -1;
        t->slots[slots + b].lo = INDEX_CHILD;
        t->slots[slots + b].hi = (uint32_t)child;
    }
    return (long)node;
}

/* Memory for a table that lookups reach at random: 64-byte aligned, and
 * where it is large, on huge pages when the kernel gives them (Linux's
 * transparent huge pages, on madvise), so that a lookup takes no TLB miss
 * on the way to the cache line it reads.  Freed with free(). */
static void *huge_alloc(size_t size)
{
#ifdef _WIN32
    /* (The CRT's aligned memory must be freed with _aligned_free(), and the
     * tables are freed with free(): malloc's 16-byte alignment there.) */
    return malloc(size);
#else
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;
    if (size >= huge) {
        size_t rounded = (size + huge - 1) / huge * huge;
        void *p = aligned_alloc(huge, rounded);
        if (p != NULL)
            madvise(p, rounded, MADV_HUGEPAGE);
        return p;
    }
#endif
    return aligned_alloc(64, (size + 63) / 64 * 64);
#endif
}

/* A table's array moved where the kernel may back it with huge pages
 * (Linux's transparent huge pages, on madvise): a lookup then takes no
 * TLB miss on the way to the few cache lines it reads.  Else as it is. */
static void *on_huge_pages(void *p, size_t size)
{
    void *q;
    if (p == NULL || size < ((size_t)2 << 20) || (q = huge_alloc(size)) == NULL)
        return p;
    memcpy(q, p, size);
    free(p);
    return q;
}

static int make_index(struct prefix_table *t)
{
    if (t->n <= INDEX_LEAF)
        return 0;   /* searched whole */
    return make_node(t, 0, t->n - 1, 0, 1) < 0 ? -1 : 0;
}

int prefix_table_build(struct prefix_table *t, unsigned width, struct prefix_entry *entries, size_t n,
                       size_t *conflict)
{
    struct interval *out;
    struct { triage_key end; uint8_t action; } stack[130];
    size_t depth = 0, m = 0, i, k;

    memset(t, 0, sizeof *t);
    t->width = width;
    if (n == 0)
        return 0;
    if (sort_entries(entries, n, width) < 0)
        return -1;
    /* The same prefix twice: once (or a conflict).  Then at most one
     * prefix of each length holds a given address: the stack's depth. */
    for (i = 1, k = 1; i < n; i++) {
        if (entries[i].start == entries[k - 1].start && entries[i].len == entries[k - 1].len) {
            if (entries[i].action != entries[k - 1].action) {
                *conflict = i;
                return -2;
            }
            continue;
        }
        entries[k++] = entries[i];
    }
    n = k;
    out = malloc((2 * n + 1) * sizeof *out);
    if (out == NULL)
        return -1;
    /* Prefixes either nest or are disjoint: a stack of the ones holding
     * the current start gives each stretch its longest prefix. */
    emit(out, &m, 0, TRIAGE_NONE);
    for (i = 0; i < n; i++) {
        while (depth > 0 && stack[depth - 1].end < entries[i].start) {
            triage_key end = stack[--depth].end;
            emit(out, &m, end + 1, depth ? stack[depth - 1].action : TRIAGE_NONE);
        }
        emit(out, &m, entries[i].start, entries[i].action);
        stack[depth].end = prefix_end(&entries[i], width);
        stack[depth].action = entries[i].action;
        depth++;
    }
    while (depth > 0) {
        triage_key end = stack[--depth].end;
        if (end != all_ones(width))
            emit(out, &m, end + 1, depth ? stack[depth - 1].action : TRIAGE_NONE);
    }
    /* Neighbours with one action are one interval. */
    for (i = 1, k = 1; i < m; i++)
        if (out[i].action != out[k - 1].action)
            out[k++] = out[i];
    t->n = k;
    t->actions = malloc(k);
    if (width == 32)
        t->starts4 = malloc(k * sizeof *t->starts4);
    else
        t->starts6 = malloc(k * sizeof *t->starts6);
    if (t->actions == NULL || (t->starts4 == NULL && t->starts6 == NULL)) {
        free(out);
        prefix_table_free(t);
        return -1;
    }
    for (i = 0; i < k; i++) {
        t->actions[i] = out[i].action;
        if (width == 32)
            t->starts4[i] = (uint32_t)out[i].start;
        else
            t->starts6[i] = out[i].start;
    }
    if (make_index(t) < 0) {
        free(out);
        prefix_table_free(t);
        return -1;
    }
    t->slots = on_huge_pages(t->slots, t->slots_used * sizeof *t->slots);
    t->starts4 = on_huge_pages(t->starts4, width == 32 ? k * sizeof *t->starts4 : 0);
    t->starts6 = on_huge_pages(t->starts6, width == 32 ? 0 : k * sizeof *t->starts6);
    free(out);
    return 0;
}

/* ---- IPv4 prefixes, as 64-bit keys -----------------------------------------
 * A million IPv4 prefixes (an address list) are most of what a triage is
 * given: kept as one number each that sorts as the intervals need (the
 * start, then the length, the outer first, then the action), they sort in
 * a quarter of the memory the 128-bit entries take, and the intervals go
 * straight into the table's own arrays. */

uint64_t prefix_key4(uint32_t start, unsigned len, unsigned action)
{
    return (uint64_t)start << 16 | (uint64_t)len << 8 | action;
}

/* LSD radix sort, 16 bits a pass, passing over digits all keys share. */
static int sort_keys4(uint64_t *keys, size_t n)
{
    uint64_t *tmp, *from = keys, *to, *swap;
    size_t *count, i;
    int shift;
    for (i = 1; i < n && keys[i - 1] <= keys[i]; i++)
        ;
    if (i >= n)
        return 0;   /* in order already */
    tmp = malloc(n * sizeof *tmp);
    count = malloc(65536 * sizeof *count);
    if (tmp == NULL || count == NULL) {
        free(tmp);
        free(count);
        return -1;
    }
    to = tmp;
    for (shift = 0; shift < 48; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (i = 0; i < n; i++)
            count[(from[i] >> shift) & 0xffff]++;
        if (count[(from[0] >> shift) & 0xffff] == n)
            continue;   /* one digit for all */
        counts_to_starts(count);
        for (i = 0; i < n; i++)
            to[count[(from[i] >> shift) & 0xffff]++] = from[i];
        swap = from;
        from = to;
        to = swap;
    }
    if (from != keys)
        memcpy(keys, from, n * sizeof *keys);
    free(tmp);
    free(count);
    return 0;
}

/* Append interval (start, action) to the table's arrays (which hold one
 * already); one that starts where the last one does replaces it (the later
 * is the more specific). */
static inline void emit4(struct prefix_table *t, uint32_t start, uint8_t action)
{
    if (t->starts4[t->n - 1] == start) {
        t->actions[t->n - 1] = action;
        return;
    }
    t->starts4[t->n] = start;
    t->actions[t->n++] = action;
}

int prefix_table_build4(struct prefix_table *t, uint64_t *keys, size_t n, size_t *conflict)
{
    struct { uint32_t end; uint8_t action; } stack[34];
    size_t depth = 0, i, k;
    uint32_t *starts;
    uint8_t *actions;

    memset(t, 0, sizeof *t);
    t->width = 32;
    if (n == 0)
        return 0;
    if (sort_keys4(keys, n) < 0)
        return -1;
    for (i = 1, k = 1; i < n; i++) {
        if (keys[i] >> 8 == keys[k - 1] >> 8) {     /* the same prefix twice */
            if (keys[i] != keys[k - 1]) {
                *conflict = i;
                return -2;
            }
            continue;
        }
        keys[k++] = keys[i];
    }
    n = k;
    t->starts4 = malloc((2 * n + 1) * sizeof *t->starts4);
    t->actions = malloc(2 * n + 1);
    if (t->starts4 == NULL || t->actions == NULL) {
        prefix_table_free(t);
        return -1;
    }
    t->starts4[0] = 0;
    t->actions[0] = TRIAGE_NONE;
    t->n = 1;
    for (i = 0; i < n; i++) {
        uint32_t start = (uint32_t)(keys[i] >> 16);
        unsigned len = (unsigned)(keys[i] >> 8) & 0xff;
        uint8_t action = (uint8_t)keys[i];
        while (depth > 0 && stack[depth - 1].end < start) {
            uint32_t end = stack[--depth].end;
            emit4(t, end + 1, depth ? stack[depth - 1].action : TRIAGE_NONE);
        }
        emit4(t, start, action);
        stack[depth].end = len >= 32 ? start : start | (0xffffffffu >> len);
        stack[depth].action = action;
        depth++;
    }
    while (depth > 0) {
        uint32_t end = stack[--depth].end;
        if (end != 0xffffffffu)
            emit4(t, end + 1, depth ? stack[depth - 1].action : TRIAGE_NONE);
    }
    /* Neighbours with one action are one interval. */
    for (i = 1, k = 1; i < t->n; i++)
        if (t->actions[i] != t->actions[k - 1]) {
            t->starts4[k] = t->starts4[i];
            t->actions[k++] = t->actions[i];
        }
    t->n = k;
    if ((starts = realloc(t->starts4, k * sizeof *starts)) != NULL)
        t->starts4 = starts;
    if ((actions = realloc(t->actions, k)) != NULL)
        t->actions = actions;
    if (make_index(t) < 0) {
        prefix_table_free(t);
        return -1;
    }
    t->slots = on_huge_pages(t->slots, t->slots_used * sizeof *t->slots);
    t->starts4 = on_huge_pages(t->starts4, k * sizeof *t->starts4);
    return 0;
}

void prefix_table_free(struct prefix_table *t)
{
    free(t->starts4);
    free(t->starts6);
    free(t->actions);
    free(t->nodes);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* The action of key x. */
static inline int action_of(const struct prefix_table *t, triage_key x)
{
    const struct index_node *nd;
    const struct index_slot *sl;
    triage_key c;
    unsigned w = t->width;
    if (t->n == 0)
        return TRIAGE_NONE;
    if (t->nodes == NULL)
        return t->actions[last_at_or_below(t, 0, t->n - 1, x)];
    nd = t->nodes;
    for (;;) {
        if (nd->pos > nd->from) {
            c = key_bits(x, w, nd->from, nd->pos - nd->from);
            if (c != nd->common)
                return t->actions[c < nd->common ? nd->lo : nd->hi];
        }
        sl = &t->slots[nd->slots + (size_t)key_bits(x, w, nd->pos, nd->bits)];
        if (sl->lo == INDEX_ACTION)
            return (int)sl->hi;
        if (sl->lo != INDEX_CHILD)
            return t->actions[last_at_or_below(t, sl->lo, sl->hi, x)];
        nd = &t->nodes[sl->hi];
    }
}

int prefix_lookup4(const struct prefix_table *t, uint32_t addr)
{
    return action_of(t, addr);
}

int prefix_lookup6(const struct prefix_table *t, triage_key addr)
{
    return action_of(t, addr);
}

static triage_key key_of_bytes(const uint8_t *b, size_t n)
{
    triage_key k = 0;
    size_t i;
    for (i = 0; i < n; i++)
        k = (k << 8) | b[i];
    return k;
}

/* Dotted-quad IPv4 as ipaddress reads it (four decimal numbers up to 255,
 * no leading zeros): a million addresses in a few milliseconds, where
 * inet_pton takes ten times as long. */
static int parse_ipv4(const char *text, size_t len, unsigned char out[4])
{
    size_t i = 0;
    int part;
    for (part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        if (part > 0) {
            if (i >= len || text[i] != '.')
                return 0;
            i++;
        }
        while (i < len && text[i] >= '0' && text[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(text[i++] - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && text[i - digits] == '0'))
            return 0;
        out[part] = (unsigned char)v;
    }
    return i == len;
}

int prefix_parse(const char *text, size_t len, triage_key *start, unsigned *plen)
{
    char buf[64];
    unsigned char addr[16];
    const char *slash = memchr(text, '/', len);
    size_t alen = slash ? (size_t)(slash - text) : len;
    unsigned width, l = 0;
    size_t i;
    int version;

    if (alen == 0 || alen >= sizeof buf)
        return 0;
    if (parse_ipv4(text, alen, addr)) {
        version = 4, width = 32;
    } else {
        if (memchr(text, 0, alen) != NULL)
            return 0;   /* (inet_pton() would stop at it and take what comes before) */
        memcpy(buf, text, alen);
        buf[alen] = 0;
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return 0;
        version = 6, width = 128;
    }
    if (slash) {
        /* Decimal digits, leading zeros allowed (as ipaddress reads them). */
        if (len - alen - 1 == 0)
            return 0;
        for (i = alen + 1; i < len; i++) {
            if (text[i] < '0' || text[i] > '9')
                return 0;
            if (l <= width)
                l = l * 10 + (unsigned)(text[i] - '0');
        }
        if (l > width)
            return -1;
    } else {
        l = width;
    }
    *start = key_of_bytes(addr, width / 8);
    *plen = l;
    if (l < width && (*start & (all_ones(width) >> l)))
        return -2;
    return version;
}

/* ---- flows --------------------------------------------------------------- */

int flow_table_init(struct flow_table *ft, size_t capacity)
{
    size_t sets = 1;
    memset(ft, 0, sizeof *ft);
    while (sets * FLOW_WAYS < capacity)
        sets <<= 1;
    ft->table = huge_alloc(sets * sizeof *ft->table);
    if (ft->table == NULL)
        return -1;
    ft->sets = sets;
    flow_table_clear(ft);
    return 0;
}

void flow_table_clear(struct flow_table *ft)
{
    if (ft->table != NULL)
        memset(ft->table, 0, ft->sets * sizeof *ft->table);
    ft->flows = 0;
    ft->evicted = 0;
}

void flow_table_free(struct flow_table *ft)
{
    free(ft->table);
    memset(ft, 0, sizeof *ft);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h;
}

static uint64_t flow_hash(const struct flow_key *k)
{
    uint64_t w[4], h = 0x243F6A8885A308D3ULL;
    memcpy(w, k->a, 16);
    memcpy(w + 2, k->b, 16);
    h = mix(h, w[0]);
    h = mix(h, w[1]);
    h = mix(h, w[2]);
    h = mix(h, w[3]);
    h = mix(h, (uint64_t)k->pa << 32 | (uint64_t)k->pb << 16 | (uint64_t)k->proto << 8 | k->version);
    h ^= h >> 29;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 32;
    return h ? h : 1;       /* 0 is an empty way */
}

/* Count a packet of `wirelen` bytes in flow k: the flow's counts before it
 * in *packets and *bytes (0 for a new flow). */
static void flow_count(struct flow_table *ft, const struct flow_key *k, uint32_t wirelen, uint32_t *packets,
                       uint32_t *bytes)
{
    uint64_t key = flow_hash(k);
    struct flow_set *s = &ft->table[(size_t)(key >> 40) & (ft->sets - 1)];
    uint32_t p = 0, b = 0;
    int i, w = FLOW_WAYS - 1;   /* not found: the least recent way, or an empty one */
    for (i = 0; i < FLOW_WAYS; i++) {
        if (s->key[i] == key) {
            w = i;
            p = s->packets[i];
            b = s->bytes[i];
            break;
        }
        if (s->key[i] == 0) {
            w = i;
            break;
        }
    }
    if (i == FLOW_WAYS || s->key[i] == 0) {
        if (s->key[w] != 0)
            ft->evicted++;
        else
            ft->flows++;
    }
    *packets = p;
    *bytes = b;
    /* The flow goes first: the others move down a way, the last falls off. */
    for (i = w; i > 0; i--) {
        s->key[i] = s->key[i - 1];
        s->packets[i] = s->packets[i - 1];
        s->bytes[i] = s->bytes[i - 1];
    }
    s->key[0] = key;
    s->packets[0] = p == UINT32_MAX ? p : p + 1;
    s->bytes[0] = b > UINT32_MAX - wirelen ? UINT32_MAX : b + wirelen;
}

/* The flow of a packet with IP fields: addresses and ports in order, the
 * smaller end first when both directions are one flow. */
static void flow_key(const struct triage *t, const struct packet_fields *f, struct flow_key *k)
{
    uint16_t sp = 0, dp = 0;
    int swap = 0, c;
    memset(k, 0, sizeof *k);
    if (f->present & FIELD_PORTS) {
        sp = f->src_port;
        dp = f->dst_port;
    }
    if (t->bidirectional) {
        c = memcmp(f->src, f->dst, 16);
        swap = c > 0 || (c == 0 && sp > dp);
    }
    memcpy(k->a, swap ? f->dst : f->src, 16);
    memcpy(k->b, swap ? f->src : f->dst, 16);
    k->pa = swap ? dp : sp;
    k->pb = swap ? sp : dp;
    k->proto = (f->present & FIELD_PROTOCOL) ? f->protocol : 0;   /* (an IPv6 header chain not read to its end: 0) */
    k->version = f->ip_version;
}

/* ---- the decision -------------------------------------------------------- */

static inline int address_action(const struct triage *t, const struct packet_fields *f, const uint8_t *addr)
{
    int a;
    if (f->ip_version == 4) {
        uint32_t v4 = (uint32_t)addr[12] << 24 | (uint32_t)addr[13] << 16 | (uint32_t)addr[14] << 8 | addr[15];
        a = prefix_lookup4(&t->v4, v4);
    } else {
        a = prefix_lookup6(&t->v6, key_of_bytes(addr, 16));
    }
    return a;
}

/* The prefix stage: with both addresses, a drop of either drops, else a
 * keep of either keeps; an address no prefix holds has the default. */
static int prefixes_keep(const struct triage *t, const struct packet_fields *f)
{
    int s = TRIAGE_NONE, d = TRIAGE_NONE;
    if (!(f->present & FIELD_IP))
        return t->prefix_default == TRIAGE_KEEP;
    if (t->prefix_match & TRIAGE_SRC)
        s = address_action(t, f, f->src);
    if (t->prefix_match & TRIAGE_DST)
        d = address_action(t, f, f->dst);
    if (s == TRIAGE_DROP || d == TRIAGE_DROP)
        return 0;
    if (s == TRIAGE_KEEP || d == TRIAGE_KEEP)
        return 1;
    return t->prefix_default == TRIAGE_KEEP;
}

static inline int port_in(const uint8_t *set, uint16_t port)
{
    return set[port >> 3] >> (port & 7) & 1;
}

static int ports_keep(const struct triage *t, const struct packet_fields *f)
{
    int match = 0;
    if (f->present & FIELD_PORTS)
        match = ((t->port_match & TRIAGE_SRC) && port_in(t->ports, f->src_port))
             || ((t->port_match & TRIAGE_DST) && port_in(t->ports, f->dst_port));
    return t->port_action == TRIAGE_KEEP ? match : !match;
}

static int flow_head_keeps(struct triage *t, const struct packet_fields *f, uint32_t wirelen)
{
    struct flow_key k;
    uint32_t packets, bytes;
    if (!(f->present & FIELD_IP))
        return 0;   /* in no flow */
    flow_key(t, f, &k);
    flow_count(&t->flows, &k, wirelen, &packets, &bytes);
    return (t->head_packets == 0 || packets < t->head_packets) && (t->head_bytes == 0 || bytes < t->head_bytes);
}

int triage_decide(struct triage *t, const struct packet_fields *f, uint32_t wirelen)
{
    if (!(f->present & FIELD_IP) && t->non_ip != TRIAGE_NONE) {
        if (t->non_ip == TRIAGE_KEEP)
            goto keep;
        t->dropped_non_ip++;
        goto drop;
    }
    if (t->prefix_match && !prefixes_keep(t, f)) {
        t->dropped_prefix++;
        goto drop;
    }
    if (t->ports != NULL && !ports_keep(t, f)) {
        t->dropped_port++;
        goto drop;
    }
    if (t->flow_heads && !flow_head_keeps(t, f, wirelen)) {
        t->dropped_flow++;
        goto drop;
    }
keep:
    t->kept++;
    return 1;
drop:
    t->dropped++;
    return 0;
}

int triage_packet(struct triage *t, const unsigned char *packet, uint32_t caplen, uint32_t wirelen, int dlt)
{
    static const struct fields_options no_community_id = {0, 0};
    struct packet_fields f;
    packet_fields_parse(packet, caplen, dlt, &no_community_id, &f);
    return triage_decide(t, &f, wirelen);
}

int triage_add_prefix(struct triage *t, const char *text, size_t len, int action)
{
    triage_key start;
    unsigned plen;
    int version = prefix_parse(text, len, &start, &plen), k;
    struct prefix_entry *e;
    if (version <= 0)
        return version;
    k = version == 6;
    if (t->pending_n[k] == t->pending_size[k]) {
        size_t size = t->pending_size[k] ? 2 * t->pending_size[k] : 1024;
        void *grown = k ? realloc(t->pending6, size * sizeof *t->pending6)
                        : realloc(t->pending4, size * sizeof *t->pending4);
        if (grown == NULL)
            return -3;
        if (k)
            t->pending6 = grown;
        else
            t->pending4 = grown;
        t->pending_size[k] = size;
    }
    if (!k) {
        t->pending4[t->pending_n[0]++] = prefix_key4((uint32_t)start, plen, (unsigned)action);
        return 4;
    }
    e = &t->pending6[t->pending_n[1]++];
    e->start = start;
    e->len = (uint8_t)plen;
    e->action = (uint8_t)action;
    return 6;
}

static void pending_free(struct triage *t)
{
    free(t->pending4);
    free(t->pending6);
    t->pending4 = NULL;
    t->pending6 = NULL;
    t->pending_n[0] = t->pending_n[1] = t->pending_size[0] = t->pending_size[1] = 0;
}

int triage_build_prefixes(struct triage *t, char conflict[64])
{
    size_t at = 0, used;
    unsigned char bytes[16];
    int rc, i;
    rc = prefix_table_build4(&t->v4, t->pending4, t->pending_n[0], &at);
    if (rc == -2) {
        uint64_t key = t->pending4[at];
        for (i = 0; i < 4; i++)
            bytes[i] = (unsigned char)(key >> (16 + 8 * (3 - i)));
        inet_ntop(AF_INET, bytes, conflict, 48);
        used = strlen(conflict);
        snprintf(conflict + used, 64 - used, "/%u", (unsigned)(key >> 8) & 0xff);
    }
    if (rc == 0) {
        rc = prefix_table_build(&t->v6, 128, t->pending6, t->pending_n[1], &at);
        if (rc == -2) {
            const struct prefix_entry *e = &t->pending6[at];
            for (i = 0; i < 16; i++)
                bytes[i] = (unsigned char)(e->start >> (8 * (15 - i)));
            inet_ntop(AF_INET6, bytes, conflict, 48);
            used = strlen(conflict);
            snprintf(conflict + used, 64 - used, "/%u", e->len);
        }
    }
    pending_free(t);
    return rc;
}

int triage_lookup(const struct triage *t, const char *text, size_t len)
{
    triage_key addr;
    unsigned plen;
    int version;
    if (memchr(text, '/', len) != NULL)
        return -1;
    version = prefix_parse(text, len, &addr, &plen);
    if (version == 4)
        return prefix_lookup4(&t->v4, (uint32_t)addr);
    if (version == 6)
        return prefix_lookup6(&t->v6, addr);
    return -1;
}

void triage_free(struct triage *t)
{
    pending_free(t);
    prefix_table_free(&t->v4);
    prefix_table_free(&t->v6);
    free(t->ports);
    t->ports = NULL;
    flow_table_free(&t->flows);
}
