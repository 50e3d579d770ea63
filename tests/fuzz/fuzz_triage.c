/* libFuzzer harness: arbitrary text as the prefixes of a triage (triage.c),
 * one a line, the line's first character its action ('-' drop, anything
 * else keep), the rest the prefix as prefix_parse() reads it.
 *
 * Promises checked:
 * - prefix_parse() reads an IPv4 address as inet_pton() does (both refuse
 *   leading zeros), an IPv6 one as inet_pton() does, and a length only
 *   when it is decimal digits (leading zeros allowed, as ipaddress reads
 *   them) worth 0 to the width; host bits set are refused;
 * - the built tables give every address the action of the longest prefix
 *   that holds it, as a search of every prefix given finds it: at the
 *   first and last address of each prefix, just outside them, and at
 *   addresses taken from the input;
 * - a prefix given with both actions is the only reason the build refuses.
 * Build and run: tests/fuzzing.py. */
#include "fuzz_common.h"

#include <arpa/inet.h>

#include "triage.h"

#define MAX_PREFIXES 512

struct given {
    triage_key start;
    unsigned len, width;
    int action;
};

static triage_key key_of(const unsigned char *b, int n)
{
    triage_key k = 0;
    int i;
    for (i = 0; i < n; i++)
        k = k << 8 | b[i];
    return k;
}

static triage_key ones(unsigned width)
{
    return width >= 128 ? ~(triage_key)0 : (((triage_key)1 << width) - 1);
}

static triage_key last_of(const struct given *g)
{
    return g->len >= g->width ? g->start : g->start | (ones(g->width) >> g->len);
}

/* The action of the longest prefix of `width` holding x, by a search of them all. */
static int reference(const struct given *g, size_t n, unsigned width, triage_key x)
{
    int action = TRIAGE_NONE, best = -1;
    size_t i;
    for (i = 0; i < n; i++)
        if (g[i].width == width && g[i].start <= x && x <= last_of(&g[i]) && (int)g[i].len > best) {
            best = (int)g[i].len;
            action = g[i].action;
        }
    return action;
}

static void check(const struct triage *t, const struct given *g, size_t n, unsigned width, triage_key x)
{
    x &= ones(width);
    if (width == 32)
        PROMISE(prefix_lookup4(&t->v4, (uint32_t)x) == reference(g, n, 32, x));
    else
        PROMISE(prefix_lookup6(&t->v6, x) == reference(g, n, 128, x));
}

/* What prefix_parse() must say of `text`: inet_pton() for the address,
 * the length's digits by hand. */
static void check_parse(const char *text, size_t len, int got, triage_key start, unsigned plen)
{
    char addr[64];
    unsigned char bytes[16];
    const char *slash = memchr(text, '/', len);
    size_t alen = slash ? (size_t)(slash - text) : len, i;
    unsigned width = 0, l = 0;
    int ok4, ok6, digits_ok = 1;
    if (alen == 0 || alen >= sizeof addr || memchr(text, 0, len) != NULL) {
        PROMISE(got == 0);
        return;
    }
    memcpy(addr, text, alen);
    addr[alen] = 0;
    ok4 = inet_pton(AF_INET, addr, bytes) == 1;
    ok6 = !ok4 && inet_pton(AF_INET6, addr, bytes) == 1;
    if (!ok4 && !ok6) {
        PROMISE(got == 0);
        return;
    }
    width = ok4 ? 32 : 128;
    if (slash) {
        if (len - alen - 1 == 0) {
            PROMISE(got == 0);
            return;
        }
        for (i = alen + 1; i < len; i++)
            if (text[i] < '0' || text[i] > '9')
                digits_ok = 0;
        if (!digits_ok) {
            PROMISE(got == 0);
            return;
        }
        for (i = alen + 1; i < len && l <= width; i++)
            l = l * 10 + (unsigned)(text[i] - '0');
        if (l > width) {
            PROMISE(got == -1);
            return;
        }
    } else {
        l = width;
    }
    if (l < width && (key_of(bytes, (int)width / 8) & (ones(width) >> l))) {
        PROMISE(got == -2);
        return;
    }
    PROMISE(got == (ok4 ? 4 : 6));
    PROMISE(start == key_of(bytes, (int)width / 8) && plen == l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct given given[MAX_PREFIXES];
    struct triage t;
    char conflict[64];
    size_t n = 0, at = 0, i, j;
    int rc, conflicted = 0;

    memset(&t, 0, sizeof t);
    while (at < size && n < MAX_PREFIXES) {
        const uint8_t *line = data + at, *end = memchr(line, '\n', size - at);
        size_t len = end ? (size_t)(end - line) : size - at;
        at += len + 1;
        if (len < 1)
            continue;
        {
            const char *text = (const char *)line + 1;
            int action = line[0] == '-' ? TRIAGE_DROP : TRIAGE_KEEP;
            triage_key start = 0;
            unsigned plen = 0;
            int version = prefix_parse(text, len - 1, &start, &plen);
            check_parse(text, len - 1, version, start, plen);
            rc = triage_add_prefix(&t, text, len - 1, action);
            PROMISE(rc == version);
            if (version <= 0)
                continue;
            for (i = 0; i < n; i++)
                if (given[i].width == (version == 4 ? 32u : 128u) && given[i].start == start
                    && given[i].len == plen && given[i].action != action)
                    conflicted = 1;
            given[n].start = start;
            given[n].len = plen;
            given[n].width = version == 4 ? 32 : 128;
            given[n].action = action;
            n++;
        }
    }
    rc = triage_build_prefixes(&t, conflict);
    PROMISE(rc == 0 || rc == -2);
    PROMISE((rc == -2) == conflicted);
    if (rc == 0) {
        for (i = 0; i < n; i++) {
            triage_key first = given[i].start, last = last_of(&given[i]);
            check(&t, given, n, given[i].width, first);
            check(&t, given, n, given[i].width, last);
            check(&t, given, n, given[i].width, first - 1);
            check(&t, given, n, given[i].width, last + 1);
            check(&t, given, n, given[i].width, first + (last - first) / 2);
        }
        for (j = 0; j + 16 <= size; j += 16) {
            check(&t, given, n, 32, key_of(data + j, 4));
            check(&t, given, n, 128, key_of(data + j, 16));
        }
    }
    triage_free(&t);
    return 0;
}
