/* The Community ID (v1) of a flow: SHA-1 of one block (with the CPU's SHA
 * instructions where it has them, else in plain C), its base64 text, and a
 * hasher that takes a batch's Community IDs one at a time and hashes them
 * two at a time, on a second thread where the batch is large and the
 * machine has a second CPU.  Nothing here calls Python. */
#ifndef COMMUNITY_ID_H
#define COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

/* The padded SHA-1 block of a flow's Community ID, as the reference
 * (corelight's community-id-spec) makes it: addresses of `addr_len` bytes
 * (4 or 16), ports ignored when has_ports is 0; for ICMP and ICMPv6
 * (protocol 1, 58) sport and dport are the type and code, mapped as the
 * spec maps them. */
void community_id_block(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                        uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport,
                        unsigned char block[64]);

/* The Community ID of a flow: writes the 30 characters and two NULs. */
void community_id_v1(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
                     uint8_t protocol, int has_ports, uint16_t sport, uint16_t dport, char out[32]);

/* SHA-1 of a message of at most 55 bytes, with the CPU's SHA instructions
 * when fields_sha1_hardware() chose them (it chooses by itself at the first
 * use: use < 0 takes them where the CPU has them, 0 never, 1 always);
 * fields_sha1_hardware() returns what it chose, -1 when the CPU lacks them. */
void fields_sha1(const unsigned char *message, size_t len, unsigned char digest[20]);
int fields_sha1_hardware(int use);

/* ---- a batch's Community IDs ----------------------------------------------
 * The hasher takes flows one at a time, each with where its text goes; the
 * text is there once community_id_hasher_finish() returns.  The flows wait
 * in a ring: past COMMUNITY_ID_WORKER_START of them a worker thread starts
 * and hashes them as they come, while the fill goes on parsing; when the
 * ring is full the caller hashes its own.  Without a second CPU, a thread,
 * or the atomics they need, the caller hashes them all two at a time in
 * finish.  A hasher is zeroed before its first use; finish() may be called
 * again, and leaves it ready for another batch. */
#define COMMUNITY_ID_RING 4096
#define COMMUNITY_ID_WORKER_START 256

struct community_id_ring;

#define COMMUNITY_ID_PREFAULT_REGIONS 24

/* Memory the batch's fill will write, packet by packet: `per_packet` bytes
 * a packet from `base`, for `capacity` packets.  A worker, which waits for
 * the fill about half its time, maps the pages of these in ahead of the
 * fill (Linux's MADV_POPULATE_WRITE), so that the fill does not stop for
 * the kernel at each new page. */
struct community_id_region {
    unsigned char *base;
    size_t per_packet;
};

struct community_id_hasher {
    struct community_id_ring *ring;     /* allocated at the first add; NULL: none */
    struct community_id_region regions[COMMUNITY_ID_PREFAULT_REGIONS];
    size_t nregions, capacity;          /* set by the plan's maker; 0: none */
};

/* A flow whose Community ID the hasher makes (the arguments of
 * community_id_block()): the worker builds its block too. */
struct community_id_flow {
    uint8_t saddr[16], daddr[16];   /* addr_len bytes each */
    uint16_t seed, sport, dport;
    uint8_t addr_len, protocol, has_ports;
};

/* A slot for the next flow (fill it in), its text to go to out; NULL when
 * the ring is full or cannot be allocated: then make it yourself with
 * community_id_v1(). */
struct community_id_flow *community_id_hasher_slot(struct community_id_hasher *h, char *out);
/* The flow written to the slot is complete. */
void community_id_hasher_commit(struct community_id_hasher *h);
void community_id_hasher_finish(struct community_id_hasher *h);

/* Whether a worker thread hashes large batches: -1 as the machine allows
 * (the default: a second CPU), 0 never, 1 always from the first block, 2
 * always, the worker waiting for finish before it starts (the ring fills:
 * for the tests).  Returns the setting before. */
int community_id_worker_mode(int mode);

#endif
