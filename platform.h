/* What differs by platform, decided here once, at compile time: every other
 * file asks these macros, never the compiler's platform macros.
 *
 * PCAP_SIMULATE_PORTABLE (a build switch, -DPCAP_SIMULATE_PORTABLE in
 * CFLAGS; tools/simulate_platform.py) makes a Linux build take every
 * non-Linux branch that can run on Linux: a live handle waits in bounded
 * slices without its selectable descriptor, savefiles are read without a
 * FILE over our buffer (as on Windows), and the Linux-only features are
 * off.  docs/platform-internals.md says what each platform does. */
#ifndef PLATFORM_H
#define PLATFORM_H

#if defined(PCAP_SIMULATE_PORTABLE)
#define PLATFORM_NAME "a portable build simulated on Linux"
#define PLATFORM_SIMULATED 1
#elif defined(_WIN32)
#define PLATFORM_NAME "Windows"
#define PLATFORM_SIMULATED 0
#elif defined(__APPLE__)
#define PLATFORM_NAME "macOS"
#define PLATFORM_SIMULATED 0
#elif defined(__linux__)
#define PLATFORM_NAME "Linux"
#define PLATFORM_SIMULATED 0
#elif defined(__FreeBSD__)
#define PLATFORM_NAME "FreeBSD"
#define PLATFORM_SIMULATED 0
#elif defined(__OpenBSD__)
#define PLATFORM_NAME "OpenBSD"
#define PLATFORM_SIMULATED 0
#elif defined(__NetBSD__)
#define PLATFORM_NAME "NetBSD"
#define PLATFORM_SIMULATED 0
#else
#define PLATFORM_NAME "this platform"
#define PLATFORM_SIMULATED 0
#endif

/* Packet fanout, ethtool ring sizing, pcap_set_protocol_linux(). */
#if defined(__linux__) && !defined(PCAP_SIMULATE_PORTABLE)
#define PLATFORM_LINUX_FEATURES 1
#else
#define PLATFORM_LINUX_FEATURES 0
#endif

/* How a live handle is waited on (wait.h):
 *   WAIT_BY_EVENT        Windows: pcap_getevent()'s event, WaitForSingleObject()
 *   WAIT_BY_DESCRIPTOR   UN*X: pcap_get_selectable_fd() with poll(), bounded
 *                        by pcap_get_required_select_timeout() where it says so
 * The simulated build waits by descriptor but never gets one, as a device
 * whose pcap_get_selectable_fd() is -1 does (FreeBSD 4.3/4.4, DAG). */
#if defined(_WIN32)
#define WAIT_BY_EVENT 1
#else
#define WAIT_BY_DESCRIPTOR 1
#endif

/* How libpcap reads from our savefile buffer (pcap_stream.h):
 *   STREAM_FOPENCOOKIE   glibc (and musl): fopencookie()
 *   STREAM_FUNOPEN       macOS and the BSDs: funopen()
 *   neither              Windows (wpcap.dll reads its own CRT's FILE, made
 *                        from an OS handle: no cookie can reach it), and the
 *                        simulated build: our own readers read every record,
 *                        libpcap gets a dead handle for the file's link type */
#if defined(PCAP_SIMULATE_PORTABLE) || defined(_WIN32)
#define STREAM_NO_COOKIE 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) \
    || defined(__DragonFly__) || defined(PCAP_CHECK_FUNOPEN)
/* (PCAP_CHECK_FUNOPEN: only for tools/simulate_platform.py, which compiles
 * this branch on Linux against libbsd's funopen(); never a build.) */
#define STREAM_FUNOPEN 1
#else
#define STREAM_FOPENCOOKIE 1
#endif

#endif
