/* The reference for tests/test_libpcap_compare.py: libpcap's own reading of
 * savefiles through pcap_next_ex, printed one line a packet.
 *
 * Usage: ref_reader FILE...   For each file:
 *   F <path>
 *   P <sec> <frac> <caplen> <len> <hex bytes>    for each packet
 *   E end | E error <pcap_geterr> | O <errbuf of the open>
 * Classic files are opened in their own precision, so that the time stamp
 * fields come as they are stored; they print as the unsigned 32-bit numbers
 * the format defines (libpcap before 1.10.5 sign-extends them).  pcapng is
 * opened in nanoseconds, its seconds printed signed. */
#include <pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static char hex[2 * 262144 + 1];
    static const char digits[] = "0123456789abcdef";
    char errbuf[PCAP_ERRBUF_SIZE];
    int i;

    for (i = 1; i < argc; i++) {
        unsigned char magic[4] = {0};
        unsigned int precision = PCAP_TSTAMP_PRECISION_NANO;
        int classic = 0;
        FILE *f = fopen(argv[i], "rb");
        if (f != NULL) {
            if (fread(magic, 1, 4, f) == 4) {
                uint32_t m;
                memcpy(&m, magic, 4);
                if (m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b2cd34 || m == 0x34cdb2a1) {
                    classic = 1;
                    precision = PCAP_TSTAMP_PRECISION_MICRO;
                } else if (m == 0xa1b23c4d || m == 0x4d3cb2a1) {
                    classic = 1;
                }
            }
            fclose(f);
        }
        printf("F %s\n", argv[i]);
        errbuf[0] = 0;
        pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[i], precision, errbuf);
        if (p == NULL) {
            printf("O %s\n", errbuf);
            continue;
        }
        for (;;) {
            struct pcap_pkthdr *h;
            const u_char *d;
            int rc = pcap_next_ex(p, &h, &d);
            if (rc == 1) {
                uint32_t k;
                for (k = 0; k < h->caplen; k++) {
                    hex[2 * k] = digits[d[k] >> 4];
                    hex[2 * k + 1] = digits[d[k] & 15];
                }
                hex[2 * h->caplen] = 0;
                if (classic)
                    printf("P %u %u %u %u %s\n", (uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec,
                           h->caplen, h->len, hex);
                else
                    printf("P %lld %lld %u %u %s\n", (long long)h->ts.tv_sec, (long long)h->ts.tv_usec,
                           h->caplen, h->len, hex);
                continue;
            }
            if (rc == PCAP_ERROR_BREAK)
                printf("E end\n");
            else
                printf("E error %s\n", pcap_geterr(p));
            break;
        }
        pcap_close(p);
    }
    return 0;
}
