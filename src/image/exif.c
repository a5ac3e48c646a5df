/* image/exif.c — the one EXIF field unblur needs: orientation (tag 0x0112).

   The APP1 payload is "Exif\0\0" followed by a TIFF structure: a byte-order
   mark ("II" little-endian or "MM" big-endian), the number 42, the offset of
   IFD0, then IFD0's entries (12 bytes each: tag, type, count, value). Every
   offset is checked against the payload size; anything malformed means
   "no orientation" (1), never an error: a damaged EXIF block must not make a
   valid image unreadable. */
#include <string.h>

#include "image/internal.h"

static unsigned get16(const uint8_t *p, int little) {
    return little ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p, int little) {
    return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
                  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int ub__exif_orientation(const uint8_t *data, size_t size) {
    if (size < 6 + 8 || memcmp(data, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *tiff = data + 6;
    size_t n = size - 6;
    int little;
    if (tiff[0] == 'I' && tiff[1] == 'I') little = 1;
    else if (tiff[0] == 'M' && tiff[1] == 'M') little = 0;
    else return 1;
    if (get16(tiff + 2, little) != 42) return 1;
    uint32_t ifd = get32(tiff + 4, little);
    if (ifd > n || n - ifd < 2) return 1;
    unsigned entries = get16(tiff + ifd, little);
    for (unsigned i = 0; i < entries; i++) {
        size_t at = (size_t)ifd + 2 + (size_t)i * 12;
        if (at + 12 > n) return 1;
        const uint8_t *e = tiff + at;
        if (get16(e, little) != 0x0112) continue;
        unsigned type = get16(e + 2, little);
        uint32_t count = get32(e + 4, little);
        if (type != 3 || count < 1) return 1; /* must be SHORT */
        unsigned v = get16(e + 8, little);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}
