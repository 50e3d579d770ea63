#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <poll.h>
#endif

#include "packet_batch.h"

#ifdef _WIN32
int64_t replay_now_ns(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;
    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    return (int64_t)((double)now.QuadPart * 1e9 / (double)frequency.QuadPart);
}
#else
int64_t replay_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#endif

void replay_init(struct replay_state *st, int mode, double speed, int64_t interval_ns)
{
    memset(st, 0, sizeof *st);
    st->mode = mode;
    st->speed = speed;
    st->interval_ns = interval_ns;
    st->spin_ns = REPLAY_SPIN_NS;
}

void replay_restart(struct replay_state *st)
{
    /* At a rate the cadence goes on across passes; at the file's pace the
     * next pass starts at once, from its own first packet. */
    if (st->mode != REPLAY_RATE) {
        st->started = 0;
        st->paced = 0;
    }
}

/* Sleep until the monotonic clock reads `until`, the last spin_ns spent
 * spinning. */
static void wait_until(int64_t until, int64_t spin_ns)
{
    int64_t now = replay_now_ns();
    if (until - now > spin_ns) {
#ifdef _WIN32
        /* (Sleep() counts whole milliseconds, at the timer's resolution:
         * the spin makes up the rest.) */
        Sleep((DWORD)((until - spin_ns - now) / 1000000));
#else
        struct timespec ts;
        int64_t wake = until - spin_ns;
        ts.tv_sec = (time_t)(wake / 1000000000LL);
        ts.tv_nsec = (long)(wake % 1000000000LL);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
#endif
    }
    while (replay_now_ns() < until)
        ;
}

static int packet_of(const struct replay_batch *b, size_t i, int64_t *stamp, const unsigned char **bytes,
                     uint32_t *len)
{
    uint64_t start, end;
    if (b->records != NULL) {
        const unsigned char *r = b->records + i * b->record_size;
        uint32_t caplen;
        memcpy(stamp, r + offsetof(struct batch_record, timestamp_ns), sizeof *stamp);
        memcpy(&caplen, r + offsetof(struct batch_record, caplen), sizeof caplen);
        memcpy(&start, r + offsetof(struct batch_record, offset), sizeof start);
        end = start + caplen;
    } else {
        *stamp = b->stamps[i];
        if (b->wide_offsets) {
            start = (uint64_t)((const int64_t *)b->offsets)[i];
            end = (uint64_t)((const int64_t *)b->offsets)[i + 1];
        } else {
            start = (uint64_t)(uint32_t)((const int32_t *)b->offsets)[i];
            end = (uint64_t)(uint32_t)((const int32_t *)b->offsets)[i + 1];
        }
    }
    if (end < start || end > b->data_len || end - start > 0x7fffffff)
        return -1;
    *bytes = b->data + start;
    *len = (uint32_t)(end - start);
    return 0;
}

int replay_slice(pcap_t *p, struct replay_state *st, const struct replay_batch *b, size_t *next,
                 int64_t slice_end_ns, int64_t stop_ns)
{
    size_t i;
    for (i = *next; i < b->n; i++) {
        int64_t stamp, due, now;
        const unsigned char *bytes;
        uint32_t len;
        int rc, err;
        if (packet_of(b, i, &stamp, &bytes, &len) < 0) {
            /* A record pointing outside the data: refused, as a send would be. */
            if (st->failures++ == 0) {
                st->first_failed = st->handled;
                st->first_failed_len = 0;
                st->first_errno = EINVAL;
                snprintf(st->first_error, sizeof st->first_error,
                         "the packet's bytes are not within the batch's data");
            }
            st->handled++;
            continue;
        }
        now = replay_now_ns();
        if (!st->started) {
            st->started = 1;
            st->origin_stamp = stamp;
            st->origin_mono = now;
            st->paced = 0;
        }
        if (st->mode == REPLAY_SPEED)
            due = st->origin_mono + (int64_t)((double)(stamp - st->origin_stamp) / st->speed);
        else if (st->mode == REPLAY_RATE)
            due = st->origin_mono + (int64_t)st->paced * st->interval_ns;
        else
            due = now;
        if (stop_ns && due >= stop_ns) {
            *next = i;
            return REPLAY_STOP_TIME;
        }
        if (now >= slice_end_ns) {
            *next = i;
            return REPLAY_SLICE_END;
        }
        if (due - now > REPLAY_IDLE_NS) {
            /* A long wait: the caller's, with the handle free for others. */
            st->due_ns = due;
            *next = i;
            return REPLAY_IDLE;
        }
        if (due > now)
            wait_until(due, st->spin_ns);
        for (;;) {
            errno = 0;
            rc = pcap_inject(p, bytes, len);
            err = errno;
            if (rc >= 0 || (err != ENOBUFS && err != EAGAIN))
                break;
            /* The device's queue is full: wait for room, then send again
             * (as tcpreplay does), within the slice. */
            st->retries++;
            if (replay_now_ns() >= slice_end_ns) {
                *next = i;
                return REPLAY_SLICE_END;
            }
            {
#ifdef _WIN32
                Sleep(1);   /* (no descriptor to wait on for room) */
#else
                struct pollfd pfd;
                pfd.fd = pcap_get_selectable_fd(p);
                pfd.events = POLLOUT;
                pfd.revents = 0;
                poll(&pfd, 1, 1);
#endif
            }
        }
        now = replay_now_ns();
        if (due > 0 && st->mode != REPLAY_TOP && now - due > st->late_ns)
            st->late_ns = now - due;
        if (rc >= 0) {
            st->packets++;
            st->bytes += len;
        } else {
            if (err == EMSGSIZE)
                st->oversized++;
            if (st->failures++ == 0) {
                st->first_failed = st->handled;
                st->first_failed_len = len;
                st->first_errno = err;
                strncpy(st->first_error, pcap_geterr(p), sizeof st->first_error - 1);
                st->first_error[sizeof st->first_error - 1] = '\0';
            }
        }
        st->paced++;
        st->handled++;
    }
    *next = i;
    return REPLAY_BATCH_DONE;
}
