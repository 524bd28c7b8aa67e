// Calls into libcurl.so.4 through addresses from dlsym (see Sources/Sluice/Delivery/Curl/LibCurl.swift).
//
// libcurl's headers are not installed on the machines Sluice builds on, only the library FoundationNetworking
// already loads, so nothing here includes or links it. Only the variadic entry points need C: Swift cannot
// call a C variadic function, and calling one through a non-variadic prototype is not portable, so each is
// called here with its real prototype, `CURLcode f(handle, option, ...)`. The ABI of these functions has been
// stable since libcurl 7.x: option and info values are ints, CURLcode/CURLMcode are ints, curl_off_t is 64-bit.
#include <stdint.h>

typedef int (*sluice_curl_variadic_fn)(void *, int, ...);

static inline int sluice_curl_call_long(void *function, void *handle, int option, long value) {
    return ((sluice_curl_variadic_fn)function)(handle, option, value);
}

static inline int sluice_curl_call_pointer(void *function, void *handle, int option, const void *value) {
    return ((sluice_curl_variadic_fn)function)(handle, option, value);
}

static inline int sluice_curl_call_off_t(void *function, void *handle, int option, int64_t value) {
    return ((sluice_curl_variadic_fn)function)(handle, option, value);
}
