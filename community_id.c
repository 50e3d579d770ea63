/* The Community ID (community_id.h): SHA-1 of one block, with the CPU's SHA
 * instructions where it has them, its base64 text, and the hasher of a
 * batch's Community IDs with its worker thread. */
#include "community_id.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static inline uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- SHA-1 of a message of at most 55 bytes (one block) ---------------- */

static inline uint32_t rol32(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static void sha1_block_portable(uint32_t state[5], const unsigned char block[64])
{
    uint32_t w[80], a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f, k, t;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = be32(block + 4 * i);
    for (i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

#ifdef HAVE_SHA_NI
/* The same with the SHA extensions, for `count` (1 or 2) blocks at once:
 * four rounds an instruction, and two hashes interleaved so that one's
 * rounds run while the other's wait.  The message words go four to a
 * register, the first in the highest lane; m[k] is words 4k..4k+3, from
 * k = 4 on made of the four before it. */
__attribute__((target("sha,sse4.1,ssse3"), always_inline))
static inline void sha1_blocks_sha_ni_n(uint32_t *state[2], const unsigned char *block[2], const int count)
{
    const __m128i reverse = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i abcd[2], abcd0[2], e0[2], x[2], prev[2], m[2][4];
    int j, k;
    for (j = 0; j < count; j++) {
        abcd0[j] = abcd[j] = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state[j]), 0x1B);
        e0[j] = _mm_set_epi32((int)state[j][4], 0, 0, 0);
        for (k = 0; k < 4; k++)
            m[j][k] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block[j] + 16 * k)), reverse);
        prev[j] = abcd[j];
        abcd[j] = _mm_sha1rnds4_epu32(abcd[j], _mm_add_epi32(e0[j], m[j][0]), 0);
    }
#define SHA1_GROUP(k, func)                                                                            \
    for (j = 0; j < count; j++) {                                                                      \
        if ((k) >= 4)                                                                                  \
            m[j][(k) & 3] = _mm_sha1msg2_epu32(                                                        \
                _mm_xor_si128(_mm_sha1msg1_epu32(m[j][(k) & 3], m[j][((k) + 1) & 3]), m[j][((k) + 2) & 3]), \
                m[j][((k) + 3) & 3]);                                                                  \
        x[j] = _mm_sha1nexte_epu32(prev[j], m[j][(k) & 3]);                                            \
        prev[j] = abcd[j];                                                                             \
        abcd[j] = _mm_sha1rnds4_epu32(abcd[j], x[j], func);                                            \
    }
    SHA1_GROUP(1, 0) SHA1_GROUP(2, 0) SHA1_GROUP(3, 0) SHA1_GROUP(4, 0)
    SHA1_GROUP(5, 1) SHA1_GROUP(6, 1) SHA1_GROUP(7, 1) SHA1_GROUP(8, 1) SHA1_GROUP(9, 1)
    SHA1_GROUP(10, 2) SHA1_GROUP(11, 2) SHA1_GROUP(12, 2) SHA1_GROUP(13, 2) SHA1_GROUP(14, 2)
    SHA1_GROUP(15, 3) SHA1_GROUP(16, 3) SHA1_GROUP(17, 3) SHA1_GROUP(18, 3) SHA1_GROUP(19, 3)
#undef SHA1_GROUP
    for (j = 0; j < count; j++) {
        e0[j] = _mm_sha1nexte_epu32(prev[j], e0[j]);
        abcd[j] = _mm_shuffle_epi32(_mm_add_epi32(abcd[j], abcd0[j]), 0x1B);
        _mm_storeu_si128((__m128i *)state[j], abcd[j]);
        state[j][4] = (uint32_t)_mm_extract_epi32(e0[j], 3);
    }
}

/* (One count each: the loops over the hashes unrolled, their registers kept.) */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha1_blocks_sha_ni(uint32_t *state[2], const unsigned char *block[2], int count)
{
    if (count == 2)
        sha1_blocks_sha_ni_n(state, block, 2);
    else
        sha1_blocks_sha_ni_n(state, block, 1);
}

static int cpu_has_sha(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    if (!(b & (1u << 29)))      /* SHA */
        return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    return (c & (1u << 19)) && (c & (1u << 9));     /* SSE4.1, SSSE3 */
}
#endif

static void sha1_blocks_portable(uint32_t *state[2], const unsigned char *block[2], int count)
{
    int j;
    for (j = 0; j < count; j++)
        sha1_block_portable(state[j], block[j]);
}

typedef void (*sha1_blocks_fn)(uint32_t *state[2], const unsigned char *block[2], int count);

static sha1_blocks_fn sha1_blocks_impl;     /* chosen at the first use */
static int base64_ready;

static void base64_pairs_init(void);

int fields_sha1_hardware(int use)
{
    if (!base64_ready) {
        base64_pairs_init();
        base64_ready = 1;
    }
#ifdef HAVE_SHA_NI
    if (use < 0)
        use = cpu_has_sha();
    if (use && !cpu_has_sha())
        return -1;
    sha1_blocks_impl = use ? sha1_blocks_sha_ni : sha1_blocks_portable;
    return use;
#else
    if (use > 0)
        return -1;
    sha1_blocks_impl = sha1_blocks_portable;
    return 0;
#endif
}

/* Pad a message of at most 55 bytes, already at the start of block, to
 * SHA-1's one block. */
static void sha1_pad(unsigned char block[64], size_t len)
{
    uint64_t bits = (uint64_t)len * 8;
    int i;
    memset(block + len, 0, 64 - len);
    block[len] = 0x80;
    for (i = 0; i < 8; i++)
        block[63 - i] = (unsigned char)(bits >> (8 * i));
}

static const uint32_t SHA1_INIT[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};

/* The digests of one or two padded blocks. */
static void sha1_digests(const unsigned char *block[2], unsigned char *digest[2], int count)
{
    uint32_t s0[5], s1[5];
    uint32_t *state[2] = {s0, s1};
    int i, j;
    if (sha1_blocks_impl == NULL)
        fields_sha1_hardware(-1);
    memcpy(s0, SHA1_INIT, sizeof s0);
    memcpy(s1, SHA1_INIT, sizeof s1);
    sha1_blocks_impl(state, block, count);
    for (j = 0; j < count; j++)
        for (i = 0; i < 5; i++) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            uint32_t be = __builtin_bswap32(state[j][i]);
            memcpy(digest[j] + 4 * i, &be, 4);
#else
            digest[j][4 * i] = (unsigned char)(state[j][i] >> 24);
            digest[j][4 * i + 1] = (unsigned char)(state[j][i] >> 16);
            digest[j][4 * i + 2] = (unsigned char)(state[j][i] >> 8);
            digest[j][4 * i + 3] = (unsigned char)state[j][i];
#endif
        }
}

void fields_sha1(const unsigned char *message, size_t len, unsigned char digest[20])
{
    unsigned char block[64];
    const unsigned char *blocks[2] = {block, block};
    unsigned char *digests[2] = {digest, digest};
    memcpy(block, message, len);        /* (len <= 55: the caller's promise) */
    sha1_pad(block, len);
    sha1_digests(blocks, digests, 1);
}

/* ---- Community ID v1 ----------------------------------------------------- */

/* The ICMP type answering `type` (the spec's table, after Zeek's
 * ICMP4_counterpart/ICMP6_counterpart), or -1 when the message is one-way. */
static int icmp_counterpart(uint8_t protocol, uint8_t type)
{
    if (protocol == 1) {
        switch (type) {
        case 8: return 0;
        case 0: return 8;
        case 13: return 14;
        case 14: return 13;
        case 15: return 16;
        case 16: return 15;
        case 10: return 9;
        case 9: return 10;
        case 17: return 18;
        case 18: return 17;
        }
    } else {
        switch (type) {
        case 128: return 129;
        case 129: return 128;
        case 133: return 134;
        case 134: return 133;
        case 135: return 136;
        case 136: return 135;
        case 130: return 131;
        case 131: return 130;
        case 139: return 140;
        case 140: return 139;
        case 144: return 145;
        case 145: return 144;
        }
    }
    return -1;
}

static const char BASE64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* memcmp()'s sign for two addresses of 4 or 16 bytes, without its call. */
static inline int address_order(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint64_t x, y;
    if (len == 4) {
        uint32_t p = be32(a), q = be32(b);
        return (p > q) - (p < q);
    }
    x = (uint64_t)be32(a) << 32 | be32(a + 4);
    y = (uint64_t)be32(b) << 32 | be32(b + 4);
    if (x == y) {
        x = (uint64_t)be32(a + 8) << 32 | be32(a + 12);
        y = (uint64_t)be32(b + 8) << 32 | be32(b + 12);
    }
    return (x > y) - (x < y);
}

/* The padded SHA-1 block of a flow's Community ID: the seed, the
 * addresses and ports in order (the smaller endpoint first, but for a
 * one-way ICMP message), the protocol, a zero, the ports. */
void community_id_block(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                        uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport,
                        unsigned char block[64])
{
    const uint8_t *a = saddr, *b = daddr;
    uint16_t pa = sport, pb = dport;
    int one_way = 0, order;
    size_t n = 0;
    if (has_ports && (protocol == 1 || protocol == 58)) {
        int other = icmp_counterpart(protocol, (uint8_t)sport);
        if (other >= 0)
            pb = (uint16_t)other;
        else
            one_way = 1;    /* type and code as they are, and no reordering */
    }
    order = address_order(a, b, addr_len);
    if (!one_way && (order > 0 || (order == 0 && pa > pb))) {
        uint16_t t = pa;
        a = daddr;
        b = saddr;
        pa = pb;
        pb = t;
    }
    block[n++] = (unsigned char)(seed >> 8);
    block[n++] = (unsigned char)seed;
    memcpy(block + n, a, addr_len);
    n += addr_len;
    memcpy(block + n, b, addr_len);
    n += addr_len;
    block[n++] = protocol;
    block[n++] = 0;
    if (has_ports) {
        block[n++] = (unsigned char)(pa >> 8);
        block[n++] = (unsigned char)pa;
        block[n++] = (unsigned char)(pb >> 8);
        block[n++] = (unsigned char)pb;
    }
    sha1_pad(block, n);
}

/* Base64's characters for each 12 bits, two at a time (made at the first
 * fields_sha1_hardware()). */
static char BASE64_PAIRS[4096][2];

static void base64_pairs_init(void)
{
    int v;
    for (v = 0; v < 4096; v++) {
        BASE64_PAIRS[v][0] = BASE64[v >> 6];
        BASE64_PAIRS[v][1] = BASE64[v & 63];
    }
}

/* "1:" and the base64 of a digest: 30 characters. */
static void community_id_text(const unsigned char digest[20], char *out)
{
    int i;
    out[0] = '1';
    out[1] = ':';
    for (i = 0; i < 7; i++) {   /* 20 bytes: six groups of three, then two and '=' */
        uint32_t v = (uint32_t)digest[3 * i] << 16 | (uint32_t)digest[3 * i + 1] << 8 |
                     (i < 6 ? digest[3 * i + 2] : 0);
        memcpy(out + 2 + 4 * i, BASE64_PAIRS[v >> 12], 2);
        memcpy(out + 4 + 4 * i, BASE64_PAIRS[v & 4095], 2);
    }
    out[29] = '=';
}

void community_id_v1(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                     uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport, char out[32])
{
    unsigned char block[64], digest[20];
    const unsigned char *blocks[2] = {block, block};
    unsigned char *digests[2] = {digest, digest};
    community_id_block(seed, saddr, daddr, addr_len, protocol, has_ports, sport, dport, block);
    sha1_digests(blocks, digests, 1);
    community_id_text(digest, out);
    out[30] = out[31] = 0;
}

/* ---- the hasher of a batch ----------------------------------------------- */

/* A worker needs a thread and atomics: GCC's and clang's builtins (MinGW's
 * too); without them (MSVC) the filler hashes every block itself. */
#if defined(__GNUC__) || defined(__clang__)
#define HAVE_WORKER 1
#define LOAD_ACQUIRE(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_RELEASE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define LOAD_SC(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE_SC(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#if defined(_WIN32)
#include <windows.h>
typedef HANDLE worker_thread;
typedef SRWLOCK worker_lock;
typedef CONDITION_VARIABLE worker_cond;
#else
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
typedef pthread_t worker_thread;
typedef pthread_mutex_t worker_lock;
typedef pthread_cond_t worker_cond;
#endif
#endif

struct community_id_job {
    struct community_id_flow flow;
    char *out;
};

/* The filler's fields, then (a cache line apart, so that neither side's
 * writes evict the other's reads) what the filler tells the worker, and
 * what the worker tells the filler. */
struct community_id_ring {
    struct community_id_job jobs[COMMUNITY_ID_RING];
    size_t head;                /* blocks committed */
    size_t tail_seen;           /* tail, as the filler last read it */
    size_t hashed;              /* blocks the filler hashed from the ring itself (no worker) */
    int worker;                 /* a worker thread runs */
#ifdef HAVE_WORKER
    worker_thread thread;
    worker_lock lock;           /* with wake: where the worker sleeps when it has caught up */
    worker_cond wake;
#endif
    char gap1[64];
    size_t published;           /* head as the worker may see it */
    int done;                   /* no more blocks: hash the rest and return */
    char gap2[64];
    size_t tail;                /* blocks the worker hashed */
    int sleeping;               /* the worker waits for wake */
    const struct community_id_hasher *hasher;   /* its regions, for the worker */
    size_t head_at_start;       /* where the fill was when the worker started */
};

static void flow_block(const struct community_id_flow *f, unsigned char block[64])
{
    community_id_block(f->seed, f->saddr, f->daddr, f->addr_len, f->protocol, f->has_ports, f->sport, f->dport,
                       block);
}

/* Hash jobs [from, to) of the ring, two at a time. */
static void ring_hash(struct community_id_ring *r, size_t from, size_t to)
{
    while (from < to) {
        struct community_id_job *a = &r->jobs[from % COMMUNITY_ID_RING], *b = a;
        unsigned char d0[20], d1[20], b0[64], b1[64];
        int count = to - from >= 2 ? 2 : 1;
        flow_block(&a->flow, b0);
        if (count == 2) {
            b = &r->jobs[(from + 1) % COMMUNITY_ID_RING];
            flow_block(&b->flow, b1);
        }
        {
            const unsigned char *blocks[2] = {b0, b1};
            unsigned char *digests[2] = {d0, d1};
            sha1_digests(blocks, digests, count);
        }
        community_id_text(d0, a->out);
        if (count == 2)
            community_id_text(d1, b->out);
        from += (size_t)count;
    }
}

static int worker_mode = -1;

int community_id_worker_mode(int mode)
{
    int before = worker_mode;
    worker_mode = mode;
    return before;
}

#ifdef HAVE_WORKER
/* Whether the machine has a second CPU for the worker (asked once). */
static int second_cpu(void)
{
    static int cpus;
    if (cpus == 0) {
#if defined(_WIN32)
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        cpus = (int)info.dwNumberOfProcessors;
#else
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = n > 0 ? (int)n : 1;
#endif
    }
    return cpus > 1;
}

/* The worker has caught up: spin a while (the filler publishes every 16
 * flows, about a microsecond: spinning some tens of microseconds, the
 * worker sleeps only when the fill stalls, waiting for packets), then
 * sleep until the filler publishes more or is done.  The filler wakes it when it sees `sleeping` after publishing;
 * both sides' store then load are sequentially consistent, so one of them
 * sees the other's (no wake-up lost). */
static void worker_wait(struct community_id_ring *r, size_t tail)
{
    int spins;
    for (spins = 0; spins < 2048; spins++) {
        if (LOAD_ACQUIRE(&r->published) != tail || LOAD_ACQUIRE(&r->done))
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
#if defined(_WIN32)
    AcquireSRWLockExclusive(&r->lock);
    STORE_SC(&r->sleeping, 1);
    while (LOAD_SC(&r->published) == tail && !LOAD_SC(&r->done))
        SleepConditionVariableSRW(&r->wake, &r->lock, INFINITE, 0);
    STORE_SC(&r->sleeping, 0);
    ReleaseSRWLockExclusive(&r->lock);
#else
    pthread_mutex_lock(&r->lock);
    STORE_SC(&r->sleeping, 1);
    while (LOAD_SC(&r->published) == tail && !LOAD_SC(&r->done))
        pthread_cond_wait(&r->wake, &r->lock);
    STORE_SC(&r->sleeping, 0);
    pthread_mutex_unlock(&r->lock);
#endif
}

/* The filler: publish what it committed, and wake the worker if it sleeps. */
static void worker_publish(struct community_id_ring *r, size_t head)
{
    STORE_SC(&r->published, head);
    if (!LOAD_SC(&r->sleeping))
        return;
#if defined(_WIN32)
    AcquireSRWLockExclusive(&r->lock);
    WakeConditionVariable(&r->wake);
    ReleaseSRWLockExclusive(&r->lock);
#else
    pthread_mutex_lock(&r->lock);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
#endif
}

/* Map in the pages of the regions' packets [from, to): 0, or -1 when the
 * kernel cannot (older than Linux 5.14, or not Linux). */
static int prefault(const struct community_id_hasher *h, size_t from, size_t to)
{
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    static long page;
    size_t i;
    if (page == 0)
        page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
    for (i = 0; i < h->nregions; i++) {
        uintptr_t a = (uintptr_t)(h->regions[i].base + from * h->regions[i].per_packet);
        uintptr_t b = (uintptr_t)(h->regions[i].base + to * h->regions[i].per_packet);
        /* (Rounded out to whole pages: the first and the last are the
         * region's own, in the same mapping.) */
        a &= ~(uintptr_t)(page - 1);
        b = (b + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
        if (b > a && madvise((void *)a, b - a, MADV_POPULATE_WRITE) != 0)
            return -1;
    }
    return 0;
#else
    (void)h, (void)from, (void)to;
    return -1;
#endif
}

#define PREFAULT_CHUNK 2048         /* packets' pages mapped in at a time */
/* At most this many packets ahead of the flows published.  (The flows are
 * counted, not the packets: where some packets have no Community ID the
 * mapping falls behind the fill, and mapping pages the fill has touched
 * already costs little.) */
#define PREFAULT_AHEAD 16384

/* The worker: maps in the pages the fill will write next, a chunk at a
 * time, and hashes the flows as they are published, until done (mode 2:
 * from done on). */
static void worker_run(struct community_id_ring *r)
{
    size_t tail = r->tail, head;     /* (set before the thread started) */
    const struct community_id_hasher *h = r->hasher;
    size_t mapped = r->head_at_start, capacity = h->nregions ? h->capacity : 0;
    if (worker_mode == 2)
        while (!LOAD_ACQUIRE(&r->done))
            worker_wait(r, LOAD_ACQUIRE(&r->published));
    for (;;) {
        head = LOAD_ACQUIRE(&r->published);
        if (mapped < capacity && mapped < head + PREFAULT_AHEAD && !LOAD_ACQUIRE(&r->done)) {
            size_t to = mapped + PREFAULT_CHUNK < capacity ? mapped + PREFAULT_CHUNK : capacity;
            if (prefault(h, mapped, to) != 0)
                capacity = 0;
            mapped = to;
        }
        if (head == tail) {
            if (LOAD_ACQUIRE(&r->done) && LOAD_ACQUIRE(&r->published) == tail)
                return;
            if (mapped < capacity && mapped < head + PREFAULT_AHEAD)
                continue;   /* (more to map in before waiting) */
            worker_wait(r, tail);
            continue;
        }
        while (tail < head) {
            size_t to = head - tail > 16 ? tail + 16 : head;
            ring_hash(r, tail, to);
            tail = to;
            STORE_RELEASE(&r->tail, tail);
        }
    }
}

#if defined(_WIN32)
static DWORD WINAPI worker_main(LPVOID arg)
{
    worker_run(arg);
    return 0;
}

static int worker_start(struct community_id_ring *r)
{
    InitializeSRWLock(&r->lock);
    InitializeConditionVariable(&r->wake);
    r->thread = CreateThread(NULL, 0, worker_main, r, 0, NULL);
    return r->thread != NULL;
}

static void worker_join(struct community_id_ring *r)
{
    WaitForSingleObject(r->thread, INFINITE);
    CloseHandle(r->thread);
}
#else
static void *worker_main(void *arg)
{
    worker_run(arg);
    return NULL;
}

static int worker_start(struct community_id_ring *r)
{
    if (pthread_mutex_init(&r->lock, NULL) != 0)
        return 0;
    if (pthread_cond_init(&r->wake, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        return 0;
    }
    if (pthread_create(&r->thread, NULL, worker_main, r) == 0)
        return 1;
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    return 0;
}

static void worker_join(struct community_id_ring *r)
{
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
}
#endif
#endif

/* The ring a batch finished with, kept for the next one (one is enough:
 * batches are filled one after the other, but for readers on several
 * threads): a fresh ring's 200 KB would be faulted in again each batch. */
#ifdef HAVE_WORKER
static struct community_id_ring *spare_ring;

static struct community_id_ring *ring_alloc(void)
{
    struct community_id_ring *r = __atomic_exchange_n(&spare_ring, NULL, __ATOMIC_ACQ_REL);
    return r != NULL ? r : malloc(sizeof *r);
}

static void ring_free(struct community_id_ring *r)
{
    free(__atomic_exchange_n(&spare_ring, r, __ATOMIC_ACQ_REL));
}
#else
#define ring_alloc() malloc(sizeof(struct community_id_ring))
#define ring_free free
#endif

struct community_id_flow *community_id_hasher_slot(struct community_id_hasher *h, char *out)
{
    struct community_id_ring *r = h->ring;
    struct community_id_job *job;
    if (r == NULL) {
        r = h->ring = ring_alloc();
        if (r == NULL)
            return NULL;
        r->head = r->tail_seen = r->hashed = r->published = r->tail = 0;
        r->worker = r->done = r->sleeping = 0;
    }
    if (r->head - r->tail_seen >= COMMUNITY_ID_RING) {
        if (!r->worker) {
            /* Nobody else hashes them: make room by hashing them all. */
            ring_hash(r, r->tail_seen, r->head);
            r->tail_seen = r->hashed = r->head;
        } else {
#ifdef HAVE_WORKER
            r->tail_seen = LOAD_ACQUIRE(&r->tail);
#endif
            if (r->head - r->tail_seen >= COMMUNITY_ID_RING)
                return NULL;
        }
    }
    job = &r->jobs[r->head % COMMUNITY_ID_RING];
    job->out = out;
    return &job->flow;
}

void community_id_hasher_commit(struct community_id_hasher *h)
{
    struct community_id_ring *r = h->ring;
    r->head++;
#ifdef HAVE_WORKER
    if (r->worker) {
        if ((r->head & 15) == 0)
            worker_publish(r, r->head);
    } else if (r->head - r->hashed == COMMUNITY_ID_WORKER_START || (worker_mode == 1 && r->head - r->hashed == 1)) {
        if (worker_mode > 0 || (worker_mode < 0 && second_cpu())) {
            /* The worker starts where the filler's own hashing left off. */
            r->tail = r->hashed;
            r->published = r->head;
            r->hasher = h;
            r->head_at_start = r->head;
            r->worker = worker_start(r);
        }
    }
#endif
}

void community_id_hasher_finish(struct community_id_hasher *h)
{
    struct community_id_ring *r = h->ring;
    if (r == NULL)
        return;
#ifdef HAVE_WORKER
    if (r->worker) {
        STORE_SC(&r->published, r->head);
        STORE_SC(&r->done, 1);
        worker_publish(r, r->head);     /* (again: to wake it) */
        worker_join(r);
        /* (What the worker left, if anything, the filler hashes below.) */
        r->hashed = r->tail;
    }
#endif
    ring_hash(r, r->hashed, r->head);
    ring_free(r);
    h->ring = NULL;
}
