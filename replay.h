/* Sending packets onto an interface at a pace: the timing loop of
 * pcap.replay(), run without the GIL in bounded slices.
 *
 * A slice sends the packets of one batch (next_batch()'s records and
 * bytes, or an Arrow table's columns) until the batch is done, the slice's
 * end is reached (the caller then runs Python's signal handlers, looks at
 * close() and breakloop(), and calls again), or the replay's stop time.
 * Each packet's send time is an absolute deadline on CLOCK_MONOTONIC
 * (the first packet's send time, plus its gap in the file divided by the
 * speed, or its index times the interval of a packet rate), so that a
 * packet sent late does not delay the ones after it.  Nothing here calls
 * Python. */
#ifndef REPLAY_H
#define REPLAY_H

#include <pcap.h>
#include <stddef.h>
#include <stdint.h>

enum replay_mode {
    REPLAY_TOP = 0,         /* as fast as the interface takes them */
    REPLAY_SPEED = 1,       /* the file's gaps divided by speed */
    REPLAY_RATE = 2,        /* one packet every interval_ns */
};

/* Why replay_slice() returned. */
enum {
    REPLAY_BATCH_DONE = 0,  /* every packet of the batch handled */
    REPLAY_SLICE_END = 1,   /* the slice's time is up: call again */
    REPLAY_STOP_TIME = 2,   /* the next packet is due after the stop time */
    REPLAY_IDLE = 3,        /* the next packet is due at due_ns, more than REPLAY_IDLE_NS away */
};

/* A wait longer than this is left to the caller, who sleeps until about
 * a millisecond before the packet is due, with the GIL released and the
 * handle free for other threads' calls (stats(), breakloop()...), then
 * calls again for the exact wait. */
#define REPLAY_IDLE_NS 3000000

/* The last part of a wait shorter than this is spent spinning on the
 * clock, not sleeping: a sleep ends up to the timer slack (50 us for a
 * normal thread) late, which is as long as the gaps of a fast file. */
#define REPLAY_SPIN_NS 60000

/* One batch of packets, in one of two layouts: fixed records of
 * record_size bytes (struct batch_record first: time stamp, caplen,
 * wirelen, offset of the bytes in data), or Arrow columns (stamps, and
 * n + 1 offsets into data, int32 or int64). */
struct replay_batch {
    size_t n;
    const unsigned char *records;   /* NULL: the columns */
    size_t record_size;
    const int64_t *stamps;
    const void *offsets;
    int wide_offsets;
    const unsigned char *data;
    size_t data_len;
};

/* The state of a replay, across batches and slices, and what it sent. */
struct replay_state {
    int mode;
    double speed;
    int64_t interval_ns;
    int64_t spin_ns;
    int started;            /* origin_* hold the first packet's time stamp and send time */
    int64_t origin_stamp;
    int64_t origin_mono;
    uint64_t paced;         /* packets paced since the origin (REPLAY_RATE) */
    /* what was sent */
    uint64_t packets;
    uint64_t bytes;
    uint64_t failures;      /* packets the interface refused */
    uint64_t oversized;     /* of those, refused as longer than the MTU (EMSGSIZE) */
    uint64_t retries;       /* sends tried again after ENOBUFS or EAGAIN (a full queue) */
    uint64_t handled;       /* packets sent or refused */
    uint64_t first_failed;  /* the index (in handled) of the first refused packet */
    uint32_t first_failed_len;
    int first_errno;
    char first_error[PCAP_ERRBUF_SIZE];
    int64_t late_ns;        /* the most a packet went out after its deadline */
    int64_t due_ns;         /* REPLAY_IDLE: when the next packet is due */
};

/* Set up a state: mode, speed (REPLAY_SPEED), interval (REPLAY_RATE). */
void replay_init(struct replay_state *st, int mode, double speed, int64_t interval_ns);

/* A new pass over a source: at the file's pace, the next packet is sent
 * at once and paced from there; at a rate, the cadence goes on. */
void replay_restart(struct replay_state *st);

/* Send packets *next.. of b on p, paced, until the batch is done, the
 * monotonic clock reaches slice_end_ns, or a packet is due after stop_ns
 * (0: no stop), or more than REPLAY_IDLE_NS from now.  *next is where the
 * next call goes on.  Waits at most REPLAY_IDLE_NS, or a full queue's
 * millisecond, past slice_end_ns.  A packet the interface refuses is counted (the first
 * one's message kept) and passed; ENOBUFS and EAGAIN (the device's queue
 * full) are waited out and the packet sent again. */
int replay_slice(pcap_t *p, struct replay_state *st, const struct replay_batch *b, size_t *next,
                 int64_t slice_end_ns, int64_t stop_ns);

/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t replay_now_ns(void);

#endif
