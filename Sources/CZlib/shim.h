// The system zlib (part of every Linux base system; headers from zlib1g-dev), used for gzip bodies.
#include <zlib.h>

// zlib's *Init2 entry points are function-like macros, which Swift does not import: wrap them.
static inline int sluice_deflateInit2(z_streamp strm, int level, int windowBits, int memLevel, int strategy) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, memLevel, strategy);
}

static inline int sluice_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
